"""Where monitoring keeps its state: recent inputs, provenance records and trigger events.

SQLite under the data directory by default (one machine); Redis when `MODELDESK_REDIS_URL` is set
(state shared by many API replicas and Slack workers). Every backend failure is `Unavailable`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from assistant.errors import Unavailable

CAPACITY = 5000  # inputs kept per model; drift and anomalies read the newest `window` of them


class Observation(BaseModel):
    """One scored input row: when, for which model, which stored record (if any), from which tool."""

    ts: float
    model_id: str
    record_id: str | None = None
    source: str = "predict"
    row: dict[str, Any]


class Event(BaseModel):
    ts: float
    model_id: str
    kind: str
    payload: dict[str, Any]


class MonitoringStore(Protocol):
    def add(self, observations: list[Observation]) -> None: ...
    def recent(self, model_id: str, limit: int) -> list[Observation]: ...
    def get(self, key: str) -> dict[str, Any] | None: ...
    def put(self, key: str, value: dict[str, Any]) -> None: ...
    def append_event(self, event: Event) -> None: ...
    def events(self, model_id: str, kind: str, limit: int = 20) -> list[Event]: ...
    def clear(self, model_id: str) -> None: ...


class SqliteStore:
    """The embedded default: one SQLite file (WAL) shared by every thread and worker process.

    Each thread keeps its own connection (opening one costs more than the insert it serves); after
    an error it is dropped and reopened on the next call. Inputs are trimmed to the capacity every
    TRIM_EVERY appends per connection, so a model holds at most about capacity + TRIM_EVERY rows.
    """

    TRIM_EVERY = 64

    def __init__(self, path: Path, capacity: int = CAPACITY):
        self.path, self.capacity = Path(path), capacity
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.executescript(
                    "CREATE TABLE IF NOT EXISTS inputs (id INTEGER PRIMARY KEY AUTOINCREMENT, model_id TEXT, ts REAL,"
                    " record_id TEXT, source TEXT, row TEXT);"
                    "CREATE INDEX IF NOT EXISTS inputs_model ON inputs (model_id, id);"
                    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);"
                    "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, model_id TEXT, kind TEXT,"
                    " ts REAL, payload TEXT);"
                    "CREATE INDEX IF NOT EXISTS events_model ON events (model_id, kind, id);")
        except (sqlite3.Error, OSError) as exc:
            raise Unavailable(f"the monitoring store {self.path} cannot be opened ({exc})") from None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # WAL keeps the file consistent; no fsync per scored input
        return db

    def _run(self, fn):
        db = getattr(self._local, "db", None)
        try:
            if db is None:
                db = self._local.db = self._connect()
                self._local.appends = 0
            with db:
                return fn(db)
        except (sqlite3.Error, OSError) as exc:
            self._local.db = None
            if db is not None:
                try:
                    db.close()
                except sqlite3.Error:
                    pass
            raise Unavailable(f"the monitoring store {self.path} is unavailable ({exc})") from None

    def add(self, observations: list[Observation]) -> None:
        if not observations:
            return

        def write(db: sqlite3.Connection) -> None:
            db.executemany("INSERT INTO inputs (model_id, ts, record_id, source, row) VALUES (?, ?, ?, ?, ?)",
                           [(o.model_id, o.ts, o.record_id, o.source, json.dumps(o.row, default=str))
                            for o in observations])
            self._local.appends = getattr(self._local, "appends", 0) + 1
            if self._local.appends % self.TRIM_EVERY:
                return
            for model_id in {o.model_id for o in observations}:
                db.execute("DELETE FROM inputs WHERE model_id = ? AND id <= (SELECT id FROM inputs WHERE model_id = ?"
                           " ORDER BY id DESC LIMIT 1 OFFSET ?)", (model_id, model_id, self.capacity))

        self._run(write)

    def recent(self, model_id: str, limit: int) -> list[Observation]:
        limit = min(limit, self.capacity)  # rows past the capacity wait for the next trim; never read
        rows = self._run(lambda db: db.execute(
            "SELECT ts, record_id, source, row FROM inputs WHERE model_id = ? ORDER BY id DESC LIMIT ?",
            (model_id, limit)).fetchall())
        return [Observation(ts=ts, model_id=model_id, record_id=rid, source=src, row=json.loads(row))
                for ts, rid, src, row in reversed(rows)]

    def get(self, key: str) -> dict[str, Any] | None:
        row = self._run(lambda db: db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone())
        return json.loads(row[0]) if row else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._run(lambda db: db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                        (key, json.dumps(value, default=str))))

    def append_event(self, event: Event) -> None:
        self._run(lambda db: db.execute("INSERT INTO events (model_id, kind, ts, payload) VALUES (?, ?, ?, ?)",
                                        (event.model_id, event.kind, event.ts, json.dumps(event.payload, default=str))))

    def events(self, model_id: str, kind: str, limit: int = 20) -> list[Event]:
        rows = self._run(lambda db: db.execute(
            "SELECT ts, payload FROM events WHERE model_id = ? AND kind = ? ORDER BY id DESC LIMIT ?",
            (model_id, kind, limit)).fetchall())
        return [Event(ts=ts, model_id=model_id, kind=kind, payload=json.loads(p)) for ts, p in rows]

    def clear(self, model_id: str) -> None:
        self._run(lambda db: db.execute("DELETE FROM inputs WHERE model_id = ?", (model_id,)))


class RedisStore:
    """Scaled out: a capped list of inputs per model, a hash of records and a list of events per model."""

    def __init__(self, url: str, capacity: int = CAPACITY, prefix: str = "modeldesk:monitoring"):
        import redis

        self.capacity, self.prefix = capacity, prefix
        self._errors = (redis.RedisError, OSError)
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.url = url.split("@")[-1]  # never show credentials in a message

    def _run(self, fn):
        try:
            return fn(self.client)
        except self._errors as exc:
            raise Unavailable(f"the monitoring store (Redis at {self.url}) is unavailable ({exc})") from None

    def _key(self, *parts: str) -> str:
        return ":".join([self.prefix, *parts])

    def add(self, observations: list[Observation]) -> None:
        if not observations:
            return

        def write(client) -> None:
            pipe = client.pipeline()
            for o in observations:
                pipe.rpush(self._key("inputs", o.model_id), o.model_dump_json())
            for model_id in {o.model_id for o in observations}:
                pipe.ltrim(self._key("inputs", model_id), -self.capacity, -1)
            pipe.execute()

        self._run(write)

    def recent(self, model_id: str, limit: int) -> list[Observation]:
        raw = self._run(lambda c: c.lrange(self._key("inputs", model_id), -limit, -1)) if limit > 0 else []
        return [Observation.model_validate_json(r) for r in raw]

    def get(self, key: str) -> dict[str, Any] | None:
        raw = self._run(lambda c: c.hget(self._key("meta"), key))
        return json.loads(raw) if raw else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._run(lambda c: c.hset(self._key("meta"), key, json.dumps(value, default=str)))

    def append_event(self, event: Event) -> None:
        self._run(lambda c: c.lpush(self._key("events", event.model_id, event.kind), event.model_dump_json()))

    def events(self, model_id: str, kind: str, limit: int = 20) -> list[Event]:
        raw = self._run(lambda c: c.lrange(self._key("events", model_id, kind), 0, limit - 1))
        return [Event.model_validate_json(r) for r in raw]

    def clear(self, model_id: str) -> None:
        self._run(lambda c: c.delete(self._key("inputs", model_id)))


def open_store(data_dir: Path, redis_url: str = "") -> MonitoringStore:
    """Redis when a URL is configured, else SQLite at `<data dir>/state/monitoring.sqlite`."""
    if redis_url:
        return RedisStore(redis_url)
    return SqliteStore(Path(data_dir) / "state" / "monitoring.sqlite")

