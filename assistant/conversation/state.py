"""Conversation state: what a session is talking about, carried over to follow-ups."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import redis
from pydantic import BaseModel, Field

from assistant.redis_client import connect
from assistant.errors import Unavailable
from assistant.models.filters import Filter

log = logging.getLogger("modeldesk.sessions")
SESSION_TTL_SECONDS = 7 * 24 * 3600
UNAVAILABLE = "the conversation store is unavailable right now"


class SessionState(BaseModel):
    """The current model, record and cohort of a conversation, and what was asked last."""

    model_id: str | None = None
    record_id: str | None = None
    filters: list[Filter] = Field(default_factory=list)
    last_op: str | None = None
    last_feature: str | None = None
    last_changes: dict[str, Any] = Field(default_factory=dict)
    last_args: dict[str, Any] = Field(default_factory=dict, description="Arguments of the last call, for follow-ups.")
    pending: str | None = Field(None, description="A question waiting for the answer to a clarifying question.")
    turns: int = 0
    memory_unavailable: bool = Field(False, exclude=True, description="The session store was down: earlier turns unknown.")

    def reset(self) -> "SessionState":
        return SessionState(turns=self.turns)


class SessionStore(Protocol):
    def load(self, session_id: str) -> SessionState: ...
    def save(self, session_id: str, state: SessionState) -> None: ...


class MemorySessions:
    """Sessions in this process only (tests, the CLI)."""

    def __init__(self) -> None:
        self._data: dict[str, str] = {}
        self._lock = threading.Lock()

    def load(self, session_id: str) -> SessionState:
        with self._lock:
            raw = self._data.get(session_id)
        return SessionState.model_validate_json(raw) if raw else SessionState()

    def save(self, session_id: str, state: SessionState) -> None:
        with self._lock:
            self._data[session_id] = state.model_dump_json()


class SqliteSessions:
    """Sessions in a SQLite file under the data directory (the embedded default; survives restarts)."""

    def __init__(self, path: Path, ttl_seconds: int = SESSION_TTL_SECONDS):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.ttl = path, ttl_seconds
        self._run(lambda db: db.execute("CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, state TEXT, "
                                        "updated REAL)"))
        # Held open for the store's life: when a turn's connection closes it is then not the file's last,
        # so closing does not checkpoint the WAL (fsyncs on every turn).
        try:
            self._anchor: sqlite3.Connection | None = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
            self._anchor.execute("SELECT count(*) FROM sqlite_master").fetchall()  # maps the WAL index: counts as open
        except sqlite3.Error:
            self._anchor = None

    def _run(self, fn):
        """`fn(db)` in a transaction on a fresh connection (a file replaced or broken under a running
        server is noticed at once); any SQLite error is Unavailable."""
        db = None
        try:
            db = sqlite3.connect(self.path, timeout=10)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL keeps the file consistent; no fsync per turn
            with db:
                return fn(db)
        except sqlite3.Error as exc:
            raise Unavailable(f"{UNAVAILABLE}: {self.path}: {exc}") from None
        finally:
            if db is not None:
                db.close()

    def load(self, session_id: str) -> SessionState:
        row = self._run(lambda db: db.execute("SELECT state, updated FROM sessions WHERE id = ?",
                                              (session_id,)).fetchone())
        if not row or time.time() - row[1] > self.ttl:
            return SessionState()
        return SessionState.model_validate(json.loads(row[0]))

    def save(self, session_id: str, state: SessionState) -> None:
        payload = state.model_dump_json()
        self._run(lambda db: db.execute("INSERT OR REPLACE INTO sessions (id, state, updated) VALUES (?, ?, ?)",
                                        (session_id, payload, time.time())))

    def ping(self) -> None:
        """Raise Unavailable when the file cannot be read."""
        self.load("readyz-probe")


class RedisSessions:
    """Sessions in Redis (MODELDESK_REDIS_URL), shared by every API replica and Slack worker.

    One key per session holding its JSON state, expiring a TTL after the last answer. Short
    timeouts and one immediate retry (for a connection left stale by a server restart) keep a dead
    server from stalling answers; every failure is Unavailable.
    """

    def __init__(self, url: str, prefix: str = "modeldesk:session:", ttl_seconds: int = SESSION_TTL_SECONDS,
                 timeout: float = 1.0):
        self._redis, self._where = connect(url, timeout=timeout)
        self.prefix, self.ttl = prefix, ttl_seconds

    def _call(self, fn, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (redis.exceptions.RedisError, OSError) as exc:
            raise Unavailable(f"{UNAVAILABLE}: redis at {self._where}: {exc}") from exc

    def load(self, session_id: str) -> SessionState:
        raw = self._call(self._redis.get, self.prefix + session_id)
        return SessionState.model_validate_json(raw) if raw else SessionState()

    def save(self, session_id: str, state: SessionState) -> None:
        self._call(self._redis.set, self.prefix + session_id, state.model_dump_json(), ex=self.ttl)

    def ping(self) -> None:
        self._call(self._redis.ping)

    def close(self) -> None:
        self._redis.close()


class ForgetfulWhenDown:
    """A session store that, while its backend is down, answers without the conversation's memory.

    A question that needs no earlier turn is still answered (documents always; predictions as the
    guardrails allow) instead of failing the request; the outage is logged, and `ping` still
    reports it (readiness).
    """

    def __init__(self, store: Any):
        self.store = store

    def load(self, session_id: str) -> SessionState:
        try:
            return self.store.load(session_id)
        except Unavailable as exc:
            log.warning("%s; answering without the conversation's earlier turns", exc.message)
            return SessionState(memory_unavailable=True)

    def save(self, session_id: str, state: SessionState) -> None:
        try:
            self.store.save(session_id, state)
        except Unavailable as exc:
            log.warning("%s; this turn is not remembered", exc.message)

    def ping(self) -> None:
        ping = getattr(self.store, "ping", None)
        if ping is not None:
            ping()

    def close(self) -> None:
        close = getattr(self.store, "close", None)
        if close is not None:
            close()


def open_sessions(settings: Any) -> SqliteSessions | RedisSessions:
    """Redis when MODELDESK_REDIS_URL is set, else SQLite at <data dir>/state/sessions.sqlite."""
    if settings.redis_url:
        return RedisSessions(settings.redis_url)
    return SqliteSessions(Path(settings.data_dir) / "state" / "sessions.sqlite")


def as_filters(items: list[Any]) -> list[Filter]:
    return [f if isinstance(f, Filter) else Filter.model_validate(f) for f in items]
