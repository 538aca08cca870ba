"""The Slack adapter driven over HTTP like Slack drives it: signed requests to /slack/events of the real
app (demo models, demo corpus in an embedded Chroma), and Slack's Web API stood in for by a small
HTTP server on loopback that records every call and answers like Slack."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.adapters.http.conftest import KEYS, assistant, make_app  # noqa: F401  (the HTTP tests' app, reused)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_USER, BOT_ID, TEAM = "UMODELDESK", "BMODELDESK", "T0ACME"
USERS = {"UBEA": {"principal": "bea", "role": "business"},  # the same principals as the HTTP keys
         "USAM": {"principal": "sam", "role": "security"}}


class SlackApi:
    """Slack's Web API on a loopback port: records each call (method, arguments) and answers `ok`."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.failures: dict[str, str] = {}  # method -> Slack error code to answer with
        self.users: dict[str, dict[str, Any]] = {}  # user id -> the `user` object users.info answers with
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    args = json.loads(raw or "{}")
                else:
                    args = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
                method = self.path.rsplit("/", 1)[-1].split("?")[0]
                if self.path.startswith("/respond/"):
                    method = "response_url"
                body = api.answer(method, args, self.headers.get("Authorization", ""))
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"
        self.respond_url = f"http://127.0.0.1:{self.server.server_address[1]}/respond/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, method: str, args: dict[str, Any], authorization: str) -> dict[str, Any]:
        response = self._response(method, args)
        args = {**args, "_response": response}  # what the caller got back (e.g. the ts of a posted message)
        with self._lock:
            self.calls.append({"method": method, "args": args, "authorization": authorization})
        return response

    def _response(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method in self.failures:
            return {"ok": False, "error": self.failures[method]}
        if method == "auth.test":
            return {"ok": True, "url": "https://acme.slack.com/", "team": "Acme", "user": "modeldesk",
                    "team_id": TEAM, "user_id": BOT_USER, "bot_id": BOT_ID}
        if method == "chat.postMessage":
            ts = f"{1800000000 + next(self._ts)}.000100"
            return {"ok": True, "channel": args.get("channel"), "ts": ts,
                    "message": {"text": args.get("text"), "ts": ts, "bot_id": BOT_ID}}
        if method == "users.info":
            user = self.users.get(args.get("user", ""))
            return {"ok": True, "user": user} if user is not None else {"ok": False, "error": "user_not_found"}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{1800000000 + next(self._ts)}.000200"}
        return {"ok": True}

    def of(self, method: str, **where: Any) -> list[dict[str, Any]]:
        """Arguments of the recorded calls to `method` whose arguments include `where`."""
        with self._lock:
            calls = list(self.calls)
        return [c["args"] for c in calls if c["method"] == method
                and all(c["args"].get(k) == v for k, v in where.items())]

    def wait(self, method: str, count: int = 1, timeout: float = 90, **where: Any) -> list[dict[str, Any]]:
        """Wait until `count` calls to `method` matching `where` were made (answers arrive after the ack)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.of(method, **where)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no {method} {where} within {timeout} s; calls: "
                                     f"{[c['method'] for c in self.calls]}")
            time.sleep(0.05)

    @staticmethod
    def blocks(call: dict[str, Any]) -> list[dict[str, Any]]:
        blocks = call.get("blocks")
        return json.loads(blocks) if isinstance(blocks, str) else blocks or []

    @classmethod
    def texts(cls, call: dict[str, Any]) -> str:
        """Every piece of text in a posted message's blocks, joined (what a user reads)."""
        out: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if isinstance(node.get("text"), str):
                    out.append(node["text"])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(cls.blocks(call))
        return "\n".join(out)

    def chat_calls(self) -> list[dict[str, Any]]:
        with self._lock:
            return [c for c in self.calls if c["method"].startswith(("chat.", "reactions.")) or c["method"] == "response_url"]


def sign(body: str, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    """Slack's v0 request signature headers for `body`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


_ts = itertools.count(1)


def new_ts() -> str:
    """A fresh message timestamp, as Slack writes them."""
    return f"{1700000000 + next(_ts)}.{next(_ts):06d}"


class Slack:
    """Sends what Slack sends: event callbacks, slash commands and button clicks, signed."""

    def __init__(self, client: TestClient, api: SlackApi):
        self.client, self.api = client, api
        self._events = itertools.count(1)

    @staticmethod
    def new_ts() -> str:
        return new_ts()

    def post(self, body: str, content_type: str, headers: dict[str, str] | None = None, **sign_args: Any):
        return self.client.post("/slack/events", content=body.encode(), headers={
            "Content-Type": content_type, **sign(body, **sign_args), **(headers or {})})

    def event(self, event: dict[str, Any], *, event_id: str | None = None, headers: dict[str, str] | None = None,
              **sign_args: Any):
        envelope = {"token": "legacy", "team_id": TEAM, "api_app_id": "A0MODELDESK", "type": "event_callback",
                    "event": {"team": TEAM, "event_ts": event.get("ts"), **event},
                    "event_id": event_id or f"Ev{next(self._events):08d}{time.time_ns()}",
                    "event_time": int(time.time()),
                    "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}]}
        return self.post(json.dumps(envelope), "application/json", headers, **sign_args)

    def mention(self, user: str, text: str, *, ts: str | None = None, thread_ts: str | None = None,
                channel: str = "C0GENERAL", **kwargs: Any):
        event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts or new_ts(),
                 "channel": channel}
        if thread_ts:
            event["thread_ts"] = thread_ts
        return self.event(event, **kwargs), event

    def message(self, user: str | None, text: str, *, channel: str = "C0GENERAL", channel_type: str = "channel",
                ts: str | None = None, thread_ts: str | None = None, **extra: Any):
        event = {"type": "message", "text": text, "ts": ts or new_ts(), "channel": channel,
                 "channel_type": channel_type, **extra}
        if user:
            event["user"] = user
        if thread_ts:
            event["thread_ts"] = thread_ts
        return self.event(event), event

    def command(self, user: str, text: str, *, channel: str = "C0GENERAL"):
        body = urllib.parse.urlencode({
            "token": "legacy", "team_id": TEAM, "team_domain": "acme", "channel_id": channel,
            "channel_name": "general", "user_id": user, "user_name": user.lower(), "command": "/modeldesk",
            "text": text, "api_app_id": "A0MODELDESK", "response_url": self.api.respond_url + "cmd",
            "trigger_id": f"trig.{time.time_ns()}"})
        return self.post(body, "application/x-www-form-urlencoded")

    def click(self, user: str, action_id: str, value: str, *, channel: str, message_ts: str, thread_ts: str):
        payload = {"type": "block_actions", "team": {"id": TEAM, "domain": "acme"},
                   "user": {"id": user, "team_id": TEAM}, "api_app_id": "A0MODELDESK", "token": "legacy",
                   "trigger_id": f"trig.{time.time_ns()}", "response_url": self.api.respond_url + "click",
                   "container": {"type": "message", "message_ts": message_ts, "channel_id": channel,
                                 "is_ephemeral": False, "thread_ts": thread_ts},
                   "channel": {"id": channel, "name": "general"},
                   "message": {"type": "message", "ts": message_ts, "thread_ts": thread_ts, "bot_id": BOT_ID},
                   "actions": [{"action_id": action_id, "block_id": "modeldesk_feedback", "value": value,
                                "type": "button", "action_ts": str(time.time())}]}
        return self.post(urllib.parse.urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")


@pytest.fixture(scope="session")
def slack_api() -> Iterator[SlackApi]:
    api = SlackApi()
    api.thread.start()
    yield api
    api.server.shutdown()


@pytest.fixture(scope="session")
def slack_settings(slack_api) -> dict[str, Any]:
    """The settings that turn Slack on, pointed at the stand-in Web API."""
    return {"slack_bot_token": "xoxb-test-token", "slack_signing_secret": SECRET, "slack_api_url": slack_api.url,
            "slack_users": USERS, "slack_security_channel": "C0SECURITY"}


@pytest.fixture(scope="session")
def slack_app(make_app, slack_settings):  # noqa: F811
    return make_app(**slack_settings)


@pytest.fixture(scope="session")
def slack_over(slack_api) -> Callable[[TestClient], Slack]:
    """`slack_over(client)`: what Slack sends, to another app."""
    return lambda client: Slack(client, slack_api)


@pytest.fixture(scope="session")
def slack_http(slack_app) -> Iterator[TestClient]:
    with TestClient(slack_app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def slack(slack_http, slack_api) -> Slack:
    return Slack(slack_http, slack_api)


@pytest.fixture(scope="session")
def http_auth() -> Callable[[str], dict[str, str]]:
    by_role = {entry["role"]: key for key, entry in KEYS.items()}
    return lambda role: {"Authorization": f"Bearer {by_role[role]}"}
