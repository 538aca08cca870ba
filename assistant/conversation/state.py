"""Conversation state: what a session is talking about, carried over to follow-ups."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from assistant.models.filters import Filter


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

    def __init__(self, path: Path, ttl_seconds: int = 7 * 24 * 3600):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.ttl = path, ttl_seconds
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, state TEXT, updated REAL)")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def load(self, session_id: str) -> SessionState:
        with self._connect() as db:
            row = db.execute("SELECT state, updated FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if not row or time.time() - row[1] > self.ttl:
            return SessionState()
        return SessionState.model_validate(json.loads(row[0]))

    def save(self, session_id: str, state: SessionState) -> None:
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO sessions (id, state, updated) VALUES (?, ?, ?)",
                       (session_id, state.model_dump_json(), time.time()))


def as_filters(items: list[Any]) -> list[Filter]:
    return [f if isinstance(f, Filter) else Filter.model_validate(f) for f in items]
