"""Socket Mode, mounting in the HTTP app only when configured, and the checked-in manifest."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml


def test_socket_mode_names_the_missing_tokens():
    from adapters.slack import socket_mode
    from assistant.config import load_settings
    from assistant.errors import ConfigError

    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        socket_mode.check(load_settings(slack_bot_token="xoxb-1", slack_app_token=""))
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        socket_mode.check(load_settings(slack_bot_token="", slack_app_token="xapp-1"))


def test_modeldesk_slack_without_tokens_fails_with_a_clear_message(monkeypatch):
    from typer.testing import CliRunner

    from adapters.cli import app
    from assistant.errors import ConfigError

    for name in ("SLACK_APP_TOKEN", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["slack"])
    assert isinstance(result.exception, ConfigError) and "SLACK_APP_TOKEN" in result.exception.message


def test_socket_mode_requests_reach_the_same_listeners_unsigned(assistant, slack_api, tmp_path):
    """What SocketModeHandler does with each envelope Slack sends over the WebSocket: dispatch it."""
    from slack_bolt import BoltRequest

    from adapters.slack import SlackDeps, build_app
    from adapters.slack.socket_mode import SocketServices
    from assistant.config import load_settings
    from assistant.feedback import FeedbackStore

    team, bot_user = "T0ACME", "UMODELDESK"  # as the stand-in's auth.test says
    settings = load_settings(data_dir=tmp_path, slack_bot_token="xoxb-test-token", slack_api_url=slack_api.url)
    services = SocketServices(assistant=assistant, feedback=FeedbackStore(tmp_path / "feedback.sqlite"))
    deps = SlackDeps.from_settings(settings, services)
    bolt = build_app(deps, verify_requests=False)  # no Web API call while building
    ts = f"{int(time.time())}.424242"
    envelope = {"team_id": team, "type": "event_callback", "event_id": "Ev0SOCKET0001",
                "event": {"type": "message", "channel_type": "im", "channel": "D0SOCKET", "user": "UBEA",
                          "text": "What is the risk tier for C-10293?", "ts": ts, "team": team},
                "authorizations": [{"team_id": team, "user_id": bot_user, "is_bot": True}]}
    response = bolt.dispatch(BoltRequest(body=json.dumps(envelope), mode="socket_mode"))
    assert response.status == 200
    [reply] = slack_api.wait("chat.postMessage", channel="D0SOCKET", thread_ts=ts)
    assert "C-10293" in slack_api.texts(reply)
    deps.close()
    services.feedback.close()


def test_slack_is_mounted_only_when_its_secret_and_token_are_set(make_app):
    from fastapi.testclient import TestClient

    plain = TestClient(make_app())
    assert plain.post("/slack/events", content=b"{}").status_code == 404
    assert "/slack/events" not in plain.get("/openapi.json").json()["paths"]


def test_the_manifest_asks_for_what_the_app_uses():
    manifest = yaml.safe_load((Path(__file__).parents[3] / "adapters/slack/manifest.yaml").read_text())
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "chat:write", "im:history", "channels:history", "groups:history",
            "reactions:write", "commands"} <= scopes
    settings = manifest["settings"]
    assert {"app_mention", "message.channels", "message.groups", "message.im"} <= set(
        settings["event_subscriptions"]["bot_events"])
    assert settings["interactivity"]["is_enabled"]
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/modeldesk"
    urls = {settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"], command["url"]}
    assert len(urls) == 1 and urls.pop().endswith("/slack/events")
