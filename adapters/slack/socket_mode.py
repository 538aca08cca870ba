"""Socket Mode (`modeldesk slack`): the same Bolt app over a WebSocket Slack opens; no public URL."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from adapters.slack.app import SlackDeps, build_app, web_client
from assistant.config import Settings
from assistant.errors import AssistantError, ConfigError
from assistant.feedback import FeedbackStore, RedisFeedbackStore, open_feedback_store

log = logging.getLogger("modeldesk.slack")


@dataclass
class SocketServices:
    """What the listeners need when no HTTP app is running (no metrics endpoint)."""

    assistant: Any
    feedback: FeedbackStore | RedisFeedbackStore
    metrics: Any = None


def check(settings: Settings) -> None:
    """Socket Mode needs both tokens; say which one is missing."""
    missing = [name for name, value in (("SLACK_APP_TOKEN (xapp-…, with the connections:write scope)",
                                         settings.slack_app_token),
                                        ("SLACK_BOT_TOKEN (xoxb-…)", settings.slack_bot_token)) if not value]
    if missing:
        raise ConfigError("Socket Mode needs " + " and ".join(missing) + "; see the README's Slack section")


def prepare(settings: Settings) -> SocketServices:
    """The assistant (models loaded, knowledge ingested idempotently) and the feedback store."""
    from assistant.engine import Assistant

    assistant = Assistant.from_settings(settings)
    assistant.registry.check()
    for problem in assistant.registry.problems:
        log.warning("model not loaded: %s", problem.message)
    knowledge = getattr(assistant, "knowledge", None)
    if knowledge is not None:
        try:
            report = knowledge.ingest(settings.knowledge_paths)
            log.info("ingested %d documents (%d added, %d unchanged)", report.documents, report.added, report.unchanged)
        except AssistantError as exc:
            log.warning("knowledge not ingested: %s; prediction questions are still answered", exc.message)
    return SocketServices(assistant=assistant, feedback=open_feedback_store(settings))


def run(settings: Settings) -> None:
    """Connect and answer until interrupted."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    check(settings)
    services = prepare(settings)
    deps = SlackDeps.from_settings(settings, services)
    bolt = build_app(deps, verify_requests=False)
    deps.attach_alerts(bolt.client)
    handler = SocketModeHandler(bolt, settings.slack_app_token,
                                web_client=web_client(settings, token=settings.slack_app_token))
    try:
        handler.start()
    finally:
        deps.close()
        services.feedback.close()
