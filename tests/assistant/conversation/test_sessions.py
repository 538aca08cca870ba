"""Session stores: SQLite (embedded) and Redis (shared by replicas), and answering while the store is down."""

from __future__ import annotations

import uuid

import pytest

from assistant.config import load_settings
from assistant.conversation.state import (ForgetfulWhenDown, RedisSessions, SessionState, SqliteSessions,
                                          open_sessions)
from assistant.errors import ConfigError, Unavailable
from tests.redis_server import free_port, start_redis_server


def _state() -> SessionState:
    return SessionState(model_id="credit-default", record_id="C-10293", last_op="predict", turns=1)


def test_a_session_saved_by_one_process_is_read_by_another(redis_url):
    prefix = f"t-{uuid.uuid4().hex[:8]}:"
    replica_a, replica_b = RedisSessions(redis_url, prefix=prefix), RedisSessions(redis_url, prefix=prefix)
    replica_a.save("alice/s1", _state())
    assert replica_b.load("alice/s1").record_id == "C-10293"
    assert replica_b.load("alice/other") == SessionState()
    replica_a.close(), replica_b.close()


def test_sessions_expire_after_their_ttl(redis_url):
    store = RedisSessions(redis_url, prefix=f"t-{uuid.uuid4().hex[:8]}:", ttl_seconds=1)
    store.save("s", _state())
    assert store._redis.ttl(store.prefix + "s") == 1


def test_open_sessions_follows_the_redis_url(tmp_path, redis_url):
    assert isinstance(open_sessions(load_settings(data_dir=tmp_path)), SqliteSessions)
    assert isinstance(open_sessions(load_settings(data_dir=tmp_path, redis_url=redis_url)), RedisSessions)
    with pytest.raises(ConfigError, match="MODELDESK_REDIS_URL"):
        RedisSessions("mysql://127.0.0.1:1/0")


def test_a_redis_outage_is_unavailable_and_recovers(tmp_path):
    server = start_redis_server(tmp_path / "redis")
    try:
        store = RedisSessions(server.url)
        store.save("s", _state())
        server.stop()
        with pytest.raises(Unavailable, match="the conversation store is unavailable right now"):
            store.load("s")
        with pytest.raises(Unavailable):
            store.save("s", _state())
        forgetful = ForgetfulWhenDown(store)
        assert forgetful.load("s") == SessionState(memory_unavailable=True)  # answered without memory, not failed
        forgetful.save("s", _state())
        with pytest.raises(Unavailable):
            forgetful.ping()  # readiness still sees the outage
        server.start()
        forgetful.save("s", _state())
        assert forgetful.load("s").record_id == "C-10293"
    finally:
        server.stop()


def test_an_unreachable_redis_never_stalls_an_answer():
    import time

    store = ForgetfulWhenDown(RedisSessions(f"redis://127.0.0.1:{free_port()}/0"))
    started = time.perf_counter()
    assert store.load("s") == SessionState(memory_unavailable=True)
    assert time.perf_counter() - started < 2.5


def test_a_broken_sqlite_file_is_unavailable(tmp_path):
    store = SqliteSessions(tmp_path / "sessions.sqlite")
    store.save("s", _state())
    for leftover in tmp_path.glob("sessions.sqlite-*"):  # the WAL would still hold the rows
        leftover.unlink()
    (tmp_path / "sessions.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(Unavailable, match="conversation store"):
        store.load("s")
