"""Feedback on answers: which answers were issued to whom, and the thumbs up or down given on them.

One SQLite file under the data directory (or Redis when scaled out), shared by every channel (HTTP,
Slack), so feedback can only be given on an answer the caller actually received.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import redis
from pydantic import BaseModel

from assistant.redis_client import connect
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


class RedisFeedbackStore:
    """Issued answers and feedback in Redis (MODELDESK_REDIS_URL), shared by every replica and Slack worker.

    An answer is a hash that expires after ANSWER_DAYS (feedback can be given that long), plus a
    per-session pointer to the principal's latest answer; feedback rows are a list of JSON objects
    with ids from one counter. Every failure is Unavailable.
    """

    ANSWER_DAYS = 30

    def __init__(self, url: str, prefix: str = "modeldesk:feedback:", timeout: float = 1.0):
        self._redis, self._where = connect(url, timeout=timeout)
        self.prefix = prefix

    @contextmanager
    def _call(self) -> Iterator[redis.Redis]:
        try:
            yield self._redis
        except (redis.exceptions.RedisError, OSError) as exc:
            raise Unavailable(f"feedback store unavailable: redis at {self._where}: {exc}") from None

    def _latest_key(self, principal: str, session_id: str) -> str:
        return f"{self.prefix}latest:{quote(principal, safe='')}:{quote(session_id, safe='')}"

    def issued(self, answer_id: str, session_id: str, principal: str, role: str, endpoint: str, refused: bool) -> None:
        ttl = self.ANSWER_DAYS * 86400
        with self._call() as r:
            pipe = r.pipeline(transaction=True)
            pipe.hset(self.prefix + "answer:" + answer_id, mapping={
                "session_id": session_id, "principal": principal, "role": role, "endpoint": endpoint,
                "refused": int(refused), "created": time.time()})
            pipe.expire(self.prefix + "answer:" + answer_id, ttl)
            pipe.set(self._latest_key(principal, session_id), answer_id, ex=ttl)
            pipe.execute()

    def add(self, *, principal: str, role: str, rating: str, comment: str | None, answer_id: str | None,
            session_id: str | None) -> tuple[int, str]:
        """Store feedback on one of `principal`'s answers (by id, or the latest in a session)."""
        asked = answer_id
        with self._call() as r:
            if not answer_id and session_id:
                answer_id = r.get(self._latest_key(principal, session_id))
            row = r.hgetall(self.prefix + "answer:" + answer_id) if answer_id else {}
            if not row or row.get("principal") != principal:
                what = f"answer {asked!r}" if asked else f"session {session_id!r}"
                raise NotFound(f"no {what} was given to you; send the answer_id returned with the answer")
            feedback_id = int(r.incr(self.prefix + "seq"))
            entry = {"id": feedback_id, "answer_id": answer_id, "session_id": row["session_id"],
                     "principal": principal, "role": role, "rating": rating, "comment": comment,
                     "created": time.time()}
            pipe = r.pipeline(transaction=True)
            pipe.rpush(self.prefix + "entries", json.dumps(entry))
            pipe.hincrby(self.prefix + "counts", rating, 1)
            pipe.execute()
        return feedback_id, answer_id

    def entries(self, answer_id: str | None = None) -> list[dict]:
        with self._call() as r:
            rows = [json.loads(line) for line in r.lrange(self.prefix + "entries", 0, -1)]
        rows.sort(key=lambda e: e["id"])
        return [e for e in rows if answer_id is None or e["answer_id"] == answer_id]

    def counts(self) -> dict[str, int]:
        with self._call() as r:
            got = r.hgetall(self.prefix + "counts")
        return {"up": 0, "down": 0, **{k: int(v) for k, v in got.items()}}

    def ping(self) -> None:
        with self._call() as r:
            r.ping()

    def close(self) -> None:
        self._redis.close()


def open_feedback_store(settings) -> FeedbackStore | RedisFeedbackStore:
    """Redis when MODELDESK_REDIS_URL is set, else SQLite at <data dir>/state/feedback.sqlite."""
    if settings.redis_url:
        return RedisFeedbackStore(settings.redis_url)
    return FeedbackStore(Path(settings.data_dir) / "state" / "feedback.sqlite")


# -- the report ------------------------------------------------------------------------------------
class RatedAnswer(BaseModel):
    """One rated answer, with the question it answered (from the audit log)."""

    answer_id: str
    rating: str  # "helpful" or "not helpful"
    comment: str | None = None
    principal: str
    role: str
    rated_at: str
    question: str | None = None  # None when the audit log no longer holds the answer
    model_id: str | None = None
    operation: str = "unknown"
    channel: str | None = None


class FeedbackGroup(BaseModel):
    model_id: str | None
    operation: str
    helpful: int = 0
    not_helpful: int = 0


class FeedbackDay(BaseModel):
    day: str  # YYYY-MM-DD (UTC)
    helpful: int = 0
    not_helpful: int = 0


class FeedbackReport(BaseModel):
    """Which answers were rated unhelpful, by operation and model, with the questions."""

    model_id: str | None = None
    since: str | None = None
    helpful: int = 0
    not_helpful: int = 0
    groups: list[FeedbackGroup] = []  # most unhelpful first
    days: list[FeedbackDay] = []  # oldest first
    unhelpful: list[RatedAnswer] = []  # newest first


def _operation(record: Any) -> str:
    """What the answer did, in the tool names of the contract ("predict+explain"); refusals and plain
    answers (help, scope) have names of their own."""
    if record is None:
        return "unknown"
    names = list(dict.fromkeys(t.name for t in record.tool_calls))
    if names:
        return "+".join(names)
    return "refused" if record.verdict in ("refused", "locked") else "no tool"


def _answers(audit: Any, answer_ids: set[str], page: int = 1000) -> dict[str, Any]:
    """Audit records of the given answers, read page by page from the start of the log."""
    found: dict[str, Any] = {}
    seq = 0
    while answer_ids - set(found):
        rows = audit.entries(since_seq=seq, limit=page)
        for r in rows:
            if r.answer_id in answer_ids:
                found[r.answer_id] = r
        if len(rows) < page:
            break
        seq = rows[-1].seq
    return found


def feedback_report(store: Any, audit: Any = None, *, model_id: str | None = None, since: float | None = None,
                    limit: int = 50) -> FeedbackReport:
    """Ratings joined with the questions they rated (via the audit log, by answer id), grouped by model
    and operation, per day, and the unhelpful answers themselves (newest first, at most `limit`)."""
    import datetime as dt

    def day(ts: float) -> str:
        return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d")

    def at(ts: float) -> str:
        return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="seconds")

    rows = [e for e in store.entries() if since is None or float(e["created"]) >= since]
    records = _answers(audit, {e["answer_id"] for e in rows}) if audit is not None and rows else {}
    report = FeedbackReport(model_id=model_id, since=at(since) if since is not None else None)
    groups: dict[tuple[str | None, str], FeedbackGroup] = {}
    days: dict[str, FeedbackDay] = {}
    for e in rows:
        record = records.get(e["answer_id"])
        answered_model = record.model_id if record is not None else None
        if model_id is not None and answered_model != model_id:
            continue
        helpful = e["rating"] == "up"
        operation = _operation(record)
        group = groups.setdefault((answered_model, operation), FeedbackGroup(model_id=answered_model, operation=operation))
        bucket = days.setdefault(day(float(e["created"])), FeedbackDay(day=day(float(e["created"]))))
        if helpful:
            report.helpful += 1
            group.helpful += 1
            bucket.helpful += 1
            continue
        report.not_helpful += 1
        group.not_helpful += 1
        bucket.not_helpful += 1
        report.unhelpful.append(RatedAnswer(
            answer_id=e["answer_id"], rating="not helpful", comment=e.get("comment"), principal=e["principal"],
            role=e["role"], rated_at=at(float(e["created"])), question=record.question if record is not None else None,
            model_id=answered_model, operation=operation, channel=record.channel if record is not None else None))
    report.groups = sorted(groups.values(), key=lambda g: (-g.not_helpful, -(g.helpful + g.not_helpful), g.operation))
    report.days = [days[k] for k in sorted(days)]
    report.unhelpful = list(reversed(report.unhelpful))[:limit]
    return report
