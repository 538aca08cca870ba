"""Probing alerts from the guardrails, posted to the security channel (MODELDESK_SLACK_SECURITY_CHANNEL)."""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from slack_sdk import WebClient

from adapters.slack.render import escape

log = logging.getLogger("modeldesk.slack")
DETAIL_CHARS = 500
# The guard's levels are warn, refuse and lock; the others are for sinks fed from elsewhere.
LEVEL_EMOJI = {"lock": ":lock:", "refuse": ":rotating_light:", "warn": ":warning:", "critical": ":rotating_light:",
               "high": ":rotating_light:", "medium": ":warning:", "low": ":information_source:"}


def alert_text(alert: dict[str, Any]) -> str:
    """One alert (ts, principal, model_id, kind, level, detail) as a short Slack message.

    Everything is escaped: the detail may quote the offending questions, which must not ping
    @channel or carry links.
    """
    level = str(alert.get("level") or "alert")
    kind = str(alert.get("kind") or "probing").replace("_", " ")
    detail = " ".join(str(alert.get("detail") or "").split())
    if len(detail) > DETAIL_CHARS:
        detail = detail[: DETAIL_CHARS - 1] + "…"
    who = escape(str(alert.get("principal") or "unknown"))
    model = escape(str(alert.get("model_id") or "any model"))
    lines = [f"{LEVEL_EMOJI.get(level.lower(), ':warning:')} *Probing alert ({escape(level)}): {escape(kind)}*",
             f"Who: `{who}` · Model: `{model}` · When: {_when(alert.get('ts'))}"]
    if detail:
        lines.append(escape(detail))
    return "\n".join(lines)


def post_alert(client: WebClient, channel: str, alert: dict[str, Any]) -> None:
    """Post one alert now; a failure is logged, never raised (an alert must not break an answer)."""
    try:
        client.chat_postMessage(channel=channel, text=alert_text(alert), unfurl_links=False, unfurl_media=False)
    except Exception as exc:
        log.warning("could not post a probing alert to %s: %s", channel, exc)


def make_alert_sink(client: WebClient, channel: str) -> Callable[[dict], None]:
    """An alert sink for the guardrails: returns at once, the post happens in a background thread,
    in order, so a slow or unreachable Slack never holds up the answer that raised the alert."""
    poster = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slack-alerts")

    def sink(alert: dict) -> None:
        try:
            poster.submit(post_alert, client, channel, dict(alert))
        except Exception as exc:  # shut down at exit
            log.warning("probing alert not posted to Slack: %s", exc)

    return sink


def _when(ts: Any) -> str:
    if isinstance(ts, (int, float)):
        return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return escape(str(ts)) if ts else "now"
