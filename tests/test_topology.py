"""The docker-compose topology, reproduced with real processes on loopback (tests/topology.py).

A `chroma run` server, a redis-server, the one-shot ingest job and two `modeldesk serve` replicas
that share only MODELDESK_CHROMA_URL, MODELDESK_REDIS_URL, the API keys and the models folder
(each has its own data directory). What a user of a load-balanced deployment relies on: a
conversation continues on whichever replica answers, an extraction sweep is caught as early
when it is spread over replicas and sessions, Redis and Chroma outages degrade plainly and
recover by themselves, and a replica killed mid-load loses no audit record.
"""

from __future__ import annotations

import itertools
import random
import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.redis_server import REDIS_SERVER
from tests.topology import ROOT, Topology

CORPUS = ROOT / "knowledge" / "corpus"
# A small knowledge folder: embedding the whole demo corpus into the server takes ~90 s here.
DOCUMENTS = ["limitations/customer-churn-limitations.md", "policies/risk-tier-policy.md", "model_cards/credit-default.md"]
PRINCIPALS = ["walker", "sweep-one", "sweep-both", "steady-1", "steady-2", "steady-3", "probe", "loader"]
KEYS = {f"key-{p}": {"principal": p, "role": "business"} for p in PRINCIPALS}
PREDICTION = "What is the risk tier for customer {c}?"
DOCUMENT = "What are the limitations of the churn model?"
RECORDS = [f"C-{10000 + i}" for i in range(0, 200, 10)]

pytestmark = pytest.mark.skipif(not Path(REDIS_SERVER).exists(), reason="redis-server is not installed")


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    root = tmp_path_factory.mktemp("topology")
    knowledge = root / "knowledge"
    knowledge.mkdir()
    for name in DOCUMENTS:
        shutil.copy(CORPUS / name, knowledge / Path(name).name)
    with Topology(root, [knowledge], KEYS, replicas=2) as topo:
        yield topo


def ask(url: str, principal: str, message: str, session_id: str | None = None, timeout: float = 30) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat", json={"message": message, "session_id": session_id},
                      headers={"Authorization": f"Bearer key-{principal}"}, timeout=timeout)


def test_replicas_share_nothing_on_disk_and_both_are_ready(topology):
    for replica in topology.api:
        ready = httpx.get(f"{replica.url}/readyz", timeout=10).json()
        assert ready["status"] == "ready" and ready["models"] == 3
        assert "(Redis)" in ready["checks"]["state"]["detail"] and "(server)" in ready["checks"]["knowledge"]["detail"]
        state = replica.folder / "data" / "state"
        assert not list(state.glob("*.sqlite")) if state.exists() else True  # sessions, guard, feedback: Redis
        assert not (replica.folder / "data" / "chroma").exists()  # documents: the Chroma server


def test_a_conversation_continues_on_the_other_replica(topology):
    a, b = topology.api
    first = ask(a.url, "walker", "What is the risk tier for C-10293?")
    assert first.status_code == 200, first.text
    session = first.json()["session_id"]
    assert first.json()["tool_calls"][0]["arguments"]["record_id"] == "C-10293"

    follow_up = ask(b.url, "walker", "why?", session)
    assert follow_up.status_code == 200, follow_up.text
    body = follow_up.json()
    assert body["session_id"] == session
    assert [c["name"] for c in body["tool_calls"]] == ["explain"]
    assert body["tool_calls"][0]["arguments"] == {"model_id": "credit-default", "record_id": "C-10293"}
    assert "C-10293" in body["answer"] and "because" in body["answer"]

    back = ask(a.url, "walker", "What if her balance were $500 lower?", session)  # and back on A
    assert back.json()["tool_calls"][0]["name"] == "what_if"
    assert back.json()["tool_calls"][0]["arguments"]["record_id"] == "C-10293"

    # Feedback on an answer from A, given through B, lands on that answer.
    rated = httpx.post(f"{b.url}/v1/feedback", json={"answer_id": first.json()["answer_id"], "rating": "up"},
                       headers={"Authorization": "Bearer key-walker"}, timeout=10)
    assert rated.status_code == 201 and rated.json()["answer_id"] == first.json()["answer_id"], rated.text


def _sweep(urls: list[str], principal: str, queries: int = 16, session_every: int = 3) -> list[str]:
    """The outcome of each query of a balance sweep on one record: answered, warned, refused or locked."""
    outcomes, session = [], None
    for i, url in zip(range(queries), itertools.cycle(urls)):
        if i % session_every == 0:
            session = None  # a fresh conversation, as an attacker would open to look innocent
        response = ask(url, principal, f"What if C-10293 had a balance of {400 + 25 * i}?", session)
        assert response.status_code == 200, response.text
        body = response.json()
        session = body["session_id"]
        if body["refused"]:
            outcomes.append("locked" if body["refusal"]["category"] == "locked" else "refused")
        else:
            outcomes.append("warned" if body["answer"].startswith("Note: you have asked many") else "answered")
    return outcomes


def test_an_extraction_sweep_over_both_replicas_is_caught_as_early_as_on_one(topology):
    a, b = topology.api
    one = _sweep([a.url], "sweep-one")
    both = _sweep([a.url, b.url], "sweep-both")
    assert both == one, f"one replica: {one}\nboth replicas: {both}"
    assert "refused" in one[:10] and one[-1] == "locked"
    assert one.index("refused") == both.index("refused") and one.index("locked") == both.index("locked")
    # The lock is shared too: the attacker gets no fresh start on either replica.
    for replica in topology.api:
        again = ask(replica.url, "sweep-both", "What is the risk tier for C-10293?").json()
        assert again["refused"] and again["refusal"]["category"] == "locked"


class Load:
    """Background clients (one principal each) asking prediction and document questions of both replicas."""

    def __init__(self, urls: list[str], principals: list[str]):
        self.urls, self.principals = urls, principals
        # (sent, answered, kind, status, refusal category, answer text)
        self.results: list[tuple[float, float, str, int, str | None, str]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(p, i), daemon=True)
                         for i, p in enumerate(principals)]

    def _client(self, principal: str, seed: int) -> None:
        rng = random.Random(seed)
        urls = itertools.cycle(self.urls[seed % len(self.urls):] + self.urls[:seed % len(self.urls)])
        while not self._stop.is_set():
            kind = rng.choice(["prediction", "prediction", "document"])
            message = PREDICTION.format(c=rng.choice(RECORDS)) if kind == "prediction" else DOCUMENT
            sent = time.monotonic()
            try:
                response = ask(next(urls), principal, message, timeout=15)
            except httpx.HTTPError as exc:
                self.results.append((sent, time.monotonic(), kind, 0, None, type(exc).__name__))
                continue
            body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
            category = (body.get("refusal") or {}).get("category") if body.get("refused") else None
            self.results.append((sent, time.monotonic(), kind, response.status_code, category,
                                 body.get("answer") or str(body.get("error"))))
            time.sleep(0.05)

    def __enter__(self) -> "Load":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def _probe(url: str) -> tuple[dict, dict, httpx.Response]:
    prediction = ask(url, "probe", "What is the risk tier for C-10293?")
    document = ask(url, "probe", DOCUMENT)
    assert prediction.status_code == 200 and document.status_code == 200, (prediction.text, document.text)
    return prediction.json(), document.json(), httpx.get(f"{url}/readyz", timeout=10)


def _recovered(urls: list[str], timeout: float) -> float:
    """Seconds until both replicas answer a prediction and a document question and say they are ready."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        ok = True
        for url in urls:
            prediction, document, ready = _probe(url)
            ok &= (not prediction["refused"] and bool(document["citations"]) and ready.status_code == 200)
        if ok:
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"not recovered within {timeout} s: {prediction}, {document}, {ready.text}")


def test_redis_and_chroma_outages_degrade_plainly_and_recover_without_500s(topology):
    urls = [r.url for r in topology.api]
    with Load(urls, ["steady-1", "steady-2", "steady-3"]) as load:
        time.sleep(2)

        # Redis down: predictions fail closed (the guardrails cannot count), documents still answer.
        topology.redis.stop()
        outage = time.monotonic()
        time.sleep(1)
        for url in urls:
            prediction, document, ready = _probe(url)
            assert prediction["refused"] is False or prediction["refusal"]["category"] == "unavailable", prediction
            assert prediction["refused"], "predictions are not served without the guardrails' records"
            assert "can't answer prediction questions right now" in prediction["answer"]
            assert not document["refused"] and document["citations"], document
            assert ready.status_code == 503
            state = ready.json()["checks"]["state"]
            assert not state["ok"] and "redis" in state["detail"] and "sessions" in state["detail"]
        redis_restart = time.monotonic()  # it answers PING before start() returns
        topology.redis.start()
        redis_back = time.monotonic()
        redis_recovery = _recovered(urls, timeout=10)

        # Chroma down: predictions still answered, documents get a plain "knowledge base unavailable".
        topology.chroma.stop()
        time.sleep(1)
        for url in urls:
            prediction, document, ready = _probe(url)
            assert not prediction["refused"] and prediction["tool_calls"][0]["name"] == "predict", prediction
            assert "knowledge base is unavailable" in document["answer"].lower(), document
            assert ready.status_code == 503
            checks = ready.json()["checks"]
            assert not checks["knowledge"]["ok"] and "knowledge base unavailable" in checks["knowledge"]["detail"]
            assert checks["state"]["ok"]
        topology.chroma.start()
        chroma_back = time.monotonic()
        chroma_recovery = _recovered(urls, timeout=10)
        settled = time.monotonic()
        time.sleep(3)

    statuses = Counter(r[3] for r in load.results)
    assert statuses[500] == 0 and statuses[0] == 0, statuses
    assert set(statuses) == {200}, [r for r in load.results if r[3] != 200][:5]
    during = [r for r in load.results if outage < r[0] and r[1] < redis_restart and r[2] == "prediction"]
    assert during and all(r[4] == "unavailable" for r in during), [r for r in during if r[4] != "unavailable"][:3]
    after = [r for r in load.results if r[0] > settled]
    # Everything answers again (the guardrails may still refuse a client that looks like it is probing).
    assert after and all(r[4] != "unavailable" for r in after), after[:5]
    assert all("knowledge base is unavailable" not in r[5].lower() for r in after)
    print(f"recovery after restart: redis {redis_recovery:.1f} s, chroma {chroma_recovery:.1f} s; "
          f"{len(load.results)} background requests: {dict(statuses)}, refusals "
          f"{dict(Counter(r[4] for r in load.results if r[4]))}; chroma restart took "
          f"{chroma_back - redis_back - redis_recovery:.1f} s including its shutdown")


def test_no_audit_record_is_lost_when_a_replica_is_killed_mid_load(topology):
    from assistant.audit import RedisAuditLog

    a, b = topology.api
    answered: list[str] = []
    failed = Counter()
    stop = threading.Event()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        urls = itertools.cycle([a.url, b.url] if seed % 2 else [b.url, a.url])
        while not stop.is_set():
            try:
                response = ask(next(urls), "loader", PREDICTION.format(c=rng.choice(RECORDS)), timeout=15)
            except httpx.HTTPError as exc:
                failed[type(exc).__name__] += 1
                continue
            if response.status_code == 200:
                answered.append(response.json()["answer_id"])
            else:
                failed[response.status_code] += 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    b.kill()  # SIGKILL: requests in flight on B die with it
    killed_at = len(answered)
    time.sleep(3)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert killed_at > 10 and len(answered) > killed_at, (killed_at, len(answered))
    assert failed, "some requests were in flight on, or sent to, the killed replica"
    assert 500 not in failed

    log = RedisAuditLog(topology.redis.url)
    try:
        recorded, since = set(), 0
        while batch := log.entries(since_seq=since, limit=1000):
            recorded |= {e.answer_id for e in batch if e.principal == "loader"}
            since = batch[-1].seq
    finally:
        log.close()
    missing = set(answered) - recorded
    assert not missing, f"{len(missing)} of {len(answered)} answered requests have no audit record"

    verify = topology.run("audit", "verify")
    assert verify.returncode == 0 and "audit log OK" in verify.stdout, verify.stdout + verify.stderr
