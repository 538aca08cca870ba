"""HTTP mode: Slack's Events API, slash commands and interactivity at `POST /slack/events`.

Bolt's own two translators (`to_bolt_request`, `to_starlette_response`) turn the request into
Bolt's types and back; `dispatch` (signature check, then the listeners' acknowledgement) runs in a
worker thread so the event loop never waits on it. A missing, wrong or stale signature is a 401
before any listener runs.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool

from adapters.slack.app import SlackDeps, build_app

PATH = "/slack/events"


class SlackHttp:
    """The Bolt app behind `/slack/events`, and the hooks the FastAPI app calls at start and stop."""

    def __init__(self, deps: SlackDeps, *, process_before_response: bool = False):
        self.deps = deps
        self.bolt = build_app(deps, process_before_response=process_before_response)

    def started(self) -> None:
        """After the assistant exists: post probing alerts to the security channel, when configured."""
        self.deps.attach_alerts(self.bolt.client)

    def close(self) -> None:
        self.deps.close()


def mount(app: FastAPI, services: Any) -> SlackHttp:
    """Serve Slack at `POST /slack/events` in `app`; `services` is the HTTP app's Services."""
    slack = SlackHttp(SlackDeps.from_settings(services.settings, services))

    @app.post(PATH, include_in_schema=False)  # Slack's protocol, not part of ModelDesk's API schema
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        bolt_response = await run_in_threadpool(slack.bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    return slack
