"""The window store: SQLite embedded, Redis when configured (a real redis-server); failures are Unavailable,
and the monitor's `observe` never lets them reach an answer."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from assistant.config import load_settings
from assistant.errors import Unavailable
from assistant.models import predict, whatif
from assistant.monitoring import Monitor
from assistant.monitoring.store import Event, Observation, RedisStore, SqliteStore


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def redis_url():
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = _port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    yield url, process
    process.kill()
    process.wait()


def _exercise(store) -> None:
    rows = [Observation(ts=float(i), model_id="m", record_id=f"R-{i}", source="record", row={"x": i}) for i in range(12)]
    store.add(rows)
    recent = store.recent("m", 5)
    assert [o.row["x"] for o in recent] == [7, 8, 9, 10, 11]  # oldest first, newest last
    assert len(store.recent("m", 100)) == 10  # capacity keeps the newest
    assert store.get("provenance:m") is None
    store.put("provenance:m", {"version": "1"})
    assert store.get("provenance:m") == {"version": "1"}
    store.append_event(Event(ts=1.0, model_id="m", kind="retraining", payload={"reasons": ["a"]}))
    store.append_event(Event(ts=2.0, model_id="m", kind="retraining", payload={"reasons": []}))
    assert [e.ts for e in store.events("m", "retraining")] == [2.0, 1.0]
    store.clear("m")
    assert store.recent("m", 5) == []


def test_sqlite_store(tmp_path):
    _exercise(SqliteStore(tmp_path / "monitoring.sqlite", capacity=10))


def test_redis_store(redis_url):
    _exercise(RedisStore(redis_url[0], capacity=10))


def test_monitor_uses_redis_when_configured_and_survives_it_going_down(redis_url, demo_registry, tmp_path, caplog):
    url, process = redis_url
    monitor = Monitor(load_settings(data_dir=tmp_path, redis_url=url), demo_registry)
    assert isinstance(monitor.store, RedisStore)
    model = demo_registry.get("credit-default")
    monitor.observe("predict", predict.predict_record(model, "C-10293"))
    monitor.observe("what_if", whatif.what_if(model, "C-10293", {"balance": {"decrease": 500}}))
    window = monitor.window(model)
    # C-10293 scored twice counts once; the what-if's new values are an input of their own.
    assert window.rows == 2 and window.frame["balance"].iloc[1] == window.frame["balance"].iloc[0] - 500

    process.kill()
    process.wait()
    monitor.observe("predict", predict.predict_record(model, "C-10293"))  # logged, not raised
    assert "monitoring could not record predict" in caplog.text
    with pytest.raises(Unavailable, match="Redis"):
        monitor.window(model)
    from assistant.posture import assess

    posture = assess(model, [], monitor=monitor)  # posture still answers, and says what it could not measure
    assert posture.drift is None and any("could not" in r for r in posture.reasons)
