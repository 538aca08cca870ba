"""`modeldesk serve --workers 2`: two answering processes, one set of guardrails, sessions and audit chain.

A real server subprocess over the demo models and the embedded stores (SQLite, embedded Chroma).
Each request below opens its own connection, so the kernel hands them to either worker; the
workers' access-log lines (tagged `[worker N]`) show that both answered.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.redis_server import free_port
from tests.topology import BIN, OFFLINE, ROOT, _wait

PRINCIPALS = ["sweep-one", "sweep-split", "walker", *[f"load-{i}" for i in range(6)]]
KEYS = {f"key-{p}": {"principal": p, "role": "business"} for p in PRINCIPALS}


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_models: Path):
    root = tmp_path_factory.mktemp("workers")
    knowledge = root / "knowledge"
    knowledge.mkdir()
    shutil.copy(ROOT / "knowledge" / "corpus" / "limitations" / "customer-churn-limitations.md", knowledge)
    port = free_port()
    log = root / "serve.log"
    env = {**os.environ, **OFFLINE, "MODELDESK_DATA_DIR": str(root / "data"), "MODELDESK_MODELS_PATH": str(demo_models),
           "MODELDESK_KNOWLEDGE_PATH": str(knowledge), "MODELDESK_API_KEYS": json.dumps(KEYS),
           "MODELDESK_RATE_LIMIT_PER_MINUTE": "0"}
    for name in ("MODELDESK_REDIS_URL", "MODELDESK_CHROMA_URL", "MODELDESK_WORKERS"):
        env.pop(name, None)
    with log.open("ab") as out:
        proc = subprocess.Popen([str(BIN / "modeldesk"), "serve", "--host", "127.0.0.1", "--port", str(port),
                                 "--workers", "2"], stdout=out, stderr=subprocess.STDOUT, cwd=root, env=env)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        # Both workers started (each logs it), then ready on a fresh connection (either worker).
        if len(set(re.findall(r"\[worker (\d+)\] uvicorn\.error: Application startup complete", log.read_text(
                errors="replace")))) < 2:
            return False
        try:
            return httpx.get(f"{url}/readyz", timeout=2, headers={"Connection": "close"}).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _wait(ready, proc, "modeldesk serve --workers 2", log, 300)
        yield {"url": url, "log": log, "env": env, "root": root, "proc": proc}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def ask(url: str, principal: str, message: str, session_id: str | None = None, client: httpx.Client | None = None):
    """One question; without `client`, on a connection of its own (either worker may take it)."""
    body = {"message": message, "session_id": session_id}
    headers = {"Authorization": f"Bearer key-{principal}"}
    if client is not None:
        return client.post(f"{url}/v1/chat", json=body, headers=headers)
    return httpx.post(f"{url}/v1/chat", json=body, headers={**headers, "Connection": "close"}, timeout=60)


def workers_that_answered(log: Path, since: int) -> set[str]:
    text = log.read_text(errors="replace")[since:]
    return set(re.findall(r"\[worker (\d+)\] uvicorn\.access: .*POST /v1/chat", text))


def _sweep(url: str, principal: str, client: httpx.Client | None, queries: int = 16) -> list[str]:
    """A balance sweep on one record, a fresh conversation every third query: each query's outcome."""
    outcomes, session = [], None
    for i in range(queries):
        if i % 3 == 0:
            session = None
        response = ask(url, principal, f"What if C-10293 had a balance of {400 + 25 * i}?", session, client)
        assert response.status_code == 200, response.text
        body = response.json()
        session = body["session_id"]
        if body["refused"]:
            outcomes.append("locked" if body["refusal"]["category"] == "locked" else "refused")
        else:
            outcomes.append("warned" if body["answer"].startswith("Note: you have asked many") else "answered")
    return outcomes


def test_both_workers_answer_and_report_ready(server):
    for _ in range(6):  # fresh connections: both workers say so
        ready = httpx.get(f"{server['url']}/readyz", timeout=10, headers={"Connection": "close"}).json()
        assert ready.get("status") == "ready" and ready["models"] == 3, ready
    assert "ingested 1 documents" in ready["checks"]["startup"]["detail"]
    mark = len(server["log"].read_text(errors="replace"))
    for i in range(16):
        assert ask(server["url"], "walker", f"What is the risk tier for customer C-{10000 + i}?").status_code == 200
    assert workers_that_answered(server["log"], mark) == {"0", "1"}


def test_a_sweep_split_across_workers_is_refused_at_the_same_query_as_in_one(server):
    url = server["url"]
    with httpx.Client(timeout=60) as one_connection:  # one keep-alive connection: one worker answers it all
        one = _sweep(url, "sweep-one", one_connection)
    mark = len(server["log"].read_text(errors="replace"))
    split = _sweep(url, "sweep-split", None)
    assert workers_that_answered(server["log"], mark) == {"0", "1"}
    assert split == one, f"one worker: {one}\nsplit across workers: {split}"
    assert "refused" in one[:10] and one[-1] == "locked"
    # The lock holds in every worker.
    for i in range(6):
        again = ask(url, "sweep-split", f"What is the risk tier for customer C-{10100 + i}?").json()
        assert again["refused"] and again["refusal"]["category"] == "locked"


def test_no_audit_record_is_lost_or_forks_the_chain_under_concurrent_load(server):
    url, env = server["url"], server["env"]

    def verify() -> dict:
        done = subprocess.run([str(BIN / "modeldesk"), "audit", "verify", "--json"], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)

    before = verify()["records"]
    answered: list[int] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        for j in range(8):
            response = ask(url, f"load-{i}", f"What is the risk tier for customer C-{11000 + 40 * i + j}?")
            with lock:
                answered.append(response.status_code)

    mark = len(server["log"].read_text(errors="replace"))
    threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert time.monotonic() - started < 300
    assert answered == [200] * 48
    assert workers_that_answered(server["log"], mark) == {"0", "1"}
    report = verify()
    assert report["ok"] and report["records"] == before + 48  # every answer once, one unbroken chain


def test_metrics_count_every_workers_answers_whichever_worker_is_scraped(server):
    url = server["url"]

    def answers() -> float:
        text = httpx.get(f"{url}/metrics", headers={"Connection": "close"}, timeout=30).text
        found = re.search(r'^modeldesk_answers_total\{endpoint="chat"\} ([0-9.e+]+)$', text, re.M)
        assert found, text[:2000]
        return float(found.group(1))

    before = answers()
    mark = len(server["log"].read_text(errors="replace"))
    for i in range(12):
        assert ask(url, "walker", f"What is the risk tier for customer C-{10500 + i}?").status_code == 200
    assert workers_that_answered(server["log"], mark) == {"0", "1"}
    assert [answers() for _ in range(6)] == [before + 12] * 6
