"""The HTTP service with an LLM endpoint configured (a stand-in at the HTTP boundary): what reaches a client,
streamed or not, has passed the grounding check, and /metrics shows the LLM's calls, tokens and fallbacks."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from assistant.config import load_settings
from assistant.engine import Assistant
from tests.llm_server import StandIn, calls, text, user_text

QUESTION = "What is the risk tier for customer C-10293?"


@pytest.fixture(scope="module")
def standin():
    server = StandIn()
    yield server
    server.close()


@pytest.fixture(scope="module")
def client(standin, demo_models, demo_knowledge, make_app, tmp_path_factory):
    settings = load_settings(data_dir=tmp_path_factory.mktemp("http-llm"), models_path=str(demo_models),
                             llm_base_url=standin.base_url, llm_model="stand-in", llm_timeout=3,
                             llm_planning="always")
    with TestClient(make_app(with_assistant=Assistant.from_settings(settings, knowledge=demo_knowledge)),
                    raise_server_exceptions=False) as c:
        yield c


def writes(rewrite):
    def respond(request):
        if request.get("tools"):
            return calls(("predict", {"model_id": "credit-default", "record_id": "C-10293"}))
        draft = user_text(request).split("Checked draft:\n", 1)[1].split("\n\nTool results:", 1)[0]
        return text(rewrite(draft))
    return respond


def streamed(client, auth) -> str:
    with client.stream("POST", "/v1/chat/completions", headers=auth("business"),
                       json={"model": "modeldesk", "stream": True,
                             "messages": [{"role": "user", "content": QUESTION}]}) as response:
        assert response.status_code == 200
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    return "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[:-1]
                   if json.loads(e).get("choices"))


def test_a_stream_carries_only_text_that_passed_the_check(client, standin, auth):
    standin.respond(writes(lambda d: "In short: " + d))
    assert streamed(client, auth).startswith("In short: Customer C-10293")  # the LLM's text, checked, streamed
    standin.respond(writes(lambda d: "In short: " + d + " Her default probability is 0.91, the top 2%."))
    plain = client.post("/v1/chat", headers=auth("business"), json={"message": QUESTION}).json()
    stream = streamed(client, auth)
    for answer in (plain["answer"], stream):  # the fabrication never left the server, in any chunk
        assert "0.91" not in answer and "probability" not in answer and not answer.startswith("In short")
    assert stream == plain["answer"]


def test_metrics_show_llm_calls_tokens_latency_and_fallbacks(client, standin, auth):
    standin.respond(writes(lambda d: d + " Balance: $99,999."))
    assert client.post("/v1/chat", headers=auth("business"), json={"message": QUESTION}).status_code == 200
    body = client.get("/metrics").text

    def value(name: str, **labels: str) -> float:
        for line in body.splitlines():
            match = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
            if match and dict(re.findall(r'(\w+)="([^"]*)"', match.group(1))) == labels:
                return float(match.group(2))
        raise AssertionError(f"{name}{labels} missing from /metrics")

    assert value("modeldesk_llm_calls_total", purpose="plan", outcome="ok") >= 1
    assert value("modeldesk_llm_tokens_total", purpose="write", kind="completion") >= 30
    assert value("modeldesk_llm_call_duration_seconds_count", purpose="write") >= 1
    assert value("modeldesk_llm_fallbacks_total", stage="write", reason="ungrounded") >= 1
    assert "modeldesk_llm_circuit_open 0.0" in body


def test_an_endpoint_that_times_out_is_never_a_server_error(client, standin, auth):
    from tests.llm_server import Response

    standin.respond(lambda request: Response(text("late").body, delay=5))
    response = client.post("/v1/chat", headers=auth("business"), json={"message": QUESTION})
    assert response.status_code == 200 and "C-10293" in response.json()["answer"]
