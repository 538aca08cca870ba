"""An LLM's tool calls are checked like any plan: unknown models, records, features and values are errors."""

from __future__ import annotations

import pytest

from assistant.llm.validation import MAX_CALLS, check_calls


def call(name, **args):
    return {"name": name, "args": args}


def test_a_well_formed_plan_passes_with_declared_names(registry_all):
    steps, problems = check_calls([
        call("predict", model_id="credit-default", record_id="c-10293"),
        call("what_if", model_id="credit-default", record_id="C-10293", changes={"card balance": {"decrease": 500}}),
        call("predict", model_id="credit-default", filters=[{"feature": "region", "op": "==", "value": "West"}]),
        call("search_knowledge", query="limitations of the churn model", model_id=None, doc_type="limitations"),
    ], registry_all)
    assert problems == []
    # The stored spelling of the id and the feature's declared name are what run, and JSON nulls are dropped.
    assert steps[0].arguments == {"model_id": "credit-default", "record_id": "C-10293"}
    assert steps[1].arguments["changes"] == {"balance": {"decrease": 500}}
    assert steps[3].arguments == {"query": "limitations of the churn model", "doc_type": "limitations"}


@pytest.mark.parametrize("bad, why", [
    (call("predict", model_id="credit-risk", record_id="C-10293"), "credit-risk"),
    (call("predict", model_id="credit-default", record_id="C-99999999"), "C-99999999"),
    (call("explain", model_id="credit-default", record_id="C-10293", top_k=50), "top_k"),
    (call("define_feature", model_id="credit-default", feature="shoe_size"), "shoe_size"),
    (call("predict", model_id="credit-default", filters=[{"feature": "region", "op": "==", "value": "Atlantis"}]),
     "Atlantis"),
    (call("what_if", model_id="credit-default", record_id="C-10293", changes={"student": {"increase": 2}}), "student"),
    (call("predict", model_id="credit-default", inputs={"balance": "lots"}), "balance"),
    (call("list_incidents", severity="apocalyptic"), "severity"),
    (call("export_all_records", model_id="credit-default"), "no such tool"),
    (call("predict", model_id="credit-default", record_id="C-10293", show_weights=True), "show_weights"),
    ({"name": "predict", "args": "model_id=credit-default"}, "JSON object"),
])
def test_an_unknown_name_or_value_makes_the_plan_unusable(registry_all, bad, why):
    steps, problems = check_calls([call("predict", model_id="credit-default", record_id="C-10293"), bad], registry_all)
    assert problems and why in " ".join(problems)


def test_a_runaway_plan_is_rejected_whole(registry_all):
    many = [call("predict", model_id="credit-default", record_id=f"C-{10000 + i}") for i in range(MAX_CALLS + 1)]
    steps, problems = check_calls(many, registry_all)
    assert steps == [] and "at most" in problems[0]
