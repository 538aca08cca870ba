"""Guard state: per-principal query histories, locks, escalation marks and alerts, behind one interface.

Two backends: `SqliteGuardStore` (embedded default, one file under the data directory) and
`RedisGuardStore` (shared by every server process when ModelDesk is scaled out). Timestamps are
epoch seconds from the caller's clock; pass the same clock everywhere (in production, time.time()).
Every backend failure surfaces as `Unavailable`, so a guard can decide to fail closed or open.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import redis

from assistant.redis_client import connect
from assistant.config import Settings
from assistant.errors import ConfigError, Unavailable

RETENTION_SECONDS = 7 * 24 * 3600
MAX_ALERTS = 10_000
UNAVAILABLE = "guard state store unavailable"


class GuardStore(Protocol):
    """Where the guardrails keep what they must remember between requests and across processes."""

    def append(self, principal: str, event: dict) -> None:
        """Record one event; it needs "ts" (epoch seconds) and "model_id" (str or None)."""
        ...

    def events(self, principal: str, since: float, model_id: str | None = None) -> list[dict]:
        """The principal's events with ts >= since, oldest first, only `model_id`'s when given."""
        ...

    def set_lock(self, principal: str, until: float, reason: str) -> None: ...
    def get_lock(self, principal: str, now: float) -> tuple[float, str] | None: ...
    def clear_lock(self, principal: str) -> None: ...
    def set_mark(self, principal: str, key: str, value: str, until: float) -> None: ...
    def get_mark(self, principal: str, key: str, now: float) -> str | None: ...

    def add_alert(self, alert: dict) -> str:
        """Store an alert (ts, principal, model_id, kind, level, detail, queries); returns its new id."""
        ...

    def alerts(self, since: float = 0.0, principal: str | None = None, limit: int = 100) -> list[dict]:
        """Alerts with ts >= since, newest first, each with its "id"."""
        ...

    def ping(self) -> None:
        """Raise Unavailable when the backend cannot be reached."""
        ...

    def close(self) -> None: ...


def open_guard_store(settings: Settings) -> GuardStore:
    """Redis when MODELDESK_REDIS_URL is set, else SQLite at <data_dir>/state/guard.sqlite."""
    if settings.redis_url:
        try:
            return RedisGuardStore(settings.redis_url)
        except ValueError as exc:  # redis-py rejects the URL scheme or its options
            raise ConfigError(f"invalid settings: MODELDESK_REDIS_URL: {exc}") from None
    return SqliteGuardStore(settings.data_dir / "state" / "guard.sqlite")


def alert_id(ts: float, seq: int) -> str:
    """Zero-padded milliseconds, then a per-store sequence: unique, and sorting ids sorts by time."""
    return f"{max(0, int(ts * 1000)):013d}-{seq:010d}"


def _event_fields(event: dict) -> tuple[float, str | None, str]:
    if "ts" not in event or "model_id" not in event:
        raise ValueError("a guard event needs 'ts' and 'model_id'")
    return float(event["ts"]), event["model_id"], json.dumps(event, separators=(",", ":"))


def _alert_body(alert: dict) -> tuple[float, str]:
    if "ts" not in alert or "principal" not in alert:
        raise ValueError("an alert needs 'ts' and 'principal'")
    body = {k: v for k, v in alert.items() if k != "id"}
    return float(alert["ts"]), json.dumps(body, separators=(",", ":"))


_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, principal TEXT NOT NULL, ts REAL NOT NULL, model_id TEXT, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_principal_ts ON events (principal, ts);
CREATE TABLE IF NOT EXISTS locks (principal TEXT PRIMARY KEY, until REAL NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS marks (
  principal TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, until REAL NOT NULL, PRIMARY KEY (principal, key));
CREATE TABLE IF NOT EXISTS alerts (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, ts REAL NOT NULL, principal TEXT, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alerts_ts ON alerts (ts);
CREATE INDEX IF NOT EXISTS alerts_principal_ts ON alerts (principal, ts);
"""


class SqliteGuardStore:
    """Guard state in one SQLite file (WAL): the embedded default, survives restarts.

    One connection shared by all threads behind a lock; after any sqlite3 error it is dropped and
    reopened on the next call, so a transient failure does not poison the store.
    """

    # Other principals' old events are swept every this many appends (the writer's own on every append).
    SWEEP_EVERY = 256

    def __init__(self, path: Path, retention_seconds: float = RETENTION_SECONDS, max_alerts: int = MAX_ALERTS):
        self.path = Path(path)
        self.retention = float(retention_seconds)
        self.max_alerts = max_alerts
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._appends = 0

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                if self._db is None:
                    self._db = self._open()
                yield self._db
            except (sqlite3.Error, OSError) as exc:
                self._drop()
                raise Unavailable(f"{UNAVAILABLE}: {self.path}: {exc}") from exc

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=5, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _drop(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None

    def close(self) -> None:
        with self._lock:
            self._drop()

    def append(self, principal: str, event: dict) -> None:
        ts, model_id, body = _event_fields(event)
        cutoff = ts - self.retention
        with self._conn() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("INSERT INTO events (principal, ts, model_id, body) VALUES (?, ?, ?, ?)",
                           (principal, ts, model_id, body))
                db.execute("DELETE FROM events WHERE principal = ? AND ts < ?", (principal, cutoff))
                self._appends += 1
                if self._appends % self.SWEEP_EVERY == 0:
                    db.execute("DELETE FROM events WHERE ts < ?", (cutoff,))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def events(self, principal: str, since: float, model_id: str | None = None) -> list[dict]:
        sql = "SELECT body FROM events WHERE principal = ? AND ts >= ?"
        args: list[Any] = [principal, since]
        if model_id is not None:
            sql += " AND model_id = ?"
            args.append(model_id)
        with self._conn() as db:
            rows = db.execute(sql + " ORDER BY ts, seq", args).fetchall()
        return [json.loads(row[0]) for row in rows]

    def set_lock(self, principal: str, until: float, reason: str) -> None:
        with self._conn() as db:
            db.execute("INSERT OR REPLACE INTO locks (principal, until, reason) VALUES (?, ?, ?)",
                       (principal, float(until), reason))

    def get_lock(self, principal: str, now: float) -> tuple[float, str] | None:
        with self._conn() as db:
            row = db.execute("SELECT until, reason FROM locks WHERE principal = ?", (principal,)).fetchone()
        if row is None or row[0] <= now:
            return None
        return float(row[0]), row[1]

    def clear_lock(self, principal: str) -> None:
        with self._conn() as db:
            db.execute("DELETE FROM locks WHERE principal = ?", (principal,))

    def set_mark(self, principal: str, key: str, value: str, until: float) -> None:
        with self._conn() as db:
            db.execute("INSERT OR REPLACE INTO marks (principal, key, value, until) VALUES (?, ?, ?, ?)",
                       (principal, key, value, float(until)))

    def get_mark(self, principal: str, key: str, now: float) -> str | None:
        with self._conn() as db:
            row = db.execute("SELECT value, until FROM marks WHERE principal = ? AND key = ?",
                             (principal, key)).fetchone()
        if row is None or row[1] <= now:
            return None
        return row[0]

    def add_alert(self, alert: dict) -> str:
        ts, body = _alert_body(alert)
        with self._conn() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                seq = db.execute("INSERT INTO alerts (ts, principal, body) VALUES (?, ?, ?)",
                                 (ts, alert.get("principal"), body)).lastrowid
                new_id = alert_id(ts, seq)
                db.execute("UPDATE alerts SET id = ? WHERE seq = ?", (new_id, seq))
                db.execute("DELETE FROM alerts WHERE seq IN "
                           "(SELECT seq FROM alerts ORDER BY ts DESC, seq DESC LIMIT -1 OFFSET ?)", (self.max_alerts,))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return new_id

    def alerts(self, since: float = 0.0, principal: str | None = None, limit: int = 100) -> list[dict]:
        sql = "SELECT id, body FROM alerts WHERE ts >= ?"
        args: list[Any] = [since]
        if principal is not None:
            sql += " AND principal = ?"
            args.append(principal)
        args.append(max(0, limit))
        with self._conn() as db:
            rows = db.execute(sql + " ORDER BY ts DESC, seq DESC LIMIT ?", args).fetchall()
        return [{**json.loads(body), "id": id_} for id_, body in rows]

    def ping(self) -> None:
        with self._conn() as db:
            db.execute("SELECT 1").fetchone()


# Append atomically: a store-wide sequence orders equal timestamps by arrival; the same call drops
# the principal's events older than the retention and keeps the key alive for one retention.
# KEYS: events zset, sequence counter. ARGV: ts, JSON body, cutoff ts, key expiry in ms.
_APPEND = """
local seq = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], ARGV[1], string.format('%016d', seq) .. '|' .. ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return seq
"""

# KEYS: alerts zset, sequence counter. ARGV: ts, id prefix (ms), JSON body, cap.
_ADD_ALERT = """
local seq = redis.call('INCR', KEYS[2])
local id = ARGV[2] .. '-' .. string.format('%010d', seq)
redis.call('ZADD', KEYS[1], ARGV[1], id .. '|' .. ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[4]) + 1))
return id
"""


class RedisGuardStore:
    """Guard state in Redis, shared by every ModelDesk process that points at the same server.

    Per principal: a sorted set of events (score = ts, member = sequence|JSON) that expires one
    retention after its last write; locks and marks are plain keys with a PX expiry; alerts are
    one capped sorted set. Short socket timeouts and a single immediate retry (for a connection
    that went stale while the server restarted) keep a dead server from stalling requests.
    """

    def __init__(self, url: str, prefix: str = "modeldesk:guard:", retention_seconds: float = RETENTION_SECONDS,
                 max_alerts: int = MAX_ALERTS, timeout: float = 1.0):
        self.prefix = prefix
        self.retention = float(retention_seconds)
        self.max_alerts = max_alerts
        self._redis, self._where = connect(url, timeout=timeout)
        self._append = self._redis.register_script(_APPEND)
        self._add_alert = self._redis.register_script(_ADD_ALERT)

    @contextmanager
    def _call(self) -> Iterator[redis.Redis]:
        try:
            yield self._redis
        except (redis.exceptions.RedisError, OSError) as exc:
            raise Unavailable(f"{UNAVAILABLE}: redis at {self._where}: {exc}") from exc

    def _key(self, kind: str, principal: str, *rest: str) -> str:
        # Quoting keeps principals (and mark names) holding ':' from colliding with each other.
        return ":".join([self.prefix + kind, quote(principal, safe=""), *(quote(r, safe="") for r in rest)])

    def close(self) -> None:
        self._redis.close()

    def append(self, principal: str, event: dict) -> None:
        ts, _, body = _event_fields(event)
        ttl_ms = max(1, math.ceil(self.retention * 1000))
        with self._call():
            self._append(keys=[self._key("events", principal), self.prefix + "seq"],
                         args=[repr(ts), body, repr(ts - self.retention), ttl_ms])

    def events(self, principal: str, since: float, model_id: str | None = None) -> list[dict]:
        with self._call() as r:
            members = r.zrangebyscore(self._key("events", principal), repr(float(since)), "+inf")
        out = [json.loads(m.split("|", 1)[1]) for m in members]
        if model_id is not None:
            out = [e for e in out if e.get("model_id") == model_id]
        return out

    def _set_expiring(self, key: str, payload: dict, until: float) -> None:
        # The key's own expiry only collects garbage; get_* compares `until` with the caller's `now`.
        px = math.ceil((until - time.time()) * 1000)
        with self._call() as r:
            if px <= 0:
                r.delete(key)
            else:
                r.set(key, json.dumps(payload), px=px)

    def _get(self, key: str) -> dict | None:
        with self._call() as r:
            raw = r.get(key)
        return json.loads(raw) if raw else None

    def set_lock(self, principal: str, until: float, reason: str) -> None:
        self._set_expiring(self._key("lock", principal), {"until": float(until), "reason": reason}, until)

    def get_lock(self, principal: str, now: float) -> tuple[float, str] | None:
        lock = self._get(self._key("lock", principal))
        if lock is None or lock["until"] <= now:
            return None
        return float(lock["until"]), lock["reason"]

    def clear_lock(self, principal: str) -> None:
        with self._call() as r:
            r.delete(self._key("lock", principal))

    def set_mark(self, principal: str, key: str, value: str, until: float) -> None:
        self._set_expiring(self._key("mark", principal, key), {"value": value, "until": float(until)}, until)

    def get_mark(self, principal: str, key: str, now: float) -> str | None:
        mark = self._get(self._key("mark", principal, key))
        if mark is None or mark["until"] <= now:
            return None
        return mark["value"]

    def add_alert(self, alert: dict) -> str:
        ts, body = _alert_body(alert)
        with self._call():
            return self._add_alert(keys=[self.prefix + "alerts", self.prefix + "alert-seq"],
                                   args=[repr(ts), f"{max(0, int(ts * 1000)):013d}", body, self.max_alerts])

    def alerts(self, since: float = 0.0, principal: str | None = None, limit: int = 100) -> list[dict]:
        # Members with equal scores come back in reverse member order, i.e. newest id first.
        out: list[dict] = []
        page, offset = max(limit, 100), 0
        with self._call() as r:
            while len(out) < limit:
                members = r.zrevrangebyscore(self.prefix + "alerts", "+inf", repr(float(since)), start=offset, num=page)
                for member in members:
                    id_, body = member.split("|", 1)
                    alert = json.loads(body)
                    if principal is None or alert.get("principal") == principal:
                        out.append({**alert, "id": id_})
                if len(members) < page or principal is None:
                    break
                offset += page
        return out[:max(0, limit)]

    def ping(self) -> None:
        with self._call() as r:
            r.ping()
