"""The assistant with an LLM endpoint configured, driven through `Assistant.answer` as every channel drives it.

The endpoint is a stand-in at the HTTP boundary (tests/llm_server.py) that plans and writes as each test
scripts it: faithfully, with fabricated numbers and tiers, with invalid tool calls, or too slowly. The rest
is real: demo models, the demo corpus in Chroma, the guard with its SQLite state, the audit log.
"""

from __future__ import annotations

import logging
import re
import time

import pytest

from assistant.answer import Principal
from assistant.config import load_settings
from assistant.engine import Assistant
from tests.llm_server import Response, StandIn, calls, text, user_text

SECRET = "sk-test-5f9c1e0d7a2b4c6e8f"


def draft_of(request: dict) -> str:
    """The deterministic writer's text, as the writing request carries it."""
    body = user_text(request)
    return body.split("Checked draft:\n", 1)[1].split("\n\nTool results:", 1)[0]


def faithful(request: dict) -> Response:
    return text("Here is what I found.\n\n" + draft_of(request))


def plan(*pairs):
    """A responder that plans `pairs` and writes faithfully."""
    return lambda request: calls(*pairs) if request.get("tools") else faithful(request)


@pytest.fixture(scope="module")
def standin():
    server = StandIn()
    yield server
    server.close()


@pytest.fixture(scope="module")
def settings(standin, demo_models, tmp_path_factory):
    return load_settings(data_dir=tmp_path_factory.mktemp("llm"), models_path=str(demo_models),
                         llm_base_url=standin.base_url, llm_model="stand-in", llm_api_key=SECRET, llm_timeout=2,
                         llm_planning="always")


@pytest.fixture(scope="module")
def assistant(settings, demo_knowledge):
    return Assistant.from_settings(settings, knowledge=demo_knowledge)


@pytest.fixture(autouse=True)
def closed_circuit(assistant):
    assistant.llm.breaker.success()  # each test starts with an endpoint in good standing
    yield


def fallbacks(assistant, stage: str, reason: str) -> int:
    return assistant.llm.stats.snapshot()["fallbacks"].get((stage, reason), 0)


def test_the_llm_plans_and_phrases_a_grounded_answer(assistant, standin):
    standin.respond(plan(("explain", {"model_id": "credit-default", "record_id": "C-10293", "top_k": 3})))
    answer = assistant.answer("Could you walk me through what is driving the card risk for client C-10293?",
                              Principal(id="plan-1", role="business"))
    assert [(c.name, c.arguments["record_id"]) for c in answer.tool_calls] == [("explain", "C-10293")]
    assert answer.text.startswith("Here is what I found.")  # the LLM's text passed the check
    reasons = answer.tool_calls[0].result["reasons"]
    assert all(r["text"] in answer.text for r in reasons)
    # The planner was offered the contract's tools, and the key was sent to the endpoint.
    offered = {t["function"]["name"] for t in standin.planning()[-1]["tools"]}
    assert {"predict", "explain", "what_if", "search_knowledge", "security_posture"} <= offered
    assert standin.requests[-1]["headers"]["authorization"] == f"Bearer {SECRET}"


def test_llm_planned_calls_meet_the_guard_and_the_audit(assistant, standin):
    # The question asks for internals: screened and refused whatever the LLM planned.
    standin.respond(plan(("describe_model", {"model_id": "credit-default"})))
    refused = assistant.answer("Print the coefficients and the intercept of credit-default",
                               Principal(id="plan-2", role="business"))
    assert refused.refused and refused.refusal.category == "model_internals" and not refused.tool_calls
    # Evasion coaching on the adversarial fraud model, planned by the LLM, is held back by the guard's review.
    standin.respond(plan(("what_if", {"model_id": "transaction-fraud", "record_id": "T-100000",
                                      "changes": {"amount": {"decrease": 400}}})))
    coached = assistant.answer("and if T-100000 were a bit smaller?", Principal(id="plan-3", role="business"))
    assert not any(c.name == "what_if" and c.result for c in coached.tool_calls)
    assert coached.refused or coached.refusal is not None or "what_if" not in [c.name for c in coached.tool_calls]
    # Every LLM-planned call is in the audit trail, with its arguments.
    standin.respond(plan(("predict", {"model_id": "credit-default", "record_id": "C-10300"})))
    assistant.answer("How is client C-10300 looking?", Principal(id="plan-4", role="business"))
    last = assistant.audit.tail(1)[-1]
    assert last.principal == "plan-4" and [(t.name, t.arguments) for t in last.tool_calls] == \
        [("predict", {"model_id": "credit-default", "record_id": "C-10300"})]
    assert assistant.audit.verify().ok


def fabricating(replace):
    def respond(request):
        if request.get("tools"):
            return calls(("predict", {"model_id": "credit-default", "record_id": "C-10293"}))
        return text(replace(draft_of(request)))
    return respond


@pytest.mark.parametrize("role", ["business", "analyst"])
def test_fabricated_numbers_tiers_and_probabilities_never_reach_the_user(assistant, standin, role):
    who = Principal(id=f"fab-{role}", role=role)
    question = "What is the risk tier for customer C-10293?"
    before = fallbacks(assistant, "write", "ungrounded")
    standin.respond(fabricating(lambda d: d))
    honest = assistant.answer(question, who)
    tier = honest.tool_calls[0].result["tier"]
    other = "High" if tier != "High" else "Low"
    lies = [lambda d: d.replace(f"**{tier}**", f"**{other}**"),                # a wrong tier
            lambda d: d + " Her balance is $12,345 above the limit.",          # an invented number
            lambda d: d + " Her default probability is 0.87.",                 # a probability (made up)
            lambda d: d + " Customer C-10777 is similar.",                     # an unknown record
            lambda d: d.replace("Recommended action", "Because of her income, recommended action")]  # a reason
    for lie in lies:
        standin.respond(fabricating(lie))
        answer = assistant.answer(question, who)
        assert answer.text == honest.text.replace("Here is what I found.\n\n", "") or answer.text == honest.text
        assert "12,345" not in answer.text and "0.87" not in answer.text and "C-10777" not in answer.text
        assert f"**{tier}**" in answer.text and "income" not in answer.text
    assert fallbacks(assistant, "write", "ungrounded") - before == len(lies)
    if role == "business":  # and a business user never sees a probability, even one the results hold
        assert "probability" not in answer.text.lower() and not re.search(r"\b0\.\d\d\b", answer.text)


@pytest.mark.parametrize("planned, reason", [
    (calls(("predict", {"model_id": "credit-risk", "record_id": "C-10293"})), "invalid_plan"),
    (calls(("predict", {"model_id": "credit-default", "record_id": "C-99999"})), "invalid_plan"),
    (calls(("predict", '{"model_id": "credit-default", "record_id": ')), "invalid_plan"),
    (calls(("dump_training_rows", {"model_id": "credit-default"})), "invalid_plan"),
    (calls(("predict", {"model_id": "credit-default", "filters": [{"feature": "zodiac", "value": "Leo"}]})),
     "invalid_plan"),
    (calls(("predict", {"model_id": "credit-default", "record_id": "C-10300"})), "invalid_plan"),  # a guessed id
    (text("I think the customer is fine."), "no_tool_call"),
])
def test_an_invalid_plan_falls_back_to_the_deterministic_planner(assistant, standin, planned, reason):
    standin.respond(lambda request: planned if request.get("tools") else faithful(request))
    before = fallbacks(assistant, "plan", reason)
    answer = assistant.answer("What is the risk tier for customer C-10293?", Principal(id="inv", role="business"))
    assert [(c.name, c.arguments) for c in answer.tool_calls] == \
        [("predict", {"model_id": "credit-default", "record_id": "C-10293"})]
    assert answer.tool_calls[0].error is None and "**" in answer.text
    assert fallbacks(assistant, "plan", reason) == before + 1


def test_a_slow_endpoint_costs_at_most_the_timeout_then_the_circuit_opens(assistant, standin):
    standin.respond(lambda request: Response(calls(("predict", {"model_id": "credit-default",
                                                                 "record_id": "C-10293"})).body, delay=4))
    question, who = "What is the risk tier for customer C-10293?", Principal(id="slow", role="business")
    for _ in range(3):
        started = time.monotonic()
        answer = assistant.answer(question, who)
        assert time.monotonic() - started < 2 + 1.5  # MODELDESK_LLM_TIMEOUT=2, whatever the endpoint does
        assert answer.tool_calls[0].name == "predict" and "**" in answer.text
    assert assistant.llm.breaker.state == "open"
    sent = len(standin.requests)
    started = time.monotonic()
    answer = assistant.answer(question, who)
    assert len(standin.requests) == sent and time.monotonic() - started < 1.5  # no call while the circuit is open
    assert "**" in answer.text and fallbacks(assistant, "plan", "circuit_open") >= 1


def test_an_endpoint_that_is_down_or_failing_still_gets_answers(settings, demo_knowledge, free_tcp_port, standin):
    down = Assistant.from_settings(settings.model_copy(update={"llm_base_url": f"http://127.0.0.1:{free_tcp_port}/v1"}),
                                   knowledge=demo_knowledge)
    answer = down.answer("What is the risk tier for customer C-10293?", Principal(id="down", role="business"))
    assert answer.tool_calls[0].name == "predict" and "**" in answer.text
    assert down.llm.stats.snapshot()["fallbacks"].get(("plan", "error")) == 1
    failing = Assistant.from_settings(settings, knowledge=demo_knowledge)
    standin.respond(lambda request: Response(status=500))
    answer = failing.answer("What is the risk tier for customer C-10293?", Principal(id="down", role="business"))
    assert answer.tool_calls[0].name == "predict" and "**" in answer.text
    # Retried with back-off (three attempts), then the circuit opened and writing did not try at all.
    assert failing.llm.stats.snapshot()["calls"][("plan", "error")] == 3
    assert failing.llm.stats.snapshot()["fallbacks"].get(("write", "circuit_open")) == 1


def test_no_secret_in_logs_or_the_audit(assistant, standin, settings, caplog):
    caplog.set_level(logging.DEBUG)
    for status in (401, 500):
        standin.respond(lambda request, status=status: Response(status=status))
        assistant.llm.breaker.success()
        assistant.answer("What is the risk tier for customer C-10293?", Principal(id="sec", role="business"))
    standin.respond(plan(("predict", {"model_id": "credit-default", "record_id": "C-10293"})))
    assistant.answer(f"my key is {SECRET}, what is the tier of C-10293?", Principal(id="sec", role="business"))
    assert SECRET not in caplog.text
    entries = [r.model_dump_json() for r in assistant.audit.tail(50) if r.principal == "sec"]
    assert len(entries) == 3 and "[redacted]" in entries[-1] and not any(SECRET in e for e in entries)
    assert SECRET not in repr(settings) and SECRET not in str(settings.model_dump())
