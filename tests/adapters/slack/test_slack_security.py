"""Signatures, restricted answers to the asker only, and the same facts as HTTP."""

from __future__ import annotations

import re
import time


def test_a_wrong_or_stale_signature_is_401_and_nothing_is_done(slack, slack_api):
    before = len(slack_api.calls)
    wrong, event = slack.mention("UBEA", "What is the risk tier for C-10293?", event_id="Ev0FORGED01",
                                 secret="not-the-signing-secret")
    stale, _ = slack.mention("UBEA", "What is the risk tier for C-10293?", ts=event["ts"], event_id="Ev0FORGED01",
                             timestamp=int(time.time()) - 10 * 60)
    unsigned = slack.client.post("/slack/events", json={"type": "event_callback", "event": event})
    forged_click = slack.post("payload=%7B%7D", "application/x-www-form-urlencoded", secret="guess")
    assert [r.status_code for r in (wrong, stale, unsigned, forged_click)] == [401, 401, 401, 401]
    time.sleep(1.0)
    assert slack_api.calls[before:] == []  # not even auth.test: rejected before any processing
    # the rejected requests claimed nothing: the genuine delivery of that event is answered
    slack.mention("UBEA", "What is the risk tier for C-10293?", ts=event["ts"], event_id="Ev0FORGED01")
    slack_api.wait("chat.postMessage", thread_ts=event["ts"])


def test_an_answer_drawing_on_restricted_documents_goes_to_the_asker_only(slack, slack_api):
    _, event = slack.mention("USAM", "What incidents are there on the fraud model?")  # a security user
    [private] = slack_api.wait("chat.postEphemeral", thread_ts=event["ts"])
    assert private["user"] == "USAM" and private["channel"] == "C0GENERAL"
    shown = slack_api.texts(private)
    assert "INC-" in shown and "incident" in shown
    context = [b for b in slack_api.blocks(private) if b["type"] == "context"]
    assert context and "[1]" in context[-1]["elements"][0]["text"]  # citations, as context
    time.sleep(0.5)
    assert not slack_api.of("chat.postMessage", thread_ts=event["ts"])  # nothing in the channel


def test_a_business_user_gets_no_restricted_incidents_and_a_public_answer(slack, slack_api, assistant):
    _, event = slack.mention("UBEA", "What incidents are there on the fraud model?")
    [public] = slack_api.wait("chat.postMessage", thread_ts=event["ts"])
    shown = set(re.findall(r"INC-\d{4}-\d{3}", slack_api.texts(public)))
    everything = {d["doc_id"].split(":")[-1]: d["access"] for d in assistant.knowledge.documents(
        role="admin", filters={"doc_type": ["incident"], "model_id": ["transaction-fraud"]})}
    assert "restricted" in everything.values()
    assert shown and all(everything[i] != "restricted" for i in shown)  # only what business may read, in public
    assert not slack_api.of("chat.postEphemeral", thread_ts=event["ts"])


def test_public_documents_are_cited_in_the_channel(slack, slack_api):
    _, event = slack.mention("USAM", "What are the limitations of the churn model?")
    [public] = slack_api.wait("chat.postMessage", thread_ts=event["ts"])
    context = [b for b in slack_api.blocks(public) if b["type"] == "context"]
    assert context and any("limitations" in e["text"] for e in context[-1]["elements"])


def test_the_same_question_over_http_and_slack_gives_the_same_facts(slack, slack_api, http_auth):
    question = "What is the risk tier for customer C-10001, and why?"
    body = slack.client.post("/v1/chat", json={"message": question}, headers=http_auth("business")).json()
    explained = next(c["result"] for c in body["tool_calls"] if c["name"] == "explain")
    tier, reasons = explained["prediction"]["tier"], [r["text"] for r in explained["reasons"]]
    _, event = slack.mention("UBEA", question)
    [reply] = slack_api.wait("chat.postMessage", thread_ts=event["ts"])
    blocks = slack_api.blocks(reply)
    fields = next(b["fields"] for b in blocks if b["type"] == "section" and "fields" in b)
    assert f"*{tier}*" in fields[0]["text"]
    assert explained["prediction"]["action"] in fields[1]["text"]
    shown = slack_api.texts(reply)
    assert all(reason in shown for reason in reasons)


def test_slacks_url_check_is_answered_only_when_signed(slack):
    body = '{"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}'
    ok = slack.post(body, "application/json")
    assert ok.status_code == 200 and "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in ok.text
    assert slack.post(body, "application/json", secret="guess").status_code == 401
