"""Feedback on answers: which answers were issued to whom, and the thumbs up or down given on them.

One SQLite file under the data directory, shared by every channel (HTTP, Slack), so feedback can
only be given on an answer the caller actually received.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from assistant.errors import NotFound, Unavailable


class FeedbackStore:
    """Issued answers and the feedback on them, in one SQLite file under the data directory."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # One connection shared by the request threads (SQLite serialises writers anyway); opening a
        # connection per answer cost more than the insert itself.
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS answers (answer_id TEXT PRIMARY KEY, session_id TEXT, "
                       "principal TEXT, role TEXT, endpoint TEXT, refused INTEGER, created REAL)")
            db.execute("CREATE INDEX IF NOT EXISTS answers_session ON answers (principal, session_id, created)")
            db.execute("CREATE TABLE IF NOT EXISTS feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                       "answer_id TEXT, session_id TEXT, principal TEXT, role TEXT, rating TEXT, comment TEXT, "
                       "created REAL)")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """The shared connection, one thread at a time, inside a transaction."""
        with self._lock:
            try:
                if self._db is None:
                    self._db = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
                    self._db.execute("PRAGMA journal_mode=WAL")
                    self._db.execute("PRAGMA synchronous=NORMAL")  # WAL keeps it consistent; an fsync per answer is not worth it
                with self._db:
                    yield self._db
            except sqlite3.Error as exc:
                self._db = None  # reconnect next time (the file may have been replaced)
                raise Unavailable(f"state store unavailable: {exc}") from None

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def issued(self, answer_id: str, session_id: str, principal: str, role: str, endpoint: str, refused: bool) -> None:
        with self._connect() as db:
            db.execute("INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (answer_id, session_id, principal, role, endpoint, int(refused), time.time()))

    def add(self, *, principal: str, role: str, rating: str, comment: str | None, answer_id: str | None,
            session_id: str | None) -> tuple[int, str]:
        """Store feedback on one of `principal`'s answers (by id, or the latest in a session)."""
        with self._connect() as db:
            if answer_id:
                row = db.execute("SELECT answer_id, session_id FROM answers WHERE answer_id = ? AND principal = ?",
                                 (answer_id, principal)).fetchone()
            else:
                row = db.execute("SELECT answer_id, session_id FROM answers WHERE principal = ? AND session_id = ? "
                                 "ORDER BY created DESC LIMIT 1", (principal, session_id)).fetchone()
            if row is None:
                what = f"answer {answer_id!r}" if answer_id else f"session {session_id!r}"
                raise NotFound(f"no {what} was given to you; send the answer_id returned with the answer")
            cursor = db.execute("INSERT INTO feedback (answer_id, session_id, principal, role, rating, comment, created)"
                                " VALUES (?, ?, ?, ?, ?, ?, ?)", (row[0], row[1], principal, role, rating, comment,
                                                                  time.time()))
            return int(cursor.lastrowid), row[0]

    def entries(self, answer_id: str | None = None) -> list[dict]:
        query = "SELECT id, answer_id, session_id, principal, role, rating, comment, created FROM feedback"
        with self._connect() as db:
            cursor = db.execute(query + (" WHERE answer_id = ?" if answer_id else "") + " ORDER BY id",
                                (answer_id,) if answer_id else ())
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    def counts(self) -> dict[str, int]:
        with self._connect() as db:
            rows = db.execute("SELECT rating, COUNT(*) FROM feedback GROUP BY rating").fetchall()
        return {"up": 0, "down": 0, **dict(rows)}

    def ping(self) -> None:
        with self._connect() as db:
            db.execute("SELECT COUNT(*) FROM answers WHERE answer_id = ''").fetchone()
