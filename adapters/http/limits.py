"""Request limits: a per-principal token bucket (429) and a request body size cap (413)."""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any, Callable

from starlette.concurrency import run_in_threadpool

from adapters.http.errors import error_json

log = logging.getLogger("modeldesk.http")
Scope = dict[str, Any]
ASGIApp = Callable[..., Any]


class RateLimiter:
    """One token bucket per principal: `per_minute` requests in a burst, refilled evenly over a minute.

    In-process, for one server; `RedisRateLimiter` shares the buckets between replicas.
    """

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill time)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def take(self, key: str) -> float:
        """Spend one token for `key`: 0.0 when allowed, else the seconds until a token is available."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    async def take_async(self, key: str) -> float:
        return self.take(key)

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))


# The bucket update as one atomic step in Redis, timed by Redis's own clock so replicas whose clocks
# differ still share one bucket. Returns the wait in microseconds (0 when a request was taken).
_TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local last = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - last) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate * 1000000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return wait
"""


class RedisRateLimiter(RateLimiter):
    """The same buckets kept in Redis (MODELDESK_REDIS_URL), so N replicas allow one principal
    `per_minute` requests in all, not N times that.

    When Redis cannot be reached the request is let through (logged): the guardrails' budgets, not
    this limit, are what stop probing, and they report their own store's outage.
    """

    def __init__(self, per_minute: int, url: str, *, prefix: str = "modeldesk:ratelimit:"):
        super().__init__(per_minute)
        from assistant.redis_client import connect

        self._client, self.where = connect(url)
        self._script = self._client.register_script(_TAKE)
        self._prefix = prefix
        self._warned_at = 0.0

    def take(self, key: str) -> float:
        if not self.enabled:
            return 0.0
        try:
            micros = self._script(keys=[self._prefix + key], args=[self.capacity, self.rate])
        except Exception as exc:  # noqa: BLE001 - redis errors of every kind: fail open, say so
            now = time.monotonic()
            if now - self._warned_at > 60:
                self._warned_at = now
                log.warning("rate limits not enforced: Redis at %s unavailable (%s)", self.where, type(exc).__name__)
            return 0.0
        return int(micros) / 1_000_000

    async def take_async(self, key: str) -> float:
        if not self.enabled:
            return 0.0
        return await run_in_threadpool(self.take, key)

    def close(self) -> None:
        self._client.close()


class SqliteRateLimiter(RateLimiter):
    """The same buckets in a SQLite file under the data directory, shared by the worker processes of
    `serve --workers` (each bucket update is one `BEGIN IMMEDIATE` transaction, timed by the wall
    clock all workers share). A file that cannot be written lets the request through (logged), as
    the Redis limiter does."""

    def __init__(self, per_minute: int, path: Any, *, clock: Callable[[], float] = time.time):
        super().__init__(per_minute, clock=clock)
        import sqlite3
        from pathlib import Path

        self._sqlite = sqlite3
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=5, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS buckets (key TEXT PRIMARY KEY, tokens REAL, ts REAL)")
        self._warned_at = 0.0

    def take(self, key: str) -> float:
        if not self.enabled:
            return 0.0
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    now = self.clock()
                    row = self._db.execute("SELECT tokens, ts FROM buckets WHERE key = ?", (key,)).fetchone()
                    tokens, last = row if row else (self.capacity, now)
                    tokens = min(self.capacity, tokens + max(0.0, now - last) * self.rate)
                    wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate
                    if tokens >= 1.0:
                        tokens -= 1.0
                    self._db.execute("INSERT OR REPLACE INTO buckets (key, tokens, ts) VALUES (?, ?, ?)",
                                     (key, tokens, now))
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except self._sqlite.Error as exc:
                now = time.monotonic()
                if now - self._warned_at > 60:
                    self._warned_at = now
                    log.warning("rate limits not enforced: %s unavailable (%s)", self.path, exc)
                return 0.0
        return wait

    async def take_async(self, key: str) -> float:
        if not self.enabled:
            return 0.0
        return await run_in_threadpool(self.take, key)

    def close(self) -> None:
        self._db.close()


def open_rate_limiter(settings: Any, *, shared: bool = False) -> RateLimiter:
    """Shared through Redis when MODELDESK_REDIS_URL is set; `shared` (several worker processes):
    through a SQLite file under the data directory; else in this process."""
    if settings.redis_url:
        return RedisRateLimiter(settings.rate_limit_per_minute, settings.redis_url)
    if shared:
        return SqliteRateLimiter(settings.rate_limit_per_minute, settings.data_dir / "state" / "ratelimit.sqlite")
    return RateLimiter(settings.rate_limit_per_minute)


class BodySizeLimit:
    """ASGI middleware: a body larger than `max_bytes` gets 413 before the app reads it.

    Declared lengths are checked up front; bodies without a length are counted as they arrive and
    handed to the app only once they are known to fit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._reject(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._reject(send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, send: Callable) -> None:
        body = error_json(413, "payload_too_large", f"the request body is larger than {self.max_bytes:,} bytes")
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
