"""Bolt listeners: what ModelDesk answers in Slack, and how. All wired in `register`.

- `app_mention` in channels, `message` in DMs, and follow-ups (no mention needed) in threads the
  bot has answered in; always replied to in the thread, one conversation per thread.
- `/modeldesk <question>`: posts who asked what, and answers in that message's thread.
- The feedback buttons on answers, stored in the same feedback store as HTTP's.

Every listener acknowledges at once and answers in a lazy listener (after the acknowledgement).
Messages from bots (this one included), edits, deletions and other subtypes are never answered;
a delivery Slack repeats (X-Slack-Retry-Num, same event_id) is acknowledged and dropped.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Callable

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from adapters.slack import render
from adapters.slack.app import SlackDeps, session_id
from adapters.slack.privacy import draws_on_restricted
from assistant.errors import AssistantError, NotFound

log = logging.getLogger("modeldesk.slack")

WORKING = "hourglass_flowing_sand"
COMMAND = "/modeldesk"
# Message subtypes that are a person writing; everything else (bot_message, message_changed,
# message_deleted, channel_join, ...) is not a question.
PERSON_SUBTYPES = {None, "thread_broadcast", "file_share"}
UNEXPECTED = "Something went wrong on my side and I could not answer. Please try again in a moment."


def register(app: App, deps: SlackDeps) -> None:
    """Wire every listener (the one place they are listed)."""
    app.middleware(_drop_repeats(deps))
    app.event("app_mention", matchers=[_from_a_person])(ack=_ack, lazy=[_answerer(deps, "mention")])
    app.event("message", matchers=[_from_a_person, _addressed_to_us(deps)])(ack=_ack, lazy=[_answerer(deps, "message")])
    app.event("app_mention")(_ack)  # from a bot: acknowledged, not answered
    app.event("message")(_ack)  # everything else in the channels the bot is in
    app.command(COMMAND)(ack=_ack_command, lazy=[_command(deps)])
    app.action(render.FEEDBACK_ACTION)(_feedback(deps))


# -- filters --------------------------------------------------------------------------------------
def _drop_repeats(deps: SlackDeps) -> Callable[..., Any]:
    def drop_repeated_events(body: dict, request: Any, next: Callable[[], None]) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not deps.state.claim(f"event:{event_id}"):
            retry = request.headers.get("x-slack-retry-num", [None])[0]
            log.info("event %s delivered again (retry %s, %s): already taken", event_id, retry,
                     request.headers.get("x-slack-retry-reason", ["?"])[0])
            return BoltResponse(status=200, body="")
        next()
        return None

    return drop_repeated_events


def _from_a_person(event: dict, context: Any) -> bool:
    if event.get("bot_id") or event.get("bot_profile") or event.get("subtype") not in PERSON_SUBTYPES:
        return False
    user = event.get("user")
    return bool(user) and user != context.bot_user_id


def _addressed_to_us(deps: SlackDeps) -> Callable[..., bool]:
    """DMs; in channels, replies in a thread the bot answered in that do not mention it (the mention
    arrives as `app_mention` too, and is answered there)."""

    def addressed_to_us(event: dict, context: Any, body: dict) -> bool:
        if event.get("channel_type") == "im":
            return True
        thread_ts = event.get("thread_ts")
        if not thread_ts or thread_ts == event.get("ts"):
            return False
        if context.bot_user_id and f"<@{context.bot_user_id}>" in (event.get("text") or ""):
            return False
        return deps.state.knows_thread(_team(body, event), event["channel"], thread_ts)

    return addressed_to_us


def _ack(ack: Callable[..., None]) -> None:
    ack()


def _ack_command(ack: Callable[..., None], command: dict) -> None:
    if not (command.get("text") or "").strip():
        ack(text="Ask me a question, e.g. `/modeldesk What is the risk tier for customer C-10293?`")
    else:
        ack()


# -- answering ------------------------------------------------------------------------------------
def _answerer(deps: SlackDeps, kind: str) -> Callable[..., None]:
    def answer_event(event: dict, body: dict, client: WebClient, context: Any) -> None:
        team, channel = _team(body, event), event["channel"]
        if not deps.state.claim(f"message:{team}:{channel}:{event['ts']}"):
            return  # the same message, delivered as both app_mention and message
        question = _without_mention(event.get("text") or "", context.bot_user_id)
        _converse(deps, client, team=team, channel=channel, user=event["user"], question=question,
                  react_ts=event["ts"], thread_ts=event.get("thread_ts") or event["ts"],
                  direct=event.get("channel_type") == "im")

    answer_event.__name__ = f"answer_{kind}"  # lazy listeners are told apart by name
    return answer_event


def _command(deps: SlackDeps) -> Callable[..., None]:
    def answer_command(command: dict, client: WebClient, respond: Callable[..., Any]) -> None:
        question = (command.get("text") or "").strip()
        if not question:
            return
        team, channel, user = command.get("team_id", ""), command["channel_id"], command["user_id"]
        start = render.working_message(user, question)
        try:  # the thread hangs from a message saying who asked what
            posted = client.chat_postMessage(channel=channel, text=start.text, blocks=start.blocks)
        except SlackApiError as exc:  # e.g. not_in_channel: answer the asker privately instead
            log.info("cannot post in %s (%s); answering /modeldesk privately", channel, exc.response.get("error"))
            _answer_privately(deps, client, respond, team=team, channel=channel, user=user, question=question,
                              trigger=command.get("trigger_id", ""))
            return
        ts = posted["ts"]
        _converse(deps, client, team=team, channel=channel, user=user, question=question, react_ts=ts,
                  thread_ts=ts, direct=command.get("channel_name") == "directmessage")

    return answer_command


def _converse(deps: SlackDeps, client: WebClient, *, team: str, channel: str, user: str, question: str,
              react_ts: str, thread_ts: str, direct: bool) -> None:
    """Answer `question` in the thread, showing that the bot is working meanwhile."""
    _reaction(client, "add", channel, react_ts)
    try:
        message, private = _answer(deps, deps.directory.principal(user, client), question, session_id(team, channel, thread_ts))
        deps.state.remember_thread(team, channel, thread_ts)
        if private and not direct:  # restricted sources: the asker only (a DM already is)
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=message.text,
                                      blocks=message.blocks)
        else:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=message.text, blocks=message.blocks)
    except SlackApiError as exc:
        log.warning("could not post the answer in %s: %s", channel, exc.response.get("error"))
    except Exception:  # never a stack trace in Slack; the log has it
        log.exception("unexpected error answering in %s", channel)
        _post_quietly(client, channel=channel, thread_ts=thread_ts, text=UNEXPECTED)
    finally:
        _reaction(client, "remove", channel, react_ts)


def _answer(deps: SlackDeps, principal: Any, question: str, session: str) -> tuple[render.Message, bool]:
    """The message to post and whether it is for the asker only."""
    try:
        answered = deps.ask(question, principal, session)
    except AssistantError as exc:
        return render.error_message(exc.message), False
    answer = answered.answer
    private = not answer.refused and draws_on_restricted(answer, deps.knowledge)
    return render.answer_message(answer, answered.answer_id), private


def _answer_privately(deps: SlackDeps, client: WebClient, respond: Callable[..., Any], *, team: str, channel: str,
                      user: str, question: str, trigger: str) -> None:
    try:
        message, _ = _answer(deps, deps.directory.principal(user, client), question,
                             session_id(team, channel, f"command-{trigger}"))
    except Exception:
        log.exception("unexpected error answering /modeldesk in %s", channel)
        message = render.error_message(UNEXPECTED)
    try:
        respond(text=message.text, blocks=message.blocks, response_type="ephemeral")
    except Exception as exc:
        log.warning("could not answer /modeldesk through its response_url: %s", exc)


# -- feedback -------------------------------------------------------------------------------------
def _feedback(deps: SlackDeps) -> Callable[..., None]:
    def record_feedback(ack: Callable[..., None], body: dict, action: dict, client: WebClient) -> None:
        ack()
        rating = "up" if action["action_id"] == render.FEEDBACK_UP else "down"
        user = body["user"]["id"]
        principal = deps.directory.principal(user, client)
        try:
            deps.services.feedback.add(principal=principal.id, role=principal.role, rating=rating, comment=None,
                                       answer_id=action.get("value") or "", session_id=None)
            metrics = getattr(deps.services, "metrics", None)
            if metrics is not None:
                metrics.feedback.labels(rating=rating).inc()
            note = render.feedback_thanks(rating)
        except NotFound:
            note = "Only the person who asked can rate this answer."
        except AssistantError as exc:
            note = exc.message
        container = body.get("container") or {}
        message = body.get("message") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        thread_ts = container.get("thread_ts") or message.get("thread_ts") or message.get("ts")
        if channel:
            _post_quietly(client, channel=channel, user=user, thread_ts=thread_ts, text=note, ephemeral=True)

    return record_feedback


# -- Slack calls that must not fail an answer -----------------------------------------------------
def _reaction(client: WebClient, how: str, channel: str, ts: str) -> None:
    try:
        if how == "add":
            client.reactions_add(channel=channel, timestamp=ts, name=WORKING)
        else:
            client.reactions_remove(channel=channel, timestamp=ts, name=WORKING)
    except SlackApiError as exc:  # missing scope, already reacted...: the answer matters more
        log.debug("reactions.%s failed: %s", how, exc.response.get("error"))
    except Exception as exc:
        log.debug("reactions.%s failed: %s", how, exc)


def _post_quietly(client: WebClient, *, channel: str, text: str, thread_ts: str | None = None,
                  user: str | None = None, ephemeral: bool = False) -> None:
    try:
        if ephemeral and user:
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=text)
        else:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)
    except Exception as exc:
        log.warning("could not post to %s: %s", channel, exc)


def _team(body: dict, event: dict) -> str:
    return body.get("team_id") or event.get("team") or ""


def _without_mention(text: str, bot_user_id: str | None) -> str:
    if bot_user_id:
        text = text.replace(f"<@{bot_user_id}>", " ")
    return re.sub(r"\s+", " ", text).strip()
