"""Explanations add up, read as business words, and agree with the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.models import explain as ex
from assistant.models.registry import Registry


@pytest.fixture(scope="module")
def registry(user_models: Path) -> Registry:
    return Registry([user_models])


@pytest.mark.parametrize("model_id, method", [("claims-hgb", "tree_shap"), ("claims-svc", "permutation")])
def test_attributions_add_up_to_the_output_difference(registry, model_id, method):
    model = registry.get(model_id)
    attributor = ex.attributor(model)
    assert attributor.method == method
    frame = model.features_frame(model.records.iloc[:25])
    phi = attributor.attribute(frame)
    assert np.abs(attributor.base_value + phi.sum(axis=1) - attributor.output(frame)).max() < 1e-6


def test_reasons_are_ranked_business_sentences(registry):
    explanation = ex.explain(registry.get("claims-hgb"), "P-5003", top_k=3)
    assert len(explanation.reasons) == 3
    sizes = [abs(r.contribution) for r in explanation.reasons]
    assert sizes == sorted(sizes, reverse=True)
    for reason in explanation.reasons:
        assert reason.text.endswith(("raised the suspicious claim risk", "lowered the suspicious claim risk"))
        assert (reason.contribution > 0) == (reason.direction == "raised")
    amount = next(c for c in explanation.contributions if c.feature == "claim_amount")
    assert amount.text.startswith("A claim amount of $2,618")
    assert sum(c.share for c in explanation.contributions) == pytest.approx(1.0)


def test_changing_the_top_reason_moves_the_prediction_its_way(registry):
    model = registry.get("claims-hgb")
    explanation = ex.explain(model, "P-5003")
    top = next(c for c in explanation.contributions if model.spec.feature(c.feature).type == "numeric")
    from assistant.models.whatif import what_if

    median = float(model.reference[top.feature].median())
    moved = what_if(model, "P-5003", {top.feature: median})
    if top.direction == "raised":
        assert moved.after.probability < moved.before.probability
    else:
        assert moved.after.probability > moved.before.probability


def test_feature_importance_ranks_every_feature_once(registry):
    model = registry.get("claims-hgb")
    full = ex.feature_importance(model, top_k=10)
    assert sorted(i.feature for i in full.features) == sorted(model.spec.feature_names)
    assert [i.rank for i in full.features] == list(range(1, 6))
    one = ex.feature_importance(model, feature="garaged")
    assert one.rank == next(i.rank for i in full.features if i.feature == "garaged")


def test_cohort_explanation_describes_the_cohort(registry):
    model = registry.get("claims-hgb")
    result = ex.explain_cohort(model, [{"feature": "vehicle_type", "op": "==", "value": "motorbike"}])
    assert result.count == int((model.records.vehicle_type == "motorbike").sum())
    vehicle = [r for r in result.reasons if r.feature == "vehicle_type"]
    assert vehicle and "100% motorbike here" in vehicle[0].text and vehicle[0].direction == "raised"


@pytest.mark.parametrize("model_id, method", [("credit-default", "linear_shap"), ("customer-churn", "tree_shap"),
                                              ("transaction-fraud", "tree_shap")])
def test_demo_models_are_explained_exactly(demo_models: Path, model_id, method):
    """Linear and tree models: attributions add up to the output's difference from the baseline within 1e-6,
    and a stored record's cached explanation equals a fresh one."""
    model = Registry([demo_models]).get(model_id)
    attributor = ex.attributor(model)
    assert attributor.method == method
    frame = model.features_frame(model.records.iloc[:40])
    phi = attributor.attribute(frame)
    assert np.abs(attributor.base_value + phi.sum(axis=1) - attributor.output(frame)).max() < 1e-6
    for i in (0, 7, 39):
        assert np.allclose(attributor.attribute_record(model.records.index[i]), phi[i], atol=1e-9)
    one_hot = model_id == "credit-default"
    if one_hot:  # the one-hot columns of a categorical are summed back into one business feature
        assert sorted(c.feature for c in ex.explain(model, model.records.index[0]).contributions) == \
            sorted(model.spec.feature_names)
