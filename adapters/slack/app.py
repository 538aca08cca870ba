"""The Bolt app and what its listeners depend on, built once per process."""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from slack_bolt import App
from slack_sdk import WebClient

from adapters.slack.identity import Directory
from adapters.slack.state import RedisSlackState, SlackState, open_slack_state
from assistant.answer import Answer, Principal, Refusal
from assistant.config import Settings
from assistant.errors import ConfigError, Refused, Unavailable

log = logging.getLogger("modeldesk.slack")
ENDPOINT = "slack"  # how Slack answers are named in the feedback store and the metrics
# Bolt runs acknowledgements (slash commands, button clicks) and lazy answers in one thread pool.
# Answers wait their turn on `SlackDeps.answering`, so the pool is made wide enough that a queue of
# questions never holds up an acknowledgement past Slack's 3 seconds.
LISTENER_THREADS = 64


@dataclass
class Answered:
    """An answer as Slack hands it out: the engine's Answer and the id its feedback buttons carry."""

    answer: Answer
    answer_id: str


@dataclass
class SlackDeps:
    """What the listeners use. `services` is anything with `.assistant` and `.feedback` (and optionally
    `.metrics`): the HTTP app's Services in HTTP mode, a plain holder in Socket Mode. The assistant
    is read at each request, since the HTTP app builds it at start-up, after the routes exist."""

    settings: Settings
    services: Any
    directory: Directory
    state: SlackState | RedisSlackState
    answering: threading.BoundedSemaphore
    alert_sinks: list[Callable[[dict], None]] = field(default_factory=list)

    @classmethod
    def from_settings(cls, settings: Settings, services: Any) -> "SlackDeps":
        return cls(settings=settings, services=services, directory=Directory.from_settings(settings),
                   state=open_slack_state(settings),
                   answering=threading.BoundedSemaphore(settings.answer_concurrency))

    @property
    def knowledge(self) -> Any:
        return getattr(self.services.assistant, "knowledge", None)

    def ask(self, question: str, principal: Principal, session_id: str) -> Answered:
        """Every Slack question goes through here, into the same engine (and guardrails) as HTTP.

        AssistantErrors other than Refused propagate, for the listener to show their message.
        """
        answer_id = uuid.uuid4().hex  # names the answer in the audit log and on its feedback buttons
        with self.answering:  # answering is CPU-bound: a few at a time, like the HTTP app's answering threads
            try:
                answer = self.services.assistant.answer(question, principal, session_id=session_id, model_id=None,
                                                        answer_id=answer_id)
            except Refused as exc:  # a refusal is an answer the user reads, not a failure
                answer = Answer(session_id=session_id, text=exc.message, refused=True,
                                refusal=Refusal(category=exc.category, reason=exc.message, alternative=exc.alternative))
        answered = Answered(answer=answer, answer_id=answer_id)
        try:
            self.services.feedback.issued(answered.answer_id, session_id, principal.id, principal.role, ENDPOINT,
                                          answer.refused)
        except Unavailable as exc:  # the answer still goes out; only its feedback buttons will not be recorded
            log.warning("%s; answer %s cannot be rated", exc.message, answer_id)
        metrics = getattr(self.services, "metrics", None)
        if metrics is not None:
            metrics.answered(answer, ENDPOINT)
        return answered

    def attach_alerts(self, client: WebClient) -> None:
        """Post the guardrails' probing alerts to MODELDESK_SLACK_SECURITY_CHANNEL, when both exist."""
        channel = self.settings.slack_security_channel
        assistant = self.services.assistant
        if not channel or assistant is None or self.alert_sinks:
            return
        if not hasattr(assistant, "alert_sinks"):
            log.info("the assistant exposes no alert sinks yet; probing alerts are not posted to Slack")
            return
        from adapters.slack.alerts import make_alert_sink

        sink = make_alert_sink(client, channel)
        assistant.alert_sinks.append(sink)
        self.alert_sinks.append(sink)

    def close(self) -> None:
        sinks = getattr(self.services.assistant, "alert_sinks", None)
        for sink in self.alert_sinks:
            if sinks is not None and sink in sinks:
                sinks.remove(sink)
        self.alert_sinks.clear()
        self.state.close()


def session_id(team: str, channel: str, thread_ts: str) -> str:
    """One conversation per Slack thread. HTTP sessions are `<principal>/<id>`, so these never collide."""
    return f"slack:{team}:{channel}:{thread_ts}"


def web_client(settings: Settings, token: str | None = None) -> WebClient:
    """The Web API client, at MODELDESK_SLACK_API_URL when set (a proxy, or a stand-in in tests)."""
    kwargs: dict[str, Any] = {"base_url": settings.slack_api_url} if settings.slack_api_url else {}
    return WebClient(token=token if token is not None else settings.slack_bot_token or None, **kwargs)


def build_app(deps: SlackDeps, *, client: WebClient | None = None, verify_requests: bool = True,
              process_before_response: bool = False) -> App:
    """The Bolt app with ModelDesk's listeners.

    No Web API call is made here: the bot's identity (auth.test, for ignoring its own messages) is
    fetched on the first request, so building the app never needs Slack to be reachable. Listeners
    acknowledge at once and answer in lazy listeners, which run after the acknowledgement in a
    worker thread; on a FaaS platform (the response ends the invocation) pass
    `process_before_response=True` and the same listeners still acknowledge within Slack's 3 s.
    `verify_requests=False` is for Socket Mode only, where Slack's connection is the proof.
    """
    from adapters.slack import listeners

    settings = deps.settings
    if verify_requests and not settings.slack_signing_secret:
        raise ConfigError("SLACK_SIGNING_SECRET is not set: requests to /slack/events cannot be verified")
    app = App(client=client or web_client(settings), signing_secret=settings.slack_signing_secret if verify_requests else "",
              token_verification_enabled=False, request_verification_enabled=verify_requests,
              process_before_response=process_before_response, raise_error_for_unhandled_request=False,
              listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="slack"))
    listeners.register(app, deps)
    return app
