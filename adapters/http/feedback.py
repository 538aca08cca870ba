"""Feedback on answers: thumbs up or down with an optional comment, stored in SQLite and counted.

The store also remembers which answer ids were issued to whom, so feedback can only be given on
an answer the caller actually received.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, model_validator

from adapters.http.auth import CallerDep
from adapters.http.errors import responses
from assistant.errors import NotFound, Unavailable

ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
COMPLETION_PREFIX = "chatcmpl-"


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


class FeedbackRequest(BaseModel):
    """Thumbs up or down on an answer: name it by `answer_id` (or the latest answer in `session_id`)."""

    answer_id: str | None = Field(None, pattern=ID_PATTERN, description="The `answer_id` of a /v1/chat answer, or "
                                  "the `id` of a /v1/chat/completions response.")
    session_id: str | None = Field(None, pattern=ID_PATTERN, description="Rate the latest answer in this session.")
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _names_an_answer(self) -> "FeedbackRequest":
        if not self.answer_id and not self.session_id:
            raise ValueError("give the answer_id (or session_id) of the answer you are rating")
        return self


class FeedbackReceipt(BaseModel):
    feedback_id: int
    answer_id: str
    rating: Literal["up", "down"]


router = APIRouter(tags=["chat"])


@router.post("/v1/feedback", status_code=201, response_model=FeedbackReceipt, summary="Rate an answer",
             responses=responses(400, 401, 404, 413, 422, 429, 503))
def post_feedback(body: FeedbackRequest, caller: CallerDep, request: Request) -> FeedbackReceipt:
    """Store a thumbs up or down (with an optional comment) on an answer you received."""
    services = request.app.state.services
    answer_id = body.answer_id.removeprefix(COMPLETION_PREFIX) if body.answer_id else None
    feedback_id, answer_id = services.feedback.add(
        principal=caller.principal.id, role=caller.principal.role, rating=body.rating,
        comment=(body.comment or "").strip() or None, answer_id=answer_id, session_id=body.session_id)
    services.metrics.feedback.labels(rating=body.rating).inc()
    return FeedbackReceipt(feedback_id=feedback_id, answer_id=answer_id, rating=body.rating)
