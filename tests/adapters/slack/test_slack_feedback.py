"""The 👍/👎 buttons on answers, stored in the feedback store HTTP uses."""

from __future__ import annotations


def _answered(slack, slack_api, user="UBEA"):
    _, event = slack.mention(user, "What is the risk tier for C-10293?")
    [reply] = slack_api.wait("chat.postMessage", thread_ts=event["ts"])
    [buttons] = [b for b in slack_api.blocks(reply) if b["type"] == "actions"]
    return event["ts"], reply["_response"]["ts"], buttons["elements"][0]["value"]


def test_a_thumbs_up_click_is_stored_and_acknowledged(slack, slack_api, slack_app):
    thread, message_ts, answer_id = _answered(slack, slack_api)
    response = slack.click("UBEA", "modeldesk_feedback_up", answer_id, channel="C0GENERAL", message_ts=message_ts,
                           thread_ts=thread)
    assert response.status_code == 200
    [thanks] = slack_api.wait("chat.postEphemeral", user="UBEA", thread_ts=thread)
    assert "👍" in thanks["text"] and "recorded" in thanks["text"]
    [entry] = slack_app.state.services.feedback.entries(answer_id)
    assert (entry["principal"], entry["role"], entry["rating"]) == ("bea", "business", "up")


def test_a_thumbs_down_from_someone_else_is_not_stored_as_theirs(slack, slack_api, slack_app):
    thread, message_ts, answer_id = _answered(slack, slack_api)
    slack.click("USAM", "modeldesk_feedback_down", answer_id, channel="C0GENERAL", message_ts=message_ts,
                thread_ts=thread)
    [note] = slack_api.wait("chat.postEphemeral", user="USAM", thread_ts=thread)
    assert "Only the person who asked" in note["text"]
    assert slack_app.state.services.feedback.entries(answer_id) == []


def test_unknown_users_are_least_privileged_and_rate_under_their_slack_id(slack, slack_api, slack_app):
    thread, message_ts, answer_id = _answered(slack, slack_api, user="U0NEWCOMER")
    slack.click("U0NEWCOMER", "modeldesk_feedback_down", answer_id, channel="C0GENERAL", message_ts=message_ts,
                thread_ts=thread)
    slack_api.wait("chat.postEphemeral", user="U0NEWCOMER", thread_ts=thread)
    [entry] = slack_app.state.services.feedback.entries(answer_id)
    assert (entry["principal"], entry["role"], entry["rating"]) == ("slack:U0NEWCOMER", "business", "down")


def test_a_slack_answer_can_be_rated_over_http_by_the_same_principal(slack, slack_api, slack_app, http_auth):
    _, _, answer_id = _answered(slack, slack_api)
    response = slack.client.post("/v1/feedback", json={"answer_id": answer_id, "rating": "up"},
                                 headers=http_auth("business"))  # bea's API key; Slack's UBEA is bea too
    assert response.status_code == 201 and response.json()["answer_id"] == answer_id
