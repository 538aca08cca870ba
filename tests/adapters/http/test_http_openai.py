"""The official `openai` client, pointed at a real uvicorn server, gets answers plain and streamed."""

from __future__ import annotations

import httpx
import pytest
from openai import OpenAI


@pytest.fixture(scope="module")
def openai_client(server_url, api_key) -> OpenAI:
    return OpenAI(base_url=f"{server_url}/v1", api_key=api_key("business"), max_retries=0, timeout=30)


QUESTION = "What is the risk tier for customer C-10293?"


def test_plain_completion(openai_client):
    completion = openai_client.chat.completions.create(
        model="credit-default", messages=[{"role": "system", "content": "Be brief."},
                                          {"role": "user", "content": QUESTION}])
    text = completion.choices[0].message.content
    assert "C-10293" in text and "risk tier" in text
    assert completion.choices[0].finish_reason == "stop" and completion.id.startswith("chatcmpl-")
    assert completion.usage.total_tokens > 0
    extension = completion.model_extra["modeldesk"]
    assert extension["tool_calls"][0]["name"] == "predict" and extension["refused"] is False


def test_streamed_completion_matches_the_plain_text(openai_client):
    plain = openai_client.chat.completions.create(model="modeldesk", messages=[{"role": "user", "content": QUESTION}])
    stream = openai_client.chat.completions.create(model="modeldesk", stream=True,
                                                   messages=[{"role": "user", "content": QUESTION}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    assert len(chunks) > 3 and chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["modeldesk"]["tool_calls"][0]["name"] == "predict"


def test_a_conversation_continues_through_the_user_field(openai_client):
    first = openai_client.chat.completions.create(model="modeldesk", user="portal-user-7",
                                                  messages=[{"role": "user", "content": QUESTION}])
    follow = openai_client.chat.completions.create(
        model="modeldesk", user="portal-user-7",
        messages=[{"role": "user", "content": QUESTION},
                  {"role": "assistant", "content": first.choices[0].message.content},
                  {"role": "user", "content": "Why?"}])
    assert "mainly because" in follow.choices[0].message.content


def test_the_stream_ends_with_done_on_the_wire(server_url, auth):
    with httpx.stream("POST", f"{server_url}/v1/chat/completions", timeout=30,
                      headers=auth("business"),
                      json={"model": "modeldesk", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}) \
            as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert events[-1] == "data: [DONE]" and all(e.startswith("data: ") for e in events)


def test_openai_client_errors_carry_the_status(openai_client, server_url):
    import openai

    bad = OpenAI(base_url=f"{server_url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="modeldesk", messages=[{"role": "user", "content": QUESTION}])
    models = openai_client.models.list()
    assert "credit-default" in {m.id for m in models.data}
