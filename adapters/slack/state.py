"""What the Slack adapter remembers between requests: threads it answered in, deliveries already taken.

One SQLite file under the data directory (Redis when MODELDESK_REDIS_URL is set, for workers on
several machines), so every worker process agrees: a thread the bot answered in keeps being
followed after a restart, and a delivery Slack repeats (a retry, or the same message arriving as
both `app_mention` and `message`) is taken only once.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from assistant.redis_client import connect
from assistant.errors import Unavailable

log = logging.getLogger("modeldesk.slack")

THREAD_DAYS = 30  # a thread quiet for longer is no longer followed without a mention
CLAIM_HOURS = 6  # Slack retries within minutes; keys are kept a while longer
PRUNE_EVERY_S = 300


class SlackState:
    """Threads the bot is part of, and claimed delivery keys (event ids, message ids)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._pruned = 0.0
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS threads (team TEXT, channel TEXT, thread_ts TEXT, "
                       "updated REAL, PRIMARY KEY (team, channel, thread_ts))")
            db.execute("CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, created REAL)")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                if self._db is None:
                    self._db = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
                    self._db.execute("PRAGMA journal_mode=WAL")
                with self._db:
                    yield self._db
            except sqlite3.Error as exc:
                self._db = None
                raise Unavailable(f"Slack state store unavailable: {exc}") from None

    def claim(self, key: str) -> bool:
        """True the first time `key` is claimed (by any process), False on every repeat."""
        now = time.time()
        with self._connect() as db:
            if now - self._pruned > PRUNE_EVERY_S:
                self._pruned = now
                db.execute("DELETE FROM claims WHERE created < ?", (now - CLAIM_HOURS * 3600,))
                db.execute("DELETE FROM threads WHERE updated < ?", (now - THREAD_DAYS * 86400,))
            return db.execute("INSERT OR IGNORE INTO claims VALUES (?, ?)", (key, now)).rowcount == 1

    def remember_thread(self, team: str, channel: str, thread_ts: str) -> None:
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO threads VALUES (?, ?, ?, ?)", (team, channel, thread_ts, time.time()))

    def knows_thread(self, team: str, channel: str, thread_ts: str) -> bool:
        with self._connect() as db:
            row = db.execute("SELECT 1 FROM threads WHERE team = ? AND channel = ? AND thread_ts = ?",
                             (team, channel, thread_ts)).fetchone()
        return row is not None

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


class RedisSlackState:
    """The same memory in Redis (MODELDESK_REDIS_URL), shared by Slack workers on every machine:
    a claim is SET NX with an expiry, a thread a key that expires THREAD_DAYS after its last answer.

    While Redis is down the bot keeps answering rather than going silent: a delivery counts as
    new (a Slack retry may then be answered twice), a thread is followed only when the bot is
    mentioned, and the outage is logged.
    """

    def __init__(self, url: str, prefix: str = "modeldesk:slack:", timeout: float = 1.0):
        self._redis, self._where = connect(url, timeout=timeout)
        self.prefix = prefix

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (redis.exceptions.RedisError, OSError) as exc:
            raise Unavailable(f"Slack state store unavailable: {exc}") from None

    def _or(self, default, fn, *args, **kwargs):
        try:
            return self._call(fn, *args, **kwargs)
        except Unavailable as exc:
            log.warning("%s; answering without it", exc.message)
            return default

    def _thread(self, team: str, channel: str, thread_ts: str) -> str:
        return f"{self.prefix}thread:{team}:{channel}:{thread_ts}"

    def claim(self, key: str) -> bool:
        """True the first time `key` is claimed (by any worker), False on every repeat."""
        return bool(self._or(True, self._redis.set, self.prefix + "claim:" + key, "1", nx=True, ex=CLAIM_HOURS * 3600))

    def remember_thread(self, team: str, channel: str, thread_ts: str) -> None:
        self._or(None, self._redis.set, self._thread(team, channel, thread_ts), "1", ex=THREAD_DAYS * 86400)

    def knows_thread(self, team: str, channel: str, thread_ts: str) -> bool:
        return bool(self._or(False, self._redis.exists, self._thread(team, channel, thread_ts)))

    def close(self) -> None:
        self._redis.close()


def open_slack_state(settings) -> SlackState | RedisSlackState:
    """Redis when MODELDESK_REDIS_URL is set, else SQLite at <data dir>/state/slack.sqlite."""
    if settings.redis_url:
        return RedisSlackState(settings.redis_url)
    return SlackState(Path(settings.data_dir) / "state" / "slack.sqlite")
