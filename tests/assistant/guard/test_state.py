"""Guard state on both real backends: SQLite on disk and a real redis-server."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from assistant.config import load_settings
from assistant.errors import ConfigError, Unavailable
from assistant.guard.state import RedisGuardStore, SqliteGuardStore, open_guard_store
from tests.redis_server import free_port, start_redis_server

ROOT = Path(__file__).resolve().parents[3]
DAY = 24 * 3600.0


@pytest.fixture(params=["sqlite", "redis"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def make_store(backend, tmp_path, request):
    """Build a store of the current backend; every store of one test shares the same data."""
    made = []
    prefix = f"test:{uuid.uuid4().hex[:8]}:"

    def make(**kwargs):
        if backend == "sqlite":
            store = SqliteGuardStore(tmp_path / "state" / "guard.sqlite", **kwargs)
        else:
            store = RedisGuardStore(request.getfixturevalue("redis_url"), prefix=prefix, **kwargs)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(make_store):
    return make_store()


def event(ts: float, model_id: str | None = "credit-default", **extra) -> dict:
    return {"ts": ts, "model_id": model_id, **extra}


def test_events_come_back_oldest_first_filtered_by_time_and_model(store):
    t0 = time.time()
    store.append("alice", event(t0 + 2, "credit-default", record="C-2"))
    store.append("alice", event(t0, "credit-default", record="C-0"))
    store.append("alice", event(t0 + 1, "customer-churn", record="C-1"))
    store.append("alice", event(t0 + 3, None, kind="search"))
    store.append("bob", event(t0 + 1, "credit-default", record="B-1"))

    assert [e.get("record", e.get("kind")) for e in store.events("alice", 0)] == ["C-0", "C-1", "C-2", "search"]
    assert [e["ts"] for e in store.events("alice", t0 + 1)] == [t0 + 1, t0 + 2, t0 + 3]  # since is inclusive
    assert [e["record"] for e in store.events("alice", 0, model_id="credit-default")] == ["C-0", "C-2"]
    assert store.events("alice", t0 + 10) == []
    assert [e["record"] for e in store.events("bob", 0)] == ["B-1"]
    assert store.events("carol", 0) == []


def test_events_with_equal_timestamps_keep_arrival_order(store):
    t0 = time.time()
    for i in range(5):
        store.append("alice", event(t0, n=i))
    assert [e["n"] for e in store.events("alice", t0)] == [0, 1, 2, 3, 4]


def test_events_round_trip_exactly(store):
    original = event(1_765_432_100.123456, "transaction-fraud", features={"amount": 12.5, "city": "Zürich"},
                     query=["a", 1, None, True])
    store.append("alice", original)
    assert store.events("alice", 0) == [original]


def test_an_event_without_ts_or_model_id_is_rejected(store):
    with pytest.raises(ValueError, match="'ts' and 'model_id'"):
        store.append("alice", {"model_id": "credit-default"})
    with pytest.raises(ValueError, match="'ts' and 'model_id'"):
        store.append("alice", {"ts": time.time()})


def test_events_older_than_the_retention_are_pruned(make_store):
    store = make_store(retention_seconds=60)
    t0 = time.time()
    store.append("alice", event(t0 - 100, record="old"))
    store.append("alice", event(t0 - 30, record="recent"))
    store.append("alice", event(t0, record="now"))
    assert [e["record"] for e in store.events("alice", 0)] == ["recent", "now"]


def test_default_retention_is_seven_days(store):
    now = time.time()
    store.append("alice", event(now - 8 * DAY, record="last week"))
    store.append("alice", event(now - 6 * DAY, record="this week"))
    store.append("alice", event(now, record="today"))
    assert [e["record"] for e in store.events("alice", 0)] == ["this week", "today"]


def test_an_idle_principals_history_expires_in_redis(redis_url):
    store = RedisGuardStore(redis_url, prefix=f"test:{uuid.uuid4().hex[:8]}:", retention_seconds=0.5)
    store.append("alice", event(time.time()))
    assert len(store.events("alice", 0)) == 1
    time.sleep(0.8)
    assert store.events("alice", 0) == []  # the key itself expired: nothing lingers for an idle principal
    assert store._redis.keys(store.prefix + "events:*") == []
    store.close()


def test_locks_hold_until_they_expire_or_are_cleared(store):
    now = time.time()
    assert store.get_lock("alice", now) is None
    store.set_lock("alice", now + 30, "systematic sweep of credit-default")
    assert store.get_lock("alice", now) == (now + 30, "systematic sweep of credit-default")
    assert store.get_lock("alice", now + 29.9) == (now + 30, "systematic sweep of credit-default")
    assert store.get_lock("alice", now + 30) is None
    assert store.get_lock("bob", now) is None

    store.set_lock("alice", now + 90, "budget exhausted")  # a new lock replaces the old one
    assert store.get_lock("alice", now + 60) == (now + 90, "budget exhausted")
    store.clear_lock("alice")
    assert store.get_lock("alice", now) is None
    store.clear_lock("alice")  # clearing twice is harmless


def test_a_lock_expires_on_the_wall_clock(store):
    store.set_lock("alice", time.time() + 0.3, "sweep")
    assert store.get_lock("alice", time.time()) is not None
    time.sleep(0.5)
    assert store.get_lock("alice", time.time()) is None
    store.set_lock("alice", time.time() - 1, "already over")
    assert store.get_lock("alice", time.time()) is None


def test_marks_expire_and_are_per_principal_and_key(store):
    now = time.time()
    store.set_mark("alice", "escalation", "warned", now + 60)
    store.set_mark("alice", "budget:credit-default", "80%", now + 10)
    store.set_mark("al:ice", "escalation", "locked", now + 60)  # a ':' in a name collides with nothing
    assert store.get_mark("alice", "escalation", now) == "warned"
    assert store.get_mark("alice", "budget:credit-default", now) == "80%"
    assert store.get_mark("al:ice", "escalation", now) == "locked"
    assert store.get_mark("bob", "escalation", now) is None
    assert store.get_mark("alice", "budget:credit-default", now + 11) is None
    assert store.get_mark("alice", "escalation", now + 59) == "warned"
    assert store.get_mark("alice", "escalation", now + 60) is None
    store.set_mark("alice", "escalation", "throttled", now + 120)
    assert store.get_mark("alice", "escalation", now + 90) == "throttled"


def test_a_mark_expires_on_the_wall_clock(store):
    store.set_mark("alice", "escalation", "warned", time.time() + 0.3)
    assert store.get_mark("alice", "escalation", time.time()) == "warned"
    time.sleep(0.5)
    assert store.get_mark("alice", "escalation", time.time()) is None


def alert(ts: float, principal: str = "mallory", kind: str = "extraction", **extra) -> dict:
    return {"ts": ts, "principal": principal, "model_id": "credit-default", "kind": kind, "level": "high",
            "detail": "grid sweep over balance", "queries": [{"record": "C-1", "balance": 100}], **extra}


def test_alerts_come_back_newest_first_with_store_assigned_ids(store):
    t0 = time.time()
    a1 = store.add_alert(alert(t0 + 1))
    a0 = store.add_alert(alert(t0, principal="eve", kind="membership"))
    a2 = store.add_alert(alert(t0 + 2))
    a2b = store.add_alert(alert(t0 + 2, kind="inversion"))
    ids = [a1, a0, a2, a2b]
    assert len(set(ids)) == 4 and all(isinstance(i, str) and i for i in ids)
    assert sorted(ids) == [a0, a1, a2, a2b]  # ids sort by time, then by arrival

    listed = store.alerts()
    assert [a["id"] for a in listed] == [a2b, a2, a1, a0]
    assert listed[-1] == {**alert(t0, principal="eve", kind="membership"), "id": a0}
    assert [a["id"] for a in store.alerts(since=t0 + 1)] == [a2b, a2, a1]
    assert [a["id"] for a in store.alerts(principal="eve")] == [a0]
    assert [a["id"] for a in store.alerts(limit=2)] == [a2b, a2]
    assert [a["id"] for a in store.alerts(principal="mallory", limit=2)] == [a2b, a2]
    assert store.alerts(principal="nobody") == []


def test_alerts_are_capped_keeping_the_newest(make_store):
    store = make_store(max_alerts=5)
    t0 = time.time()
    ids = [store.add_alert(alert(t0 + i, n=i)) for i in range(8)]
    assert [a["n"] for a in store.alerts()] == [7, 6, 5, 4, 3]
    assert [a["id"] for a in store.alerts()] == ids[:2:-1]


def test_sqlite_state_survives_a_restart(tmp_path):
    path = tmp_path / "guard.sqlite"
    now = time.time()
    first = SqliteGuardStore(path)
    first.append("alice", event(now, record="C-1"))
    first.set_lock("alice", now + 600, "sweep")
    first.set_mark("alice", "escalation", "warned", now + 600)
    old_id = first.add_alert(alert(now))
    first.close()

    again = SqliteGuardStore(path)  # a new process would do exactly this
    assert [e["record"] for e in again.events("alice", 0)] == ["C-1"]
    assert again.get_lock("alice", now) == (now + 600, "sweep")
    assert again.get_mark("alice", "escalation", now) == "warned"
    new_id = again.add_alert(alert(now))
    assert new_id != old_id and [a["id"] for a in again.alerts()] == [new_id, old_id]
    again.close()


WRITER = """
import json, sys
from pathlib import Path
from assistant.guard.state import RedisGuardStore, SqliteGuardStore
backend, where, prefix, now = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
store = SqliteGuardStore(Path(where)) if backend == "sqlite" else RedisGuardStore(where, prefix=prefix)
for i in range(3):
    store.append("mallory", {"ts": now + i, "model_id": "credit-default", "n": i})
store.set_lock("mallory", now + 600, "locked by the other process")
print(store.add_alert({"ts": now, "principal": "mallory", "model_id": "credit-default", "kind": "extraction",
                       "level": "high", "detail": "sweep", "queries": []}))
store.close()
"""


def test_state_is_shared_between_processes(backend, make_store, request):
    store = make_store()
    where = str(store.path) if backend == "sqlite" else request.getfixturevalue("redis_url")
    prefix = getattr(store, "prefix", "")
    now = time.time()
    store.append("mallory", {"ts": now - 1, "model_id": "credit-default", "n": -1})
    done = subprocess.run([sys.executable, "-c", WRITER, backend, where, prefix, repr(now)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [e["n"] for e in store.events("mallory", 0)] == [-1, 0, 1, 2]
    assert store.get_lock("mallory", now) == (now + 600, "locked by the other process")
    assert [a["id"] for a in store.alerts(principal="mallory")] == [done.stdout.strip()]


def test_concurrent_appends_lose_nothing(store):
    now = time.time()
    threads, per_thread = 6, 40

    def work(t: int) -> None:
        for i in range(per_thread):
            store.append("shared", event(now + i * 0.001, t=t, i=i))
            store.append(f"own-{t}", event(now + i * 0.001, i=i))

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    shared = store.events("shared", 0)
    assert len(shared) == threads * per_thread
    assert {(e["t"], e["i"]) for e in shared} == {(t, i) for t in range(threads) for i in range(per_thread)}
    assert [e["ts"] for e in shared] == sorted(e["ts"] for e in shared)
    for t in range(threads):
        assert [e["i"] for e in store.events(f"own-{t}", 0)] == list(range(per_thread))


def every_call(store) -> list:
    now = time.time()
    return [
        lambda: store.ping(),
        lambda: store.append("alice", event(now)),
        lambda: store.events("alice", 0),
        lambda: store.set_lock("alice", now + 60, "x"),
        lambda: store.get_lock("alice", now),
        lambda: store.clear_lock("alice"),
        lambda: store.set_mark("alice", "k", "v", now + 60),
        lambda: store.get_mark("alice", "k", now),
        lambda: store.add_alert(alert(now)),
        lambda: store.alerts(),
    ]


def test_a_stopped_redis_is_unavailable_and_recovers_when_restarted(tmp_path):
    server = start_redis_server(tmp_path / "redis")
    store = RedisGuardStore(server.url, prefix="recover:")
    try:
        now = time.time()
        store.append("alice", event(now))
        store.ping()
        server.stop()
        for call in every_call(store):
            started = time.monotonic()
            with pytest.raises(Unavailable, match="^guard state store unavailable: redis at 127.0.0.1:"):
                call()
            assert time.monotonic() - started < 3  # a dead store must not stall a request

        server.start()  # same port, empty (nothing is saved)
        store.ping()
        assert store.events("alice", 0) == []
        store.append("alice", event(now, record="after"))
        assert [e["record"] for e in store.events("alice", 0)] == ["after"]
        store.set_lock("alice", now + 60, "sweep")
        assert store.get_lock("alice", now) == (now + 60, "sweep")
        assert len(store.alerts()) == 0 and store.add_alert(alert(now))
    finally:
        store.close()
        server.stop()


def test_the_first_call_after_a_quiet_redis_restart_succeeds(tmp_path):
    # A connection pooled before the restart must not fail the first request after it.
    server = start_redis_server(tmp_path / "redis")
    store = RedisGuardStore(server.url, prefix="quiet:")
    try:
        store.ping()
        server.stop()
        server.start()
        store.append("alice", event(time.time(), record="first"))
        assert [e["record"] for e in store.events("alice", 0)] == ["first"]
    finally:
        store.close()
        server.stop()


def test_a_redis_that_never_ran_is_unavailable():
    store = RedisGuardStore(f"redis://127.0.0.1:{free_port()}/0")
    for call in every_call(store):
        with pytest.raises(Unavailable, match="^guard state store unavailable"):
            call()


def test_an_unusable_sqlite_path_is_unavailable(tmp_path):
    (tmp_path / "not-a-dir").write_text("a file where the state folder should be")
    store = SqliteGuardStore(tmp_path / "not-a-dir" / "guard.sqlite")
    for call in every_call(store):
        with pytest.raises(Unavailable, match="^guard state store unavailable"):
            call()


def test_sqlite_recovers_after_its_file_comes_back(tmp_path):
    blocker = tmp_path / "state"
    blocker.write_text("in the way")
    store = SqliteGuardStore(blocker / "guard.sqlite")
    with pytest.raises(Unavailable):
        store.ping()
    blocker.unlink()
    store.append("alice", event(time.time(), record="ok"))  # reconnects on the next call
    assert [e["record"] for e in store.events("alice", 0)] == ["ok"]
    store.close()


def test_settings_choose_the_backend(tmp_path, redis_url):
    embedded = open_guard_store(load_settings(data_dir=tmp_path, redis_url=""))
    assert isinstance(embedded, SqliteGuardStore)
    embedded.ping()
    assert (tmp_path / "state" / "guard.sqlite").is_file()
    embedded.close()

    shared = open_guard_store(load_settings(data_dir=tmp_path, redis_url=redis_url))
    assert isinstance(shared, RedisGuardStore)
    shared.ping()
    shared.close()

    with pytest.raises(ConfigError, match="MODELDESK_REDIS_URL"):
        open_guard_store(load_settings(data_dir=tmp_path, redis_url="http://127.0.0.1:6379"))
