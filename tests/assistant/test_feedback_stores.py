"""Feedback in Redis: what one replica issued can be rated through another; outages are Unavailable."""

from __future__ import annotations

import uuid

import pytest

from assistant.config import load_settings
from assistant.errors import NotFound, Unavailable
from assistant.feedback import FeedbackStore, RedisFeedbackStore, open_feedback_store
from tests.redis_server import start_redis_server


def test_feedback_given_on_another_replica(redis_url):
    prefix = f"fb-{uuid.uuid4().hex[:8]}:"
    replica_a, replica_b = RedisFeedbackStore(redis_url, prefix=prefix), RedisFeedbackStore(redis_url, prefix=prefix)
    replica_a.issued("a1", "s1", "alice", "business", "chat", False)
    replica_a.issued("a2", "s1", "alice", "business", "chat", False)
    fid, answer = replica_b.add(principal="alice", role="business", rating="up", comment=None, answer_id="a1",
                                session_id=None)
    assert answer == "a1" and fid == 1
    fid2, latest = replica_b.add(principal="alice", role="business", rating="down", comment="wrong tier",
                                 answer_id=None, session_id="s1")
    assert latest == "a2" and fid2 == 2
    assert [e["rating"] for e in replica_a.entries()] == ["up", "down"]
    assert replica_a.entries("a2")[0]["comment"] == "wrong tier"
    assert replica_a.counts() == {"up": 1, "down": 1}
    with pytest.raises(NotFound, match="no answer 'a1' was given to you"):
        replica_b.add(principal="mallory", role="business", rating="down", comment=None, answer_id="a1",
                      session_id=None)
    with pytest.raises(NotFound, match="session 's9'"):
        replica_b.add(principal="alice", role="business", rating="up", comment=None, answer_id=None, session_id="s9")


def test_open_feedback_store_follows_the_redis_url(tmp_path, redis_url):
    assert isinstance(open_feedback_store(load_settings(data_dir=tmp_path)), FeedbackStore)
    assert isinstance(open_feedback_store(load_settings(data_dir=tmp_path, redis_url=redis_url)), RedisFeedbackStore)


def test_a_redis_outage_is_unavailable_and_recovers(tmp_path):
    server = start_redis_server(tmp_path / "redis")
    try:
        store = RedisFeedbackStore(server.url)
        server.stop()
        with pytest.raises(Unavailable, match="feedback store unavailable"):
            store.issued("a1", "s1", "alice", "business", "chat", False)
        with pytest.raises(Unavailable):
            store.ping()
        server.start()
        store.issued("a1", "s1", "alice", "business", "chat", False)
        assert store.add(principal="alice", role="business", rating="up", comment=None, answer_id="a1",
                         session_id=None)[1] == "a1"
    finally:
        server.stop()
