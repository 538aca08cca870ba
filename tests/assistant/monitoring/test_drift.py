"""Drift and unusual inputs move the posture: real demo models, real records, shifted as production would."""

from __future__ import annotations

import pytest

from assistant.monitoring.drift import compare
from assistant.monitoring.window import Window
from assistant.posture import assess
from tests.assistant.monitoring.conftest import record, sample_inputs, shift, shifted_features

MODELS = ["credit-default", "customer-churn", "transaction-fraud"]


@pytest.mark.parametrize("model_id", MODELS)
def test_shifted_inputs_move_the_grade_and_name_the_features(model_id, demo_registry, make_monitor):
    model = demo_registry.get(model_id)
    monitor = make_monitor(demo_registry)
    numeric, categorical = shifted_features(model)
    record(monitor, model, shift(model, sample_inputs(model, 500, seed=1), numeric, categorical))

    posture = assess(model, [], monitor=monitor)

    assert posture.grade in {"Watch", "At risk"}
    assert set(numeric) | {categorical} <= set(posture.drift.drifting)
    assert "input drift on" in posture.headline and f"`{numeric[0]}`" in posture.headline
    assert "since last week" in posture.headline
    assert any(model.spec.feature(numeric[0]).label in r for r in posture.reasons)
    assert posture.retraining.due and posture.retraining.since  # one std is far past the At-risk PSI


@pytest.mark.parametrize("model_id", MODELS)
def test_an_unshifted_window_of_the_same_size_stays_good(model_id, demo_registry, make_monitor):
    model = demo_registry.get(model_id)
    monitor = make_monitor(demo_registry)
    record(monitor, model, sample_inputs(model, 500, seed=2))

    posture = assess(model, [], monitor=monitor)

    assert posture.grade == "Good", posture.reasons
    assert posture.drift.judged and posture.drift.drifting == []
    assert posture.anomalies.level == "stable"
    assert not posture.retraining.due
    assert posture.headline.startswith("usable: no open incidents, and recent inputs look like")


def test_too_few_inputs_are_not_judged(demo_registry, make_monitor):
    model = demo_registry.get("customer-churn")
    monitor = make_monitor(demo_registry)
    numeric, categorical = shifted_features(model)
    record(monitor, model, shift(model, sample_inputs(model, 50, seed=3), numeric, categorical))

    posture = assess(model, [], monitor=monitor)

    assert posture.grade == "Good" and not posture.drift.judged
    assert any(r.startswith("not enough recent inputs to judge drift (50 of the 200 needed)") for r in posture.reasons)


def test_a_stored_record_asked_about_again_counts_once(demo_registry, make_monitor):
    model = demo_registry.get("credit-default")
    monitor = make_monitor(demo_registry)
    row = model.record("C-10293")[model.spec.feature_names].to_dict()
    for _ in range(5):
        monitor.record(model.id, [row], source="record", record_ids=["C-10293"])
    monitor.record(model.id, [row, row], source="what_if")  # hypothetical values each count
    assert monitor.window(model).rows == 3


def test_drift_is_measured_per_feature_with_both_tests(demo_registry):
    model = demo_registry.get("customer-churn")
    frame = shift(model, sample_inputs(model, 1000, seed=4), ["monthly_charges"], "contract")
    report = compare(model, Window(model.id, frame))
    by_name = {f.feature: f for f in report.features}
    assert by_name["monthly_charges"].test == "ks" and by_name["contract"].test == "chi2"
    assert by_name["monthly_charges"].psi > 0.25 and by_name["monthly_charges"].p_value < 1e-6
    assert 0.9 < by_name["monthly_charges"].shift_std < 1.1
    assert by_name["tenure_months"].level == "stable"
    assert set(report.drifting) == {"monthly_charges", "contract"}
