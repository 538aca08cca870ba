"""Slack's delivery claims and thread memory in Redis, shared by workers on several machines."""

from __future__ import annotations

import uuid

from adapters.slack.state import RedisSlackState, SlackState, open_slack_state
from assistant.config import load_settings


def test_a_delivery_is_taken_once_across_workers(redis_url):
    prefix = f"slack-{uuid.uuid4().hex[:8]}:"
    worker_a, worker_b = RedisSlackState(redis_url, prefix=prefix), RedisSlackState(redis_url, prefix=prefix)
    assert worker_a.claim("event:Ev1") is True
    assert worker_b.claim("event:Ev1") is False
    assert not worker_b.knows_thread("T1", "C1", "111.1")
    worker_a.remember_thread("T1", "C1", "111.1")
    assert worker_b.knows_thread("T1", "C1", "111.1")


def test_open_slack_state_follows_the_redis_url(tmp_path, redis_url):
    assert isinstance(open_slack_state(load_settings(data_dir=tmp_path)), SlackState)
    assert isinstance(open_slack_state(load_settings(data_dir=tmp_path, redis_url=redis_url)), RedisSlackState)


def test_with_redis_down_the_bot_keeps_answering(tmp_path):
    from tests.redis_server import start_redis_server

    server = start_redis_server(tmp_path / "redis")
    try:
        state = RedisSlackState(server.url)
        state.remember_thread("T1", "C1", "111.1")
        server.stop()
        assert state.claim("event:Ev2") is True  # answered (a retry might be answered twice), not dropped
        assert state.knows_thread("T1", "C1", "111.1") is False  # followed again once the bot is mentioned
        state.remember_thread("T1", "C1", "222.2")  # logged, not raised
        server.start()
        assert state.claim("event:Ev3") is True and state.claim("event:Ev3") is False
    finally:
        server.stop()
