"""The assistant end to end: real models, real knowledge base, questions as users ask them."""

from __future__ import annotations

import re

import pytest

from assistant.answer import Principal
from assistant.conversation.tools import Toolbox, langchain_tools, run_tool
from assistant.engine import Assistant
from assistant.errors import BadInput, NotFound

BUSINESS = Principal(id="lena", role="business")
ANALYST = Principal(id="raj", role="analyst")
SECURITY = Principal(id="sam", role="security")


@pytest.fixture(scope="module")
def assistant(registry_all, demo_knowledge) -> Assistant:
    return Assistant(registry_all, demo_knowledge)


def names(answer) -> list[str]:
    return [c.name for c in answer.tool_calls]


def test_tier_question_gives_tier_meaning_and_action_without_probabilities(assistant):
    answer = assistant.answer("What is the risk tier for customer C-10293?", BUSINESS)
    call = answer.tool_calls[0]
    assert call.name == "predict" and call.arguments == {"model_id": "credit-default", "record_id": "C-10293"}
    tier = call.result["tier"]
    assert f"**{tier}**" in answer.text and call.result["action"] in answer.text
    assert "probability" not in call.result and not re.search(r"0\.\d\d", answer.text)
    analyst = assistant.answer("What is the risk tier for customer C-10293?", ANALYST)
    p = analyst.tool_calls[0].result["probability"]
    assert p == round(p, 2) and f"{p:.2f}" in analyst.text


def test_follow_ups_carry_the_record_and_cohort(assistant):
    sid = "follow-ups"
    first = assistant.answer("What's the tier for C-10293?", BUSINESS, session_id=sid)
    why = assistant.answer("Why?", BUSINESS, session_id=sid)
    assert names(why) == ["explain"] and why.tool_calls[0].arguments["record_id"] == "C-10293"
    assert why.context and "C-10293" in why.context and len(why.tool_calls[0].result["reasons"]) == 3
    what_if = assistant.answer("What if her balance were $500 lower?", BUSINESS, session_id=sid)
    args = what_if.tool_calls[0].arguments
    assert args["changes"] == {"balance": {"decrease": 500}} and args["record_id"] == "C-10293"
    result = what_if.tool_calls[0].result
    (change,) = result["changes"]
    assert change["feature"] == "balance" and change["new"] == change["old"] - 500
    assert "inputs" not in result["after"]  # business users see the change they asked about, not the whole row
    other = assistant.answer("what about C-10300?", BUSINESS, session_id=sid)
    assert other.tool_calls[0].arguments["record_id"] == "C-10300"
    cohort = assistant.answer("How many customers in the West region are high risk?", BUSINESS, session_id=sid)
    assert cohort.tool_calls[0].arguments["filters"] == [{"feature": "region", "op": "==", "value": "West"}]
    narrower = assistant.answer("and only for students?", BUSINESS, session_id=sid)
    filters = narrower.tool_calls[0].arguments["filters"]
    assert {"feature": "student", "op": "==", "value": "Yes"} in filters and len(filters) == 2
    assert narrower.tool_calls[0].result["count"] < cohort.tool_calls[0].result["count"]
    assert first.session_id == sid


def test_start_over_forgets_the_context(assistant):
    sid = "reset"
    assistant.answer("What's the tier for C-10293?", BUSINESS, session_id=sid)
    reset = assistant.answer("start over", BUSINESS, session_id=sid)
    assert not reset.tool_calls
    after = assistant.answer("why?", BUSINESS, session_id=sid)
    assert not after.tool_calls


def test_two_things_at_once_make_two_calls(assistant):
    answer = assistant.answer("what's the tier for C-10293 and why?", BUSINESS)
    assert names(answer) == ["predict", "explain"]


def test_ambiguity_gets_a_clarifying_question_with_options(assistant):
    answer = assistant.answer("How accurate is the model?", BUSINESS)
    assert not answer.tool_calls
    assert set(answer.clarification) >= {"credit-default", "customer-churn", "transaction-fraud"}


def test_small_talk_gets_a_description_of_what_it_can_do(assistant):
    answer = assistant.answer("hi there", BUSINESS)
    assert not answer.tool_calls and "risk tier" in answer.text and "credit-default" in answer.text


def test_document_answers_cite_their_sources(assistant):
    answer = assistant.answer("What are the limitations of the churn model?", BUSINESS)
    assert names(answer) == ["search_knowledge"]
    assert answer.citations and any(c.doc_type == "limitations" for c in answer.citations)
    for i, citation in enumerate(answer.citations, 1):
        assert f"[{i}]" in answer.text
    passages = answer.tool_calls[0].result["passages"]
    assert {c.doc_id for c in answer.citations} <= {p["doc_id"] for p in passages}


def test_restricted_incidents_only_reach_the_security_role(assistant):
    business = assistant.answer("list the incidents for the fraud model", BUSINESS)
    security = assistant.answer("list the incidents for the fraud model", SECURITY)
    seen_business = {i["id"] for i in business.tool_calls[0].result["incidents"]}
    seen_security = {i["id"] for i in security.tool_calls[0].result["incidents"]}
    assert seen_business < seen_security
    restricted = {d["doc_id"] for d in assistant.knowledge.documents(role="security", filters={"doc_type": ["incident"]})
                  if d.get("access") == "restricted"}
    assert not restricted & {c.doc_id for c in business.citations}


def test_posture_is_graded_with_reasons(assistant):
    answer = assistant.answer("Is the fraud model safe to rely on right now?", BUSINESS)
    assert names(answer) == ["security_posture"]
    grade = answer.tool_calls[0].result["grade"]
    assert grade in {"Good", "Watch", "At risk"} and grade in answer.text


def test_a_model_registered_from_a_plain_folder_is_understood(assistant):
    answer = assistant.answer("what's the tier for P-5003 and why?", BUSINESS)
    assert names(answer) == ["predict", "explain"]
    assert answer.tool_calls[0].arguments["model_id"] == "claims-hgb"
    cohort = assistant.answer("how many policies with more than 2 prior claims are in the Investigate tier?", BUSINESS)
    assert cohort.tool_calls[0].arguments["filters"] == [{"feature": "prior_claims", "op": ">", "value": 2}]


def test_bad_input_is_refused_clearly(assistant):
    with pytest.raises(BadInput, match="empty"):
        assistant.answer("   ", BUSINESS)
    with pytest.raises(BadInput, match="limit"):
        assistant.answer("why " * 5000, BUSINESS)
    with pytest.raises(NotFound, match="credit-default"):
        assistant.answer("why?", BUSINESS, model_id="credit-defualt")
    unknown = assistant.answer("what's the tier for C-99999 at the credit model?", BUSINESS)
    assert unknown.tool_calls[0].error and "C-99999" in unknown.text


def test_chat_response_has_the_contract_shape(assistant):
    body = assistant.answer("What is the risk tier for customer C-10293?", BUSINESS).chat_response()
    assert set(body) == {"session_id", "answer", "citations", "tool_calls", "refused", "refusal"}
    assert body["tool_calls"][0]["name"] == "predict" and body["refused"] is False


def test_langchain_tools_run_the_same_functions(assistant):
    toolbox = Toolbox(assistant.registry, assistant.knowledge, role="analyst")
    tools = {t.name: t for t in langchain_tools(toolbox)}
    contract = {"predict", "explain", "what_if", "counterfactual", "feature_importance", "performance", "data_summary",
                "model_errors", "define_feature", "describe_model", "risk_tiers", "search_knowledge", "list_incidents",
                "security_posture"}  # PRODUCT.md; probing_alerts is an extension
    assert contract <= set(tools) and "record_id" in tools["predict"].args
    via_langchain = tools["predict"].invoke({"model_id": "credit-default", "record_id": "C-10293"})
    direct = run_tool(toolbox, "predict", {"model_id": "credit-default", "record_id": "C-10293"})
    assert via_langchain["probability"] == direct.probability
