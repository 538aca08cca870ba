"""Probing alerts posted to the security channel."""

from __future__ import annotations

import time
from types import SimpleNamespace


def _client(slack_api):
    from slack_sdk import WebClient

    return WebClient(token="xoxb-test-token", base_url=slack_api.url)


def test_an_alert_is_posted_to_the_security_channel_without_waiting(slack_api):
    from adapters.slack.alerts import make_alert_sink

    sink = make_alert_sink(_client(slack_api), "C0SECURITY")
    started = time.monotonic()
    sink({"ts": 1_790_000_000.0, "principal": "mallory", "model_id": "credit-default", "kind": "systematic_sweep",
          "level": "high", "detail": "42 what-ifs on one record in 60 s <!channel> <https://evil.example|click>"})
    assert time.monotonic() - started < 0.5  # the answer that raised it is not held up
    [post] = slack_api.wait("chat.postMessage", channel="C0SECURITY")
    text = post["text"]
    assert "Probing alert (high): systematic sweep" in text and "mallory" in text and "credit-default" in text
    assert "2026-" in text and "UTC" in text
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text  # quoted queries cannot ping or link


def test_an_unreachable_slack_never_breaks_the_caller():
    from slack_sdk import WebClient

    from adapters.slack.alerts import make_alert_sink, post_alert

    client = WebClient(token="xoxb-test-token", base_url="http://127.0.0.1:9/api/", timeout=1)
    post_alert(client, "C0SECURITY", {"kind": "probe", "level": "low"})  # logged, not raised
    make_alert_sink(client, "C0SECURITY")({"kind": "probe"})


def test_the_sink_is_registered_only_where_the_assistant_takes_sinks(slack_api, tmp_path):
    from adapters.slack import SlackDeps
    from assistant.config import load_settings

    settings = load_settings(data_dir=tmp_path, slack_security_channel="C0SECURITY")
    with_sinks = SimpleNamespace(assistant=SimpleNamespace(alert_sinks=[]), feedback=None)
    deps = SlackDeps.from_settings(settings, with_sinks)
    deps.attach_alerts(_client(slack_api))
    [sink] = with_sinks.assistant.alert_sinks
    sink({"kind": "membership_probe", "level": "medium", "principal": "eve", "model_id": "customer-churn"})
    deadline = time.monotonic() + 30
    while not any("eve" in c["text"] for c in slack_api.of("chat.postMessage", channel="C0SECURITY")):
        assert time.monotonic() < deadline, "the registered sink posted nothing"
        time.sleep(0.05)
    deps.close()
    assert with_sinks.assistant.alert_sinks == []  # removed again when the Slack adapter stops

    without = SimpleNamespace(assistant=SimpleNamespace(), feedback=None)
    deps = SlackDeps.from_settings(settings.model_copy(update={"data_dir": tmp_path / "b"}), without)
    deps.attach_alerts(_client(slack_api))
    assert deps.alert_sinks == []
    deps.close()
