"""Mentions, DMs, threads and the slash command, answered in the thread through the real Bolt app."""

from __future__ import annotations

import time

QUESTION = "What is the risk tier for customer C-10293?"


def _expected(assistant, question=QUESTION):
    from assistant.answer import Principal

    answer = assistant.answer(question, Principal(id="check", role="business"))
    predict = next(c.result for c in answer.tool_calls if c.name == "predict")
    return predict["tier"], predict["action"]


def test_a_mention_is_answered_in_its_thread_with_the_tier_and_its_action(slack, slack_api, assistant):
    started = time.monotonic()
    response, event = slack.mention("UBEA", QUESTION)
    assert response.status_code == 200 and time.monotonic() - started < 3  # acknowledged within Slack's 3 s
    [reply] = slack_api.wait("chat.postMessage", thread_ts=event["ts"])
    tier, action = _expected(assistant)
    shown = slack_api.texts(reply)
    assert reply["channel"] == "C0GENERAL"
    assert tier in shown and action in shown and "C-10293" in shown
    assert "probability" not in shown.lower()  # a business user sees tiers, never raw probabilities
    blocks = slack_api.blocks(reply)
    [buttons] = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in buttons["elements"]] == ["modeldesk_feedback_up", "modeldesk_feedback_down"]
    assert reply["text"]  # the notification and screen-reader text
    # it showed it was working, on the asker's message, then took the sign away
    slack_api.wait("reactions.remove", timestamp=event["ts"])
    added = slack_api.of("reactions.add", timestamp=event["ts"])
    assert added and added[0]["name"] == "hourglass_flowing_sand"


def test_a_thread_is_one_conversation_and_follow_ups_need_no_mention(slack, slack_api):
    _, first = slack.mention("UBEA", "What is the risk tier for C-10293?")
    thread = first["ts"]
    slack_api.wait("chat.postMessage", thread_ts=thread)
    slack.message("UBEA", "why?", thread_ts=thread)  # no mention: the bot is part of this thread
    replies = slack_api.wait("chat.postMessage", 2, thread_ts=thread)
    why = slack_api.texts(replies[1])
    assert "C-10293" in why and "Why" in why  # the record was carried over, and the reasons given
    assert "1. " in why and ("raised" in why or "lowered" in why)


def test_chatter_outside_the_bots_threads_is_left_alone(slack, slack_api):
    _, top = slack.message("UBEA", "What is the risk tier for C-10293?")  # no mention, not in a thread
    _, other = slack.message("UBEA", "why?", thread_ts=slack.new_ts())  # a thread the bot never answered in
    _, barrier = slack.message("UBEA", "What is the risk tier for C-10293?", channel="D0BEA", channel_type="im")
    slack_api.wait("chat.postMessage", channel="D0BEA", thread_ts=barrier["ts"])
    time.sleep(0.5)
    assert not slack_api.of("chat.postMessage", thread_ts=top["ts"])
    assert not slack_api.of("chat.postMessage", thread_ts=other["thread_ts"])


def test_a_direct_message_is_answered_without_a_mention(slack, slack_api, assistant):
    _, event = slack.message("UBEA", QUESTION, channel="D0BEA", channel_type="im")
    [reply] = slack_api.wait("chat.postMessage", channel="D0BEA", thread_ts=event["ts"])
    assert _expected(assistant)[0] in slack_api.texts(reply)


def test_the_slash_command_acknowledges_then_answers_in_a_thread_it_starts(slack, slack_api, assistant):
    started = time.monotonic()
    response = slack.command("UBEA", QUESTION)
    assert response.status_code == 200 and time.monotonic() - started < 3
    [start] = slack_api.wait("chat.postMessage", channel="C0GENERAL", text=f"<@UBEA> asked: {QUESTION}")
    thread = start["_response"]["ts"]
    [reply] = slack_api.wait("chat.postMessage", thread_ts=thread)
    assert _expected(assistant)[0] in slack_api.texts(reply)
    slack.message("UBEA", "why?", thread_ts=thread)  # the command's thread is a conversation too
    replies = slack_api.wait("chat.postMessage", 2, thread_ts=thread)
    assert "Why" in slack_api.texts(replies[1])


def test_the_slash_command_without_a_question_says_how_to_ask(slack):
    response = slack.command("UBEA", "  ")
    assert response.status_code == 200 and "/modeldesk What is the risk tier" in response.text


def test_the_slash_command_answers_privately_where_the_bot_cannot_post(slack, slack_api, assistant):
    slack_api.failures["chat.postMessage"] = "not_in_channel"
    try:
        slack.command("UBEA", QUESTION, channel="C0ELSEWHERE")
        [reply] = slack_api.wait("response_url")
    finally:
        slack_api.failures.clear()
    assert reply["response_type"] == "ephemeral" and _expected(assistant)[0] in slack_api.texts(reply)


def test_an_unanswerable_message_gets_the_reason_not_a_stack_trace(slack, slack_api):
    _, event = slack.mention("UBEA", "What is the risk tier for customer C-99999999 on the credit model?")
    [reply] = slack_api.wait("chat.postMessage", thread_ts=event["ts"])
    shown = slack_api.texts(reply) + reply["text"]
    assert "C-99999999" in shown and "Traceback" not in shown
    _, empty = slack.mention("UBEA", "")  # just "@ModelDesk"
    [reply] = slack_api.wait("chat.postMessage", thread_ts=empty["ts"])
    assert "ask a question" in reply["text"] and "Traceback" not in reply["text"]


def test_bots_edits_and_its_own_messages_are_never_answered(slack, slack_api):
    _, first = slack.mention("UBEA", "What is the risk tier for C-10293?")
    thread = first["ts"]
    slack_api.wait("chat.postMessage", thread_ts=thread)
    ignored = [
        slack.message(None, "Risk report ready", thread_ts=thread, subtype="bot_message", bot_id="B0OTHER")[1],
        slack.message("U0OTHERBOT", "why?", thread_ts=thread, bot_id="B0OTHER")[1],
        slack.message("UMODELDESK", "why?", thread_ts=thread, bot_id="BMODELDESK")[1],  # its own reply
        slack.message(None, "why?", thread_ts=thread, subtype="message_changed",
                      message={"user": "UBEA", "text": "why?", "ts": thread})[1],
        slack.message("UBEA", "why?", thread_ts=thread, subtype="message_deleted")[1],
    ]
    slack.event({"type": "app_mention", "user": "U0OTHERBOT", "bot_id": "B0OTHER", "channel": "C0GENERAL",
                 "text": "<@UMODELDESK> why?", "ts": slack.new_ts()})
    _, barrier = slack.message("UBEA", "What is the risk tier for C-10293?", channel="D0BEA", channel_type="im")
    slack_api.wait("chat.postMessage", thread_ts=barrier["ts"])
    time.sleep(0.5)
    assert len(slack_api.of("chat.postMessage", thread_ts=thread)) == 1  # only the answer to the person
    assert all(not slack_api.of("reactions.add", timestamp=e["ts"]) for e in ignored)


def test_a_retried_delivery_is_answered_once(slack, slack_api):
    _, event = slack.mention("UBEA", "What is the risk tier for C-10293?", event_id="Ev0RETRIED01")
    again, _ = slack.mention("UBEA", "What is the risk tier for C-10293?", ts=event["ts"], event_id="Ev0RETRIED01",
                             headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert again.status_code == 200  # acknowledged, so Slack stops retrying
    slack_api.wait("chat.postMessage", thread_ts=event["ts"])
    # a mention in a thread also arrives as a message event (a different event id): still one answer
    slack.message("UBEA", event["text"], ts=event["ts"], thread_ts=event["ts"])
    time.sleep(1.5)
    assert len(slack_api.of("chat.postMessage", thread_ts=event["ts"])) == 1
