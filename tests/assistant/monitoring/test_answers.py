"""Posture in answers: every scored input recorded by the engine; plain words for business users,
the measurements (and who probed) for the security role; every number traced to a tool result."""

from __future__ import annotations

import time

import pytest

from assistant.answer import Principal
from assistant.engine import Assistant
from tests.assistant.conversation.test_grounding import untraced
from tests.assistant.monitoring.conftest import record, sample_inputs, shift

BUSINESS = Principal(id="lena", role="business")
SECURITY = Principal(id="sam", role="security")


@pytest.fixture()
def assistant(demo_registry, make_monitor, tmp_path) -> Assistant:
    from assistant.config import load_settings
    from assistant.guard.guard import Guard

    monitor = make_monitor(demo_registry)
    model = demo_registry.get("customer-churn")
    record(monitor, model, shift(model, sample_inputs(model, 400, seed=5), ["monthly_charges"], None))
    guard = Guard.from_settings(load_settings(data_dir=tmp_path / "guard"), demo_registry)
    # Alerts as the guardrails raise them: one an hour ago, one from last month (outside the window).
    for ts, who in ((time.time() - 3600, "mallory"), (time.time() - 30 * 86400, "oldtimer")):
        guard.store.add_alert({"ts": ts, "principal": who, "model_id": "customer-churn", "kind": "sweep",
                               "level": "high", "detail": "what-ifs varying one feature in even steps"})
    return Assistant(demo_registry, None, monitor=monitor, guard=guard)


def test_the_engine_records_each_scored_input(assistant):
    model = assistant.registry.get("credit-default")
    before = assistant.monitor.window(model).rows
    assistant.answer("What is the risk tier for customer C-10293?", BUSINESS)
    assistant.answer("What is the risk tier for customer C-10293?", BUSINESS)  # the same customer counts once
    window = assistant.monitor.window(model)
    assert window.rows == before + 1
    assert float(window.frame["balance"].iloc[-1]) == float(model.record("C-10293")["balance"])


def test_business_users_get_plain_words(assistant):
    answer = assistant.answer("Is the churn model safe to rely on right now?", BUSINESS)
    posture = answer.tool_calls[0].result
    assert answer.tool_calls[0].name == "security_posture"
    assert posture["grade"] in {"Watch", "At risk"} and posture["drift"]["drifting"] == ["monthly_charges"]
    assert "input drift on `monthly_charges` since last week" in answer.text
    assert "probing alerts in the last week" in answer.text
    assert posture["alerts"]["count"] == 1
    assert "mallory" not in answer.text and "mallory" not in str(posture)
    assert "PSI 1" not in answer.text and "Details:" not in answer.text
    assert untraced(answer) == []


def test_the_security_role_gets_the_measurements_and_who_probed(assistant):
    answer = assistant.answer("Is the churn model safe to rely on right now?", SECURITY)
    assert "Details:" in answer.text and "Drift, monthly_charges: drift, PSI" in answer.text
    assert "mallory" in answer.text and "oldtimer" not in answer.text
    assert "Provenance: recorded" in answer.text or "Provenance: unchanged" in answer.text
    assert "Data audit of 1,500 reference rows" in answer.text
    assert untraced(answer) == []
