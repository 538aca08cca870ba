"""What-ifs, counterfactuals, cohorts, metrics and summaries on a user-registered model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from assistant.errors import BadInput, NotFound
from assistant.models import describe, evaluation, predict, whatif
from assistant.models.registry import Registry


@pytest.fixture(scope="module")
def model(user_models: Path):
    return Registry([user_models]).get("claims-hgb")


def test_what_if_applies_set_increase_and_decrease(model):
    record = model.record("P-5003")
    result = whatif.what_if(model, "P-5003", {"claim_amount": {"decrease": 1000}, "prior_claims": 0})
    assert {c.feature: c.new for c in result.changes} == {"claim_amount": record.claim_amount - 1000, "prior_claims": 0}
    direct = predict.predict_values(model, {**record[model.spec.feature_names].to_dict(),
                                            "claim_amount": record.claim_amount - 1000, "prior_claims": 0})
    assert result.after.probability == pytest.approx(direct.probability)
    assert result.before.probability == pytest.approx(predict.predict_record(model, "P-5003").probability)
    with pytest.raises(BadInput, match="vehicle_type is categorical"):
        whatif.what_if(model, "P-5003", {"vehicle_type": {"increase": 1}})
    with pytest.raises(NotFound, match="claim_amount"):
        whatif.what_if(model, "P-5003", {"claim_amont": 10})


def test_counterfactual_reaches_a_lower_tier_with_actionable_features_only(model):
    high = model.record_probabilities[model.record_probabilities > 0.6].index[:5]
    for record_id in high:
        result = whatif.counterfactual(model, record_id)
        assert result.found, result.note
        assert result.after.tier_rank < result.before.tier_rank
        assert all(model.spec.feature(c.feature).actionable for c in result.changes)
        assert 1 <= len(result.changes) <= 2


def test_cohort_counts_match_the_filtered_records(model):
    summary = predict.predict_cohort(model, [{"feature": "claim_amount", "op": ">=", "value": "2,000"},
                                             {"feature": "vehicle_type", "op": "==", "value": "SUV"}])
    rows = model.records[(model.records.claim_amount >= 2000) & (model.records.vehicle_type == "suv")]
    assert summary.count == len(rows)
    assert sum(t.count for t in summary.tiers) == len(rows)
    assert sum(t.share for t in summary.tiers) == pytest.approx(1.0)
    high = sum(model.record_probabilities.loc[rows.index] > 0.5)
    assert summary.tiers[-1].count == high
    with pytest.raises(NotFound, match="vehicle_type"):
        predict.predict_cohort(model, [{"feature": "vehicle", "op": "==", "value": "suv"}])


def test_performance_matches_sklearn_on_the_reference(model):
    result = evaluation.performance(model)
    scores = model.probabilities(model.reference)
    assert result.metrics["roc_auc"] == pytest.approx(roc_auc_score(model.reference.suspicious, scores))
    assert result.rows == len(model.reference)
    observed = [t.observed_rate for t in result.tiers]
    assert observed == sorted(observed), "a higher tier should see more positives"


def test_model_errors_finds_segments_worse_than_average(model):
    result = evaluation.model_errors(model, top_k=3)
    assert result.segments[0].error_rate >= result.overall_error_rate
    rates = [s.error_rate for s in result.segments]
    assert rates == sorted(rates, reverse=True)


def test_describe_define_tiers_and_summary(model):
    info = describe.describe_model(model)
    assert info.estimator.startswith("HistGradientBoostingClassifier") and info.records == 800
    tiers = describe.risk_tiers(model)
    assert [t.tier for t in tiers.tiers] == ["Routine", "Check", "Investigate"]
    assert sum(t.share_of_records for t in tiers.tiers) == pytest.approx(1.0)
    feature = describe.define_feature(model, "claim_amount")
    assert feature.unit == "USD" and feature.importance_rank >= 1 and "$" in feature.typical
    summary = describe.data_summary(model, [{"feature": "garaged", "op": "==", "value": "yes"}])
    assert summary.count == int((model.records.garaged == 1).sum())
    amount = next(c for c in summary.columns if c.feature == "claim_amount")
    assert amount.mean == pytest.approx(model.records[model.records.garaged == 1].claim_amount.mean())
    assert np.isclose(sum(next(c for c in summary.columns if c.feature == "vehicle_type").distribution.values()), 1)
