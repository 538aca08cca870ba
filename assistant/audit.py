"""The audit trail: every question, who asked it, what ran and what came back, in an append-only,
hash-chained log (SQLite by default, Redis when scaled out) mirrored as JSON lines on the
`modeldesk.audit` logger for a SIEM. Secrets are redacted before anything is stored or logged.

Each record stores `prev_hash` and `hash = sha256(prev_hash + canonical JSON of the entry and its seq)`;
the first record chains from `GENESIS`. `verify()` recomputes the chain, so an edited, deleted,
reordered or inserted record is found and named. The chain is unkeyed: it proves the log is
unbroken, not who wrote it; the hashes mirrored to the SIEM are the outside anchor.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field, field_validator, model_serializer

from assistant.errors import Unavailable

if TYPE_CHECKING:
    from assistant.answer import Answer, Principal
    from assistant.config import Settings

logger = logging.getLogger("modeldesk.audit")

GENESIS = "0" * 64
REDACTED = "[redacted]"
Verdict = Literal["answered", "warned", "refused", "locked", "error"]

# -- redaction -----------------------------------------------------------------------------------
# Words that name a secret; a value assigned to one of them (`api_key=...`, `"token": "..."`) is secret.
_SECRET_NAME = r"[\w.-]*?(?:passw(?:or)?d|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|" \
               r"private[_-]?key|client[_-]?secret|credentials?|auth(?:orization)?)"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # PEM private keys, whole block.
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S), REDACTED),
    # Credentials inside URLs: scheme://user:password@host.
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^\s/@:]*:[^\s/@]+@", re.I), r"\1" + REDACTED + "@"),
    # Authorization headers and bearer tokens.
    (re.compile(r"\b(bearer|basic|token)(\s+)[A-Za-z0-9._~+/=-]{8,}", re.I), r"\1\2" + REDACTED),
    # Well-known token shapes: Slack, OpenAI-style sk-, GitHub, GitLab, Google, AWS key ids, JWTs.
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{8,}"), REDACTED),
    (re.compile(r"\bxapp-[A-Za-z0-9-]{8,}"), REDACTED),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{12,}"), REDACTED),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{16,})"), REDACTED),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{30,}"), REDACTED),
    (re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"), REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), REDACTED),
    # name=value / name: value / "name": "value" where the name says it is a secret: any value.
    # (An already redacted value or an auth scheme word is left as it is.)
    (re.compile(r"(?i)(\b" + _SECRET_NAME + r"[\w-]*[\"']?\s*[=:]\s*[\"']?)(?!\[redacted\]|(?:bearer|basic)\s)"
                r"([^\s\"',;&]+)"), r"\1" + REDACTED),
    # "my password is hunter2".
    (re.compile(r"(?i)(\b(?:passw(?:or)?d|passphrase)\s+is\s+)(?!\[redacted\])(\S+)"), r"\1" + REDACTED),
    # A long key-like string (16+ chars with a digit) right after a word like key/token/secret.
    (re.compile(r"(?i)(\b(?:key|token|secret|password|credential)s?\b(?:\s+is\b)?\W{0,3})"
                r"(?=[A-Za-z0-9+/_.=-]{0,200}\d)([A-Za-z0-9+/_.=-]{16,})"), r"\1" + REDACTED),
]
_SECRET_KEY_NAME = re.compile(r"(?i)^" + _SECRET_NAME + r"[\w-]*$")


def redact(text: str, known: Iterable[str] = ()) -> str:
    """`text` with API keys, tokens, passwords and other secrets replaced by "[redacted]".

    `known` adds exact secret values to remove (e.g. the configured API keys)."""
    if not text:
        return text
    for secret in known:
        if secret and len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(value: Any, known: Iterable[str] = ()) -> Any:
    """Redact every string inside a JSON-like value; values under secret-named keys go entirely."""
    if isinstance(value, str):
        return redact(value, known)
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_KEY_NAME.match(str(k)) and v not in (None, "") else _redact_value(v, known)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(v, known) for v in value]
    return value


def _jsonable(value: Any) -> Any:
    """A plain JSON value (tuples to lists, keys to strings, odd objects to str) so the hash is stable."""
    return json.loads(json.dumps(value, default=str))


# -- entries -------------------------------------------------------------------------------------
# Fields added after logs were first written: left out of the hashed payload when empty, so records
# written before them keep their hashes and still verify.
_LATER = ("login",)


def _drop_empty_later(data: dict[str, Any]) -> dict[str, Any]:
    for name in _LATER:
        if data.get(name) is None:
            data.pop(name, None)
    return data


class AuditToolCall(BaseModel):
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)

    @field_validator("arguments", mode="after")
    @classmethod
    def _clean(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _redact_value(_jsonable(value))


class AuditEntry(BaseModel):
    """One question and what happened to it. Free text is redacted when the entry is made."""

    ts: float = Field(default_factory=time.time, allow_inf_nan=False, description="Unix time of the question.")
    principal: str
    role: str
    channel: str
    session_id: str | None = None
    question: str
    model_id: str | None = None
    tool_calls: list[AuditToolCall] = Field(default_factory=list)
    citations: list[str] = Field(default_factory=list, description="doc_ids cited in the answer.")
    verdict: Verdict
    category: str | None = Field(None, description="Refusal or alert category.")
    alerts: list[str] = Field(default_factory=list, description="Ids of alerts raised by this question.")
    latency_ms: float = Field(0.0, ge=0, allow_inf_nan=False)
    answer_id: str | None = None
    detail: str | None = None
    login: str | None = Field(None, description="How the principal was authenticated (API key id, or token "
                              "issuer and kid); see Principal.login.")

    @field_validator("question", "detail", mode="after")
    @classmethod
    def _redact_text(cls, value: str | None) -> str | None:
        return redact(value) if value else value

    @model_serializer(mode="wrap")
    def _without_empty_later(self, handler: Any) -> dict[str, Any]:
        # What is hashed is this dump: fields added later are left out when empty (see _LATER).
        return _drop_empty_later(handler(self))

    @classmethod
    def for_answer(cls, question: str, principal: Principal, answer: Answer, *, latency_ms: float,
                   model_id: str | None = None, verdict: Verdict | None = None, category: str | None = None,
                   alerts: Iterable[str] = (), answer_id: str | None = None, detail: str | None = None,
                   ts: float | None = None) -> AuditEntry:
        """The entry for an answered (or refused) question."""
        refusal = answer.refusal
        return cls(ts=time.time() if ts is None else ts, principal=principal.id, role=principal.role,
                   channel=principal.channel, session_id=answer.session_id, question=question, model_id=model_id,
                   tool_calls=[AuditToolCall(name=t.name, arguments=t.arguments) for t in answer.tool_calls],
                   citations=[c.doc_id for c in answer.citations],
                   verdict=verdict or ("refused" if answer.refused else "answered"),
                   category=category or (refusal.category if refusal else None), alerts=list(alerts),
                   latency_ms=latency_ms, answer_id=answer_id, detail=detail, login=principal.login)


class AuditRecord(AuditEntry):
    """An entry as stored: its place in the chain and the hashes that link it."""

    seq: int
    prev_hash: str
    hash: str


class AuditReport(BaseModel):
    """What `verify()` found: ok, or the first record that breaks the chain and why."""

    ok: bool
    records: int = Field(description="Records read: all of them when ok, else up to the first bad one.")
    first_bad: int | None = Field(None, description="Sequence number of the first bad (or missing) record.")
    problem: str | None = None
    last_hash: str | None = Field(None, description="Hash of the last record: compare with the SIEM's copy.")


def canonical(payload: dict[str, Any]) -> str:
    """The exact text that is hashed: the entry's fields and seq, sorted keys, no spaces."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, payload: dict[str, Any]) -> str:
    """sha256(prev_hash + canonical JSON of the entry including its seq), hex."""
    return hashlib.sha256((prev_hash + canonical(payload)).encode("utf-8")).hexdigest()


_FIELDS = tuple(AuditEntry.model_fields)
_FLOATS = ("ts", "latency_ms")
_LISTS = ("tool_calls", "citations", "alerts")


def _payload(entry: AuditEntry, seq: int, known: Iterable[str] = ()) -> dict[str, Any]:
    data = entry.model_dump(mode="json")
    if known:
        data = _redact_value(data, known)
    for name in _FLOATS:
        data[name] = float(data[name])
    data["seq"] = seq
    return _drop_empty_later(data)


def _line(payload: dict[str, Any], prev_hash: str, digest: str) -> str:
    return json.dumps({**payload, "prev_hash": prev_hash, "hash": digest}, sort_keys=True, ensure_ascii=False)


def verify_chain(records: Iterable[tuple[Any, Any, Any, dict[str, Any] | None]]) -> AuditReport:
    """Check `(seq, prev_hash, hash, payload)` rows in stored order; `payload` None means unreadable."""
    expected, prev, count = 1, GENESIS, 0
    for seq, prev_hash, digest, payload in records:
        count += 1
        if seq != expected:
            if isinstance(seq, int) and seq > expected:
                gap = f"record {expected} is missing" if seq == expected + 1 else f"records {expected}–{seq - 1} are missing"
                return _bad(count, expected, f"{gap} (the next record is {seq})")
            return _bad(count, expected, f"record {expected} is out of order (found seq {seq!r} in its place)")
        if payload is None:
            return _bad(count, seq, f"record {seq} cannot be read")
        if prev_hash != prev:
            return _bad(count, seq, f"record {seq} does not link to record {seq - 1}" if seq > 1
                        else "record 1 does not start from the genesis hash")
        if chain_hash(prev_hash, payload) != digest:
            return _bad(count, seq, f"record {seq} was changed: its contents do not match its hash")
        prev, expected = digest, expected + 1
    return AuditReport(ok=True, records=count, last_hash=None if count == 0 else prev)


def _bad(count: int, seq: int, problem: str) -> AuditReport:
    return AuditReport(ok=False, records=count, first_bad=seq, problem=problem)


def _truncated(count: int, high: int) -> AuditReport:
    """The log holds `count` records but the highest seq ever written was `high`."""
    gone = f"record {high} was" if high == count + 1 else f"records {count + 1}–{high} were"
    return _bad(count, count + 1, f"{gone} removed from the end of the log")


# -- the log -------------------------------------------------------------------------------------
@runtime_checkable
class AuditLog(Protocol):
    """An append-only, hash-chained audit log."""

    def record(self, entry: AuditEntry) -> int | None:
        """Append; never raises. Returns the seq, or None when the backend failed (logged at ERROR)."""

    def append(self, entry: AuditEntry) -> int:
        """Append; raises Unavailable when the backend fails. Returns the seq."""

    def entries(self, since_seq: int = 0, limit: int = 100) -> list[AuditRecord]:
        """Records with seq > since_seq, oldest first, at most `limit`."""

    def tail(self, limit: int = 20) -> list[AuditRecord]:
        """The latest `limit` records, oldest first."""

    def verify(self) -> AuditReport:
        """Recompute the whole chain."""

    def close(self) -> None: ...


class _ChainedLog:
    """What every backend shares: redaction of known secrets, the SIEM line, never-raising record()."""

    backend = "audit"

    def __init__(self, known_secrets: Iterable[str] = ()):
        self._known = tuple(s for s in known_secrets if s)

    def record(self, entry: AuditEntry) -> int | None:
        try:
            return self.append(entry)
        except Exception as exc:  # the audit trail never breaks a request
            try:
                failed = _payload(entry, 0, self._known)
                failed.pop("seq")
            except Exception:
                failed = {}
            logger.error(json.dumps({"event": "audit_write_failed", "backend": self.backend,
                                     "error": f"{type(exc).__name__}: {redact(str(exc), self._known)}",
                                     "seq": None, **failed}, sort_keys=True, ensure_ascii=False))
            return None

    def append(self, entry: AuditEntry) -> int:
        try:
            seq, payload, prev_hash, digest, line = self._append(lambda seq: _payload(entry, seq, self._known))
        except Unavailable:
            raise
        except Exception as exc:
            raise Unavailable(f"audit log ({self.backend}) unavailable: "
                              f"{type(exc).__name__}: {redact(str(exc), self._known)}") from exc
        logger.info(line, extra={"audit": {**payload, "prev_hash": prev_hash, "hash": digest}})
        return seq

    def _append(self, make_payload) -> tuple[int, dict[str, Any], str, str, str]:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:  # pragma: no cover - overridden
        pass


class SqliteAuditLog(_ChainedLog):
    """The audit log in one SQLite table (WAL). Appends run in `BEGIN IMMEDIATE`, so several processes
    writing one file keep one unbroken chain."""

    backend = "sqlite"
    TABLE = "audit_log"
    _COLUMNS = (*_FIELDS, "seq", "prev_hash", "hash")

    def __init__(self, path: str | Path, *, busy_timeout: float = 30.0, known_secrets: Iterable[str] = ()):
        super().__init__(known_secrets)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._conn = self._connect()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # AUTOINCREMENT keeps the highest seq ever used in sqlite_sequence, so records cut from the
            # end of the log still leave a gap that verify() reports.
            self._conn.execute(f"""CREATE TABLE IF NOT EXISTS {self.TABLE} (
                seq INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, principal TEXT NOT NULL,
                role TEXT NOT NULL, channel TEXT NOT NULL, session_id TEXT, question TEXT NOT NULL,
                model_id TEXT, tool_calls TEXT NOT NULL, citations TEXT NOT NULL, verdict TEXT NOT NULL,
                category TEXT, alerts TEXT NOT NULL, latency_ms REAL NOT NULL, answer_id TEXT, detail TEXT,
                prev_hash TEXT NOT NULL, hash TEXT NOT NULL, login TEXT)""")
            present = {r[1] for r in self._conn.execute(f"PRAGMA table_info({self.TABLE})")}
            for name in _LATER:  # a log made before the column existed
                if name not in present:
                    self._conn.execute(f"ALTER TABLE {self.TABLE} ADD COLUMN {name} TEXT")
            self._conn.execute(f"CREATE INDEX IF NOT EXISTS {self.TABLE}_principal ON {self.TABLE} (principal, ts)")

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves; timeout is SQLite's busy handler.
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def _append(self, make_payload):
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                last = conn.execute(f"SELECT seq, hash FROM {self.TABLE} ORDER BY seq DESC LIMIT 1").fetchone()
                used = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (self.TABLE,)).fetchone()
                seq = max(last[0] if last else 0, used[0] if used else 0) + 1
                prev_hash = last[1] if last else GENESIS
                payload = make_payload(seq)
                digest = chain_hash(prev_hash, payload)
                row = {**payload, "prev_hash": prev_hash, "hash": digest}
                for name in _LISTS:
                    row[name] = json.dumps(row[name], sort_keys=True, ensure_ascii=False)
                conn.execute(f"INSERT INTO {self.TABLE} ({', '.join(self._COLUMNS)}) "
                             f"VALUES ({', '.join('?' * len(self._COLUMNS))})", [row.get(c) for c in self._COLUMNS])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return seq, payload, prev_hash, digest, _line(payload, prev_hash, digest)

    @staticmethod
    def _row_payload(row: sqlite3.Row) -> dict[str, Any] | None:
        try:
            data = {name: row[name] for name in _FIELDS}
            for name in _LISTS:
                data[name] = json.loads(data[name])
            for name in _FLOATS:
                data[name] = float(data[name])
            data["seq"] = row["seq"]
            return _drop_empty_later(data)
        except (TypeError, ValueError):
            return None

    def _select(self, sql: str, params: tuple = ()) -> list[AuditRecord]:
        try:
            with self._lock:
                cursor = self._conn.execute(sql, params)
                cursor.row_factory = sqlite3.Row
                rows = cursor.fetchall()
        except sqlite3.Error as exc:
            raise Unavailable(f"audit log {self.path} cannot be read: {exc}") from exc
        out = []
        for row in rows:
            payload = self._row_payload(row)
            if payload is not None:
                out.append(AuditRecord(**payload, prev_hash=row["prev_hash"], hash=row["hash"]))
        return out

    def entries(self, since_seq: int = 0, limit: int = 100) -> list[AuditRecord]:
        return self._select(f"SELECT * FROM {self.TABLE} WHERE seq > ? ORDER BY seq LIMIT ?", (since_seq, limit))

    def tail(self, limit: int = 20) -> list[AuditRecord]:
        return self._select(f"SELECT * FROM (SELECT * FROM {self.TABLE} ORDER BY seq DESC LIMIT ?) ORDER BY seq",
                            (limit,))

    def verify(self) -> AuditReport:
        # Its own connection: a long read does not hold up this process's writers (WAL lets them run).
        try:
            conn = self._connect()
        except sqlite3.Error as exc:
            raise Unavailable(f"audit log {self.path} cannot be opened: {exc}") from exc
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("BEGIN")  # one snapshot for the rows and the high-water mark
            rows = conn.execute(f"SELECT * FROM {self.TABLE} ORDER BY seq")
            report = verify_chain((r["seq"], r["prev_hash"], r["hash"], self._row_payload(r)) for r in rows)
            used = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (self.TABLE,)).fetchone()
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise Unavailable(f"audit log {self.path} cannot be read: {exc}") from exc
        finally:
            conn.close()
        high = used[0] if used else 0
        if report.ok and high > report.records:
            return _truncated(report.records, high)
        return report

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class RedisAuditLog(_ChainedLog):
    """The audit log in a Redis list, for many API replicas and Slack workers. The head
    (`<prefix>head` = "seq hash") is read under WATCH and moved with the new record in MULTI/EXEC;
    a writer that lost the race retries, so concurrent writers keep one chain."""

    backend = "redis"

    def __init__(self, url: str, key_prefix: str = "modeldesk:audit:", *, timeout: float = 2.0,
                 max_retries: int = 200, known_secrets: Iterable[str] = ()):
        import redis

        super().__init__(known_secrets)
        self._redis = redis
        self._client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=timeout,
                                            socket_connect_timeout=timeout)
        self.list_key = f"{key_prefix}log"
        self.head_key = f"{key_prefix}head"
        self._max_retries = max_retries

    def _append(self, make_payload):
        for attempt in range(self._max_retries):
            with self._client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(self.head_key)
                    head = pipe.get(self.head_key)
                    last_seq, prev_hash = _parse_head(head)
                    seq = last_seq + 1
                    payload = make_payload(seq)
                    digest = chain_hash(prev_hash, payload)
                    line = _line(payload, prev_hash, digest)
                    pipe.multi()
                    pipe.rpush(self.list_key, line)
                    pipe.set(self.head_key, f"{seq} {digest}")
                    pipe.execute()
                    return seq, payload, prev_hash, digest, line
                except self._redis.WatchError:
                    time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))
        raise Unavailable(f"audit log (redis) busy: no append after {self._max_retries} attempts")

    @staticmethod
    def _parse(line: str) -> tuple[Any, Any, Any, dict[str, Any] | None]:
        try:
            data = json.loads(line)
            prev_hash, digest = data.pop("prev_hash"), data.pop("hash")
            if not {*_FIELDS, "seq"} - set(_LATER) <= set(data) <= {*_FIELDS, "seq"}:
                return data.get("seq"), prev_hash, digest, None
            return data["seq"], prev_hash, digest, data
        except (ValueError, KeyError, AttributeError):
            return None, None, None, None

    def _records(self, lines: list[str]) -> list[AuditRecord]:
        out = []
        for line in lines:
            seq, prev_hash, digest, payload = self._parse(line)
            if payload is not None:
                out.append(AuditRecord(**payload, prev_hash=prev_hash, hash=digest))
        return out

    def entries(self, since_seq: int = 0, limit: int = 100) -> list[AuditRecord]:
        # Record n sits at list index n-1 while the log is intact; filter in case it is not.
        lines = self._guard(lambda: self._client.lrange(self.list_key, max(since_seq, 0), max(since_seq, 0) + limit - 1))
        return [r for r in self._records(lines) if r.seq > since_seq][:limit]

    def tail(self, limit: int = 20) -> list[AuditRecord]:
        return self._records(self._guard(lambda: self._client.lrange(self.list_key, -limit, -1))) if limit > 0 else []

    def _scan(self, length: int, chunk: int = 1000) -> Iterator[tuple[Any, Any, Any, dict[str, Any] | None]]:
        for start in range(0, length, chunk):
            lines = self._client.lrange(self.list_key, start, min(start + chunk, length) - 1)
            yield from (self._parse(line) for line in lines)

    def verify(self) -> AuditReport:
        def run() -> AuditReport:
            # Head and length read together: records appended while we scan are left for next time.
            with self._client.pipeline(transaction=True) as pipe:
                head, length = pipe.get(self.head_key).llen(self.list_key).execute()
            report = verify_chain(self._scan(length))
            if not report.ok:
                return report
            head_seq, head_hash = _parse_head(head)
            if head_seq > report.records:
                return _truncated(report.records, head_seq)
            if (head_seq, head_hash) != (report.records, report.last_hash or GENESIS):
                return _bad(report.records, report.records, "the head of the log does not match its last record")
            return report

        return self._guard(run)

    def _guard(self, call):
        try:
            return call()
        except self._redis.RedisError as exc:
            raise Unavailable(f"audit log (redis) unavailable: {redact(str(exc), self._known)}") from exc

    def close(self) -> None:
        self._client.close()


def _parse_head(head: str | None) -> tuple[int, str]:
    if not head:
        return 0, GENESIS
    seq, digest = head.split(" ", 1)
    return int(seq), digest


def open_audit_log(settings: Settings) -> SqliteAuditLog | RedisAuditLog:
    """Redis when MODELDESK_REDIS_URL is set, else SQLite at <data dir>/audit/audit.sqlite.
    The configured API keys are redacted wherever they appear."""
    known = tuple(settings.api_keys)
    llm_key = settings.llm_api_key.get_secret_value()
    if llm_key:  # the LLM endpoint's key, should anyone paste it into a question
        known += (llm_key,)
    if settings.redis_url:
        return RedisAuditLog(settings.redis_url, known_secrets=known)
    return SqliteAuditLog(settings.data_dir / "audit" / "audit.sqlite", known_secrets=known)
