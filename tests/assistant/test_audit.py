"""The audit trail as the security team relies on it: complete, tamper-evident, free of secrets,
mirrored to the SIEM logger, and never in the way of a request. Real SQLite files, a real
redis-server and real writer processes."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.cli import app
from assistant.audit import (GENESIS, AuditEntry, AuditLog, RedisAuditLog, SqliteAuditLog, chain_hash,
                             open_audit_log, redact)
from assistant.config import load_settings
from assistant.errors import Unavailable

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

SECRETS = {
    "slack": "xoxb-2231-99887766554-QzLx0pWq3rTy8uIo",
    "openai": "sk-proj-Abc123Def456Ghi789Jkl0",
    "bearer": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWhlcmU",
    "password": "Tr0ub4dor&3",
    "aws": "AKIAZ7Q4MPLE2KDRW9XJ",
    "hex": "9f2c4b7e1a0d3c5f8e6b2a4d7c9e1f03",
}


def entry(i: int = 0, **over) -> AuditEntry:
    fields = dict(principal=f"user-{i % 3}", role="business", channel=("slack", "api", "cli")[i % 3],
                  session_id=f"s-{i // 4}", question=f"What is the risk tier for customer C-{10000 + i}?",
                  model_id="credit-default", tool_calls=[{"name": "predict", "arguments": {"record_id": f"C-{10000 + i}"}}],
                  citations=["model-cards/credit-default.md"], verdict="answered", latency_ms=12.5 + i)
    fields.update(over)
    return AuditEntry(**fields)


def sql(path: Path, statement: str, *params) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(statement, params)
    conn.close()


@pytest.fixture()
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "audit" / "audit.sqlite"


@pytest.fixture()
def sqlite_log(log_path: Path):
    log = SqliteAuditLog(log_path)
    yield log
    log.close()


# -- the chain -----------------------------------------------------------------------------------
def test_chain_of_many_records_verifies_and_reads_back(sqlite_log):
    verdicts = ["answered", "warned", "refused", "locked", "error"]
    seqs = [sqlite_log.record(entry(i, verdict=verdicts[i % 5], category="extraction" if i % 5 == 2 else None,
                                    alerts=[f"alert-{i}"] if i % 7 == 0 else []))
            for i in range(250)]
    assert seqs == list(range(1, 251))
    report = sqlite_log.verify()
    assert report.ok and report.records == 250 and report.first_bad is None and report.problem is None
    first = sqlite_log.entries(limit=1)[0]
    assert first.seq == 1 and first.prev_hash == GENESIS and first.principal == "user-0"
    page = sqlite_log.entries(since_seq=100, limit=10)
    assert [r.seq for r in page] == list(range(101, 111))
    assert page[0].tool_calls[0].arguments == {"record_id": "C-10100"} and page[0].verdict == "answered"
    assert [r.seq for r in sqlite_log.tail(3)] == [248, 249, 250]
    assert report.last_hash == sqlite_log.tail(1)[0].hash
    assert isinstance(sqlite_log, AuditLog)


def test_each_hash_covers_the_previous_hash_the_entry_and_its_seq(sqlite_log):
    sqlite_log.record(entry(1))
    sqlite_log.record(entry(2))
    one, two = sqlite_log.entries()
    payload = two.model_dump(exclude={"prev_hash", "hash"}, mode="json")
    assert two.prev_hash == one.hash and two.hash == chain_hash(one.hash, payload)
    assert chain_hash(one.hash, {**payload, "seq": 3}) != two.hash


@pytest.mark.parametrize(("column", "value"), [("question", "What is the weather?"), ("verdict", "answered"),
                                               ("principal", "someone-else"), ("latency_ms", 1.0)])
def test_editing_a_record_in_the_file_is_detected_and_named(sqlite_log, log_path, column, value):
    for i in range(30):
        sqlite_log.record(entry(i, verdict="refused" if i == 16 else "answered"))  # seq 17
    sql(log_path, f"UPDATE audit_log SET {column} = ? WHERE seq = 17", value)
    report = sqlite_log.verify()
    assert not report.ok and report.first_bad == 17
    assert "record 17" in report.problem and "changed" in report.problem


def test_recomputing_the_hash_of_an_edited_record_still_breaks_the_link(sqlite_log, log_path):
    for i in range(10):
        sqlite_log.record(entry(i))
    forged = sqlite_log.entries(since_seq=4, limit=1)[0]
    payload = forged.model_copy(update={"verdict": "answered", "question": "nothing to see"}).model_dump(
        exclude={"prev_hash", "hash"}, mode="json")
    sql(log_path, "UPDATE audit_log SET question = ?, hash = ? WHERE seq = 5", "nothing to see",
        chain_hash(forged.prev_hash, payload))
    report = sqlite_log.verify()
    assert not report.ok and report.first_bad == 6 and "does not link to record 5" in report.problem


def test_deleted_reordered_and_inserted_records_are_detected(tmp_path):
    def fresh(name: str, n: int = 12) -> tuple[SqliteAuditLog, Path]:
        log = SqliteAuditLog(tmp_path / name)
        for i in range(n):
            log.record(entry(i))
        return log, tmp_path / name

    log, path = fresh("deleted.sqlite")
    sql(path, "DELETE FROM audit_log WHERE seq = 6")
    report = log.verify()
    assert (report.ok, report.first_bad) == (False, 6) and "missing" in report.problem

    log, path = fresh("truncated.sqlite")
    sql(path, "DELETE FROM audit_log WHERE seq >= 11")
    report = log.verify()
    assert (report.ok, report.first_bad) == (False, 11) and "removed from the end" in report.problem
    log.record(entry(99))  # writing on does not paper over the cut
    assert log.verify().first_bad == 11

    log, path = fresh("reordered.sqlite")
    rows = {r.seq: r for r in log.entries()}
    for seq, other in ((4, 5), (5, 4)):
        sql(path, "UPDATE audit_log SET question = ?, ts = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            rows[other].question, rows[other].ts, rows[other].prev_hash, rows[other].hash, seq)
    report = log.verify()
    assert (report.ok, report.first_bad) == (False, 4)

    log, path = fresh("inserted.sqlite")
    last = log.tail(1)[0]
    sql(path, "INSERT INTO audit_log SELECT seq + 1, ts, principal, role, channel, session_id, 'planted', model_id, "
              "tool_calls, citations, verdict, category, alerts, latency_ms, answer_id, detail, hash, hash, login "
              "FROM audit_log WHERE seq = ?", last.seq)
    report = log.verify()
    assert (report.ok, report.first_bad) == (False, 13) and "changed" in report.problem


# -- the command line ------------------------------------------------------------------------------
@pytest.fixture()
def cli_env(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("MODELDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MODELDESK_REDIS_URL", raising=False)
    return tmp_path / "data" / "audit" / "audit.sqlite"


def test_how_a_principal_signed_in_is_recorded_and_older_logs_still_verify(log_path):
    """A log written before the `login` column existed opens, takes new entries that carry `login`,
    and its whole chain (old records and new) still verifies; editing a login is detected."""
    old = SqliteAuditLog(log_path)
    for i in range(3):
        old.record(entry(i))
    old.close()
    sql(log_path, "ALTER TABLE audit_log DROP COLUMN login")  # the table as it was before
    log = SqliteAuditLog(log_path)
    log.record(entry(3, login="oidc iss=https://sso.example.com kid=k1"))
    log.record(entry(4, login="static id=3f2a9c1b2d3e4f50"))
    assert [r.login for r in log.entries()] == [None, None, None, "oidc iss=https://sso.example.com kid=k1",
                                                "static id=3f2a9c1b2d3e4f50"]
    assert log.verify().ok
    sql(log_path, "UPDATE audit_log SET login = 'static id=0000000000000000' WHERE seq = 4")
    report = log.verify()
    assert (report.ok, report.first_bad) == (False, 4)
    log.close()


def test_cli_verify_reports_ok_then_names_the_tampered_record(cli_env):
    with open_audit_log(load_settings()) as log:
        for i in range(25):
            log.record(entry(i))
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "audit log OK: 25 records" in result.stdout

    sql(cli_env, "UPDATE audit_log SET verdict = 'answered', question = 'harmless' WHERE seq = 9")
    result = runner.invoke(app, ["audit", "verify"], terminal_width=200)
    assert result.exit_code == 1
    assert "record 9" in result.stdout and "changed" in result.stdout
    as_json = runner.invoke(app, ["audit", "verify", "--json"])
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout) | {"last_hash": None} == {
        "ok": False, "records": 9, "first_bad": 9, "last_hash": None,
        "problem": "record 9 was changed: its contents do not match its hash"}


def test_cli_verify_as_a_user_runs_it(cli_env, tmp_path):
    with open_audit_log(load_settings()) as log:
        for i in range(5):
            log.record(entry(i))
    sql(cli_env, "DELETE FROM audit_log WHERE seq = 2")
    env = {"MODELDESK_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin", "COLUMNS": "200"}
    proc = subprocess.run([str(Path(sys.executable).parent / "modeldesk"), "audit", "verify"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "record 2 is missing" in proc.stdout


def test_cli_tail_shows_the_latest_entries(cli_env, monkeypatch):
    import adapters.cli

    monkeypatch.setattr(adapters.cli.console, "width", 250)
    with open_audit_log(load_settings()) as log:
        for i in range(8):
            log.record(entry(i, verdict="refused" if i == 7 else "answered", category="extraction" if i == 7 else None))
    data = json.loads(runner.invoke(app, ["audit", "tail", "--limit", "3", "--json"]).stdout)
    assert [r["seq"] for r in data] == [6, 7, 8]
    assert data[-1]["verdict"] == "refused" and data[-1]["category"] == "extraction" and data[-1]["hash"]
    table = runner.invoke(app, ["audit", "tail", "-n", "2"])
    assert table.exit_code == 0 and "refused (extraction)" in table.stdout and "C-10007" in table.stdout
    assert "C-10005" not in table.stdout


# -- several writers --------------------------------------------------------------------------------
WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from assistant.audit import AuditEntry, RedisAuditLog, SqliteAuditLog
    kind, target, prefix, writer, count, gate, pause = sys.argv[1:8]
    log = SqliteAuditLog(target) if kind == "sqlite" else RedisAuditLog(target, key_prefix=prefix)
    log.tail(1)  # connected before the start line
    (Path(gate) / f"ready-{writer}").touch()
    while not (Path(gate) / "go").exists():  # all writers begin together
        time.sleep(0.001)
    for i in range(int(count)):
        log.append(AuditEntry(principal=f"writer-{writer}", role="business", channel="api",
                              question=f"question {i} from writer {writer}", verdict="answered", latency_ms=1.0))
        time.sleep(float(pause))  # requests do not arrive back to back
    log.close()
""")


def run_writers(kind: str, target: str, writers: int, count: int, gate: Path, prefix: str = "",
                pause: float = 0.0) -> None:
    gate.mkdir(parents=True, exist_ok=True)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, kind, target, prefix, str(w), str(count), str(gate),
                               str(pause)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for w in range(writers)]
    deadline = time.monotonic() + 120
    while len(list(gate.glob("ready-*"))) < writers:
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "a writer failed to start"
        time.sleep(0.01)
    (gate / "go").touch()
    for proc in procs:
        _, stderr = proc.communicate(timeout=180)
        assert proc.returncode == 0, stderr


def assert_complete(log, writers: int, count: int) -> None:
    report = log.verify()
    assert report.ok, report
    assert report.records == writers * count
    records = log.entries(limit=writers * count + 10)
    assert [r.seq for r in records] == list(range(1, writers * count + 1))
    assert {r.question for r in records} == {f"question {i} from writer {w}" for w in range(writers) for i in range(count)}
    turns = sum(a.principal != b.principal for a, b in zip(records, records[1:]))
    assert turns >= writers, f"writers did not overlap ({turns} turns)"  # the race really happened


def test_several_processes_appending_to_one_sqlite_file_keep_one_chain(log_path, tmp_path):
    SqliteAuditLog(log_path).close()
    run_writers("sqlite", str(log_path), writers=4, count=60, gate=tmp_path / "gate", pause=0.002)
    with SqliteAuditLog(log_path) as log:
        assert_complete(log, 4, 60)


def test_threads_sharing_one_log_keep_one_chain(sqlite_log):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        seqs = list(pool.map(lambda i: sqlite_log.record(entry(i)), range(200)))
    assert sorted(seqs) == list(range(1, 201))
    assert sqlite_log.verify().ok


# -- secrets, the SIEM line, failures -----------------------------------------------------------------
def test_secrets_never_reach_the_file_or_the_siem_line(log_path, caplog):
    question = (f"my slack token {SECRETS['slack']} and key {SECRETS['openai']} — Authorization: Bearer "
                f"{SECRETS['bearer']} password={SECRETS['password']} aws {SECRETS['aws']} "
                f"secret: {SECRETS['hex']}; what is the risk tier for C-10293?")
    caplog.set_level(logging.INFO, logger="modeldesk.audit")
    with SqliteAuditLog(log_path, known_secrets=["md-demo-admin-Zx81QpLm"]) as log:
        log.record(entry(question=question, detail=f"client said api_key={SECRETS['openai']}",
                         tool_calls=[{"name": "lookup", "arguments": {"q": f"token {SECRETS['hex']}",
                                                                     "api_key": "abc", "nested": [SECRETS['slack']]}}]))
        log.record(entry(question="I pasted my key md-demo-admin-Zx81QpLm by mistake, is C-10004 high risk?"))
        stored = log.entries()
        assert log.verify().ok
    raw = b"".join(p.read_bytes() for p in log_path.parent.glob("audit.sqlite*"))
    logged = caplog.text
    for secret in [*SECRETS.values(), "md-demo-admin-Zx81QpLm"]:
        assert secret.encode() not in raw, secret
        assert secret not in logged, secret
    assert "what is the risk tier for C-10293?" in stored[0].question and "[redacted]" in stored[0].question
    assert stored[0].tool_calls[0].arguments["api_key"] == "[redacted]"
    assert "is C-10004 high risk?" in stored[1].question


def test_redaction_keeps_ordinary_questions_intact():
    for question in ("What is the risk tier for customer C-10293, and why?", "What are the key drivers of churn?",
                     "Which key is used to join transactions to customers?", "How many tokens does the model see?",
                     "What if her balance were $500 lower?"):
        assert redact(question) == question


def test_every_record_goes_to_the_siem_logger_as_one_json_line(sqlite_log, caplog):
    caplog.set_level(logging.INFO, logger="modeldesk.audit")
    for i in range(3):
        sqlite_log.record(entry(i, verdict="warned", alerts=["probe-1"]))
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "modeldesk.audit"]
    stored = sqlite_log.entries()
    assert [line["seq"] for line in lines] == [1, 2, 3]
    assert lines == [r.model_dump(mode="json") for r in stored]
    assert {"question", "principal", "channel", "tool_calls", "citations", "verdict", "latency_ms", "hash",
            "prev_hash"} <= set(lines[0])


def test_a_broken_backend_never_breaks_the_request(sqlite_log, log_path, caplog):
    sqlite_log.record(entry(0))
    sql(log_path, "DROP TABLE audit_log")
    caplog.set_level(logging.INFO, logger="modeldesk.audit")
    assert sqlite_log.record(entry(1, question=f"password={SECRETS['password']} tier of C-1?")) is None
    errors = [r for r in caplog.records if r.name == "modeldesk.audit" and r.levelno == logging.ERROR]
    assert len(errors) == 1
    line = json.loads(errors[0].getMessage())
    assert line["event"] == "audit_write_failed" and line["seq"] is None and "tier of C-1?" in line["question"]
    assert SECRETS["password"] not in caplog.text
    with pytest.raises(Unavailable):
        sqlite_log.append(entry(2))


def test_an_unreachable_redis_is_logged_without_its_password(caplog):
    log = RedisAuditLog(f"redis://:Hunter2Redis@127.0.0.1:{free_port()}/0", timeout=0.5)
    caplog.set_level(logging.INFO, logger="modeldesk.audit")
    assert log.record(entry(0)) is None
    assert any(r.levelno == logging.ERROR for r in caplog.records)
    assert "Hunter2Redis" not in caplog.text
    with pytest.raises(Unavailable):
        log.verify()


def test_open_audit_log_defaults_to_sqlite_under_the_data_dir(tmp_path):
    settings = load_settings(data_dir=tmp_path / "d", redis_url="")
    with open_audit_log(settings) as log:
        assert isinstance(log, SqliteAuditLog) and log.path == tmp_path / "d" / "audit" / "audit.sqlite"
        assert log.record(entry(0)) == 1
    assert (tmp_path / "d" / "audit" / "audit.sqlite").exists()


# -- Redis -----------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def redis_server_url(request, tmp_path_factory):
    """The session's redis-server (tests/conftest.py `redis_url`), or one of our own."""
    try:
        yield request.getfixturevalue("redis_url")
        return
    except pytest.FixtureLookupError:
        pass
    import redis

    folder, port = tmp_path_factory.mktemp("audit-redis"), free_port()
    proc = subprocess.Popen([shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(port), "--bind",
                             "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(300):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    client.close()
    yield url
    proc.kill()
    proc.wait(timeout=10)


@pytest.fixture()
def redis_log(redis_server_url):
    log = RedisAuditLog(redis_server_url, key_prefix=f"test-audit-{uuid.uuid4().hex[:8]}:")
    yield log
    log._client.delete(log.list_key, log.head_key)
    log.close()


def test_redis_chain_verifies_and_reads_back(redis_log):
    assert [redis_log.record(entry(i)) for i in range(120)] == list(range(1, 121))
    report = redis_log.verify()
    assert report.ok and report.records == 120
    assert [r.seq for r in redis_log.entries(since_seq=50, limit=5)] == [51, 52, 53, 54, 55]
    assert [r.seq for r in redis_log.tail(2)] == [119, 120] and report.last_hash == redis_log.tail(1)[0].hash


def test_redis_records_with_and_without_login_verify(redis_log):
    redis_log.record(entry(0))
    redis_log.record(entry(1, login="oidc iss=https://sso.example.com kid=k1"))
    assert [r.login for r in redis_log.entries()] == [None, "oidc iss=https://sso.example.com kid=k1"]
    assert redis_log.verify().ok


def test_redis_tampering_is_detected(redis_log):
    for i in range(20):
        redis_log.record(entry(i))
    client = redis_log._client
    original = client.lindex(redis_log.list_key, 6)
    edited = json.loads(original) | {"verdict": "refused"}
    client.lset(redis_log.list_key, 6, json.dumps(edited))
    report = redis_log.verify()
    assert (report.ok, report.first_bad) == (False, 7) and "changed" in report.problem

    client.lset(redis_log.list_key, 6, original)
    assert redis_log.verify().ok
    client.lrem(redis_log.list_key, 1, client.lindex(redis_log.list_key, 11))
    report = redis_log.verify()
    assert (report.ok, report.first_bad) == (False, 12) and "missing" in report.problem


def test_redis_records_cut_from_the_end_are_detected(redis_log):
    for i in range(6):
        redis_log.record(entry(i))
    redis_log._client.rpop(redis_log.list_key, 2)
    report = redis_log.verify()
    assert (report.ok, report.first_bad) == (False, 5) and "removed from the end" in report.problem


def test_redis_two_writer_processes_keep_one_chain(redis_log, redis_server_url, tmp_path):
    prefix = redis_log.list_key.removesuffix("log")
    run_writers("redis", redis_server_url, writers=2, count=300, gate=tmp_path / "gate", prefix=prefix,
                pause=0.001)
    assert_complete(redis_log, 2, 300)


def test_open_audit_log_uses_redis_when_configured(redis_server_url, tmp_path):
    settings = load_settings(data_dir=tmp_path, redis_url=redis_server_url)
    log = open_audit_log(settings)
    try:
        assert isinstance(log, RedisAuditLog)
        assert not (tmp_path / "audit").exists()
    finally:
        log.close()
