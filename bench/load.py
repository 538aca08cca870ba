"""Load on the HTTP API: N concurrent clients on loopback against a real `modeldesk serve`.

    .venv/bin/python -m bench.load                       # the three runs of issue 19 (below), new questions
    .venv/bin/python -m bench.load --clients 50 --think 0 --duration 30 --workers 1
    .venv/bin/python -m bench.load --mix conversations   # the older demo conversations with follow-ups

The server is a subprocess (`python -m adapters.cli serve --workers N`, default one per core) over
the demo models, built into a temporary data directory, and the bundled corpus (ingested at
start-up), with every learned part on (the guard's judge, the planner's classifier) and per-person
budgets raised (MODELDESK_GUARD_BUDGETS) so that load is measured rather than locked out; every
guard check still runs on every message. Each client has its own API key.

Mixes. `new` (the default): every question is new text — the tier, the reasons or a what-if (a
random amount) for a random real record, the model named (bench/questions.py) — so nothing is
answered from a cache of repeated messages. `new-mixed`: the same plus cohort and document
questions (about one in four). `conversations` / `conversations-mixed`: the older demo
conversations (a question about one record, then follow-ups such as "Why?" in the same session).

Default runs: one client asking one question at a time (latency without queueing; compared with
one encoder pass measured in this process), 50 clients pausing 0–4 s between questions (2 s on
average, a person reading the answer), and 50 clients in a closed loop (saturation). `--clients`
and `--think` replace them with their cross product. Errors are non-200 responses and transport
failures; "no tool" counts 200 answers that called no tool (a clarifying question instead).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import httpx

from bench.common import pct, print_table, write_json
from bench.questions import KINDS, PREDICTION_KINDS, RAISED_BUDGETS, Questions, encoder_p50

ROOT = Path(__file__).resolve().parent.parent

# Conversations a loan officer, a retention manager or a fraud analyst would hold. {c}, {k}, {t}:
# random credit, churn (customer) and fraud (transaction) record ids.
PREDICTION_CONVERSATIONS = [
    ["What is the risk tier for customer {c}?", "Why?", "What if her balance were $500 lower?"],
    ["What is the risk tier for customer {c}?", "What if his balance were $1,000 higher?"],
    ["Is customer {k} likely to churn?", "Why?"],
    ["Is customer {k} likely to churn?", "What would it take to move her to a lower tier?"],
    ["What is the fraud risk tier for transaction {t}?", "Why?"],
    ["How many customers in the West region are high risk of default?", "And only students?"],
]
KNOWLEDGE_CONVERSATIONS = [
    ["What are the limitations of the churn model?"],
    ["Is the fraud model safe to rely on right now?"],
    ["How accurate is the credit default model?"],
    ["Can I use the churn model for small-business accounts?"],
]
CONVERSATIONS = {
    "conversations": PREDICTION_CONVERSATIONS,
    "conversations-mixed": PREDICTION_CONVERSATIONS * 2 + KNOWLEDGE_CONVERSATIONS,  # one in four on documents
}
NEW = {"new": PREDICTION_KINDS, "new-mixed": PREDICTION_KINDS * 3 + ("cohort", "documents") * 2}  # ~1 in 4 others
MIXES = [*NEW, *CONVERSATIONS]
DEFAULT_RUNS = [(1, 0.0), (50, 2.0), (50, 0.0)]  # (clients, think s): one at a time, people reading, saturation
Source = Callable[[random.Random], Iterator[str]]  # one conversation's messages (new questions: one each)


def source(mix: str, record_ids: dict[str, list[str]] | None = None) -> Source:
    """What a client asks: conversations from the templates, or one new question at a time."""
    if mix in CONVERSATIONS:
        def conversation(rng: random.Random) -> Iterator[str]:
            for template in rng.choice(CONVERSATIONS[mix]):
                yield fill(template, rng)
        return conversation
    if record_ids is None:
        raise ValueError(f"mix {mix!r} needs the models' record ids")

    def new(rng: random.Random) -> Iterator[str]:
        yield Questions(record_ids, rng).draw(rng.choice(NEW[mix]))
    return new


def fill(template: str, rng: random.Random) -> str:
    return template.format(c=f"C-{rng.randint(10000, 12999)}", k=f"C-{rng.randint(20000, 22999)}",
                           t=f"T-{rng.randint(100000, 109999)}")


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    requests: int = 0
    errors: int = 0
    refused: int = 0
    no_tool: int = 0
    error_samples: list[str] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what)


async def client(url: str | list[str], key: str, ask: Source, deadline: float, think: float,
                 seed: int, tally: Tally, http: httpx.AsyncClient, refusals: dict[str, int] | None = None) -> None:
    """One person holding conversations; with several URLs (replicas) each question goes to the next one."""
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {key}"}
    urls = [url] if isinstance(url, str) else list(url)
    targets = itertools.cycle(urls[seed % len(urls):] + urls[:seed % len(urls)])
    if think > 0:  # people do not all press Enter at the same instant: stagger the first questions
        await asyncio.sleep(rng.uniform(0, 2 * think))
    while time.perf_counter() < deadline:
        session = None
        for message in ask(rng):
            if time.perf_counter() >= deadline:
                return
            body = {"message": message, "session_id": session}
            started = time.perf_counter()
            tally.requests += 1
            try:
                response = await http.post(f"{next(targets)}/v1/chat", json=body, headers=headers)
            except httpx.HTTPError as exc:
                tally.error(f"{type(exc).__name__}: {exc}")
                continue
            tally.latencies_ms.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                tally.error(f"{response.status_code}: {response.text[:200]}")
                continue
            answer = response.json()
            session = answer["session_id"]
            if answer["refused"]:
                tally.refused += 1
                if refusals is not None:
                    category = answer["refusal"]["category"]
                    refusals[category] = refusals.get(category, 0) + 1
            if not answer["tool_calls"]:
                tally.no_tool += 1
            if think > 0:
                await asyncio.sleep(rng.uniform(0, 2 * think))


async def run_load(url: str, keys: list[str], mix: str, duration: float, think: float,
                   record_ids: dict[str, list[str]] | None = None, seed: int = 0) -> dict:
    tally = Tally()
    ask = source(mix, record_ids)
    load_before = os.getloadavg()[0]
    limits = httpx.Limits(max_connections=len(keys), max_keepalive_connections=len(keys))
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        started = time.perf_counter()
        deadline = started + duration
        await asyncio.gather(*(client(url, key, ask, deadline, think, seed + i, tally, http)
                               for i, key in enumerate(keys)))
        elapsed = time.perf_counter() - started
    lat = tally.latencies_ms
    return {"mix": mix, "clients": len(keys), "think_s": think, "duration_s": round(elapsed, 1),
            "requests": tally.requests,
            "throughput_rps": len(lat) / elapsed, "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95),
            "p99_ms": pct(lat, 99), "max_ms": max(lat) if lat else float("nan"), "errors": tally.errors,
            "refused": tally.refused, "no_tool": tally.no_tool, "error_samples": tally.error_samples,
            "load_average_before": load_before, "load_average_after": os.getloadavg()[0]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, keys: dict, port: int, log_path: Path, workers: int | None = None) -> subprocess.Popen:
    from assistant.demo import build_demo_models

    build_demo_models(data_dir / "demo" / "models")
    env = {**os.environ, "MODELDESK_DATA_DIR": str(data_dir), "MODELDESK_API_KEYS": json.dumps(keys),
           # The limiter still runs on every request; the bench measures answering, not throttling.
           "MODELDESK_RATE_LIMIT_PER_MINUTE": "1000000", "MODELDESK_GUARD_BUDGETS": RAISED_BUDGETS,
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    for name in ("MODELDESK_MODELS_PATH", "MODELDESK_KNOWLEDGE_PATH", "MODELDESK_CHROMA_URL", "MODELDESK_REDIS_URL",
                 "MODELDESK_GUARD_JUDGE", "MODELDESK_GUARDRAILS", "MODELDESK_WORKERS"):
        env.pop(name, None)  # every learned part on, as served by default
    command = [sys.executable, "-m", "adapters.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--no-access-log"] + (["--workers", str(workers)] if workers else [])
    log = log_path.open("w")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(url: str, server: subprocess.Popen, timeout: float = 600) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not become ready")


def record_ids(models: Path) -> dict[str, list[str]]:
    return Questions.from_models_dir(models).ids


def warm_up(url: str, key: str, ids: dict[str, list[str]] | None = None, rounds: int = 1) -> float:
    """Every question kind on fresh connections (so every worker takes some): first-use costs out of the figures."""
    started = time.perf_counter()
    rng = random.Random(0)
    with httpx.Client(timeout=120, headers={"Authorization": f"Bearer {key}", "Connection": "close"}) as http:
        for _ in range(rounds):
            for conversation in PREDICTION_CONVERSATIONS + KNOWLEDGE_CONVERSATIONS:
                session = None
                for template in conversation:
                    response = http.post(f"{url}/v1/chat", json={"message": fill(template, rng), "session_id": session})
                    response.raise_for_status()
                    session = response.json()["session_id"]
            if ids is not None:
                questions = Questions(ids, rng)
                for kind in KINDS * 3:
                    http.post(f"{url}/v1/chat", json={"message": questions.draw(kind)}).raise_for_status()
    return time.perf_counter() - started


def encoder_pass_ms(ids: dict[str, list[str]], n: int = 300) -> float:
    """p50 of one pass of the sentence model (as served: ONNX Runtime, one thread) over one new question."""
    from knowledge.embedder import Embedder

    embedder = Embedder(threads=1)
    questions = Questions(ids, random.Random(7))
    embedder.embed(["warm up"])
    return encoder_p50(embedder, questions, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", help="client counts (with --think: their cross product)")
    parser.add_argument("--think", type=float, nargs="+",
                        help="mean seconds between a client's questions (0: closed loop)")
    parser.add_argument("--mix", nargs="+", choices=MIXES, default=["new"])
    parser.add_argument("--workers", type=int, help="server worker processes (default: `serve`'s, one per core)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per run")
    parser.add_argument("--data-dir", type=Path, help="reuse this data directory (default: a temporary one)")
    parser.add_argument("--out", default="load", help="name of the JSON file under bench/results")
    args = parser.parse_args()
    if args.clients or args.think:
        plan = [(n, t) for t in (args.think or [2.0, 0.0]) for n in (args.clients or [10, 50])]
    else:
        plan = DEFAULT_RUNS

    # Fresh principals for every run, so no run inherits another's query history.
    needed = len(args.mix) * sum(n for n, _ in plan)
    keys = {f"bench-key-{i:04d}": {"principal": f"bench-{i:04d}", "role": "analyst" if i % 5 == 4 else "business"}
            for i in range(needed + 1)}
    warm_key, fresh = list(keys)[-1], iter(list(keys)[:needed])
    tmp = None
    if args.data_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="modeldesk-load-")
        args.data_dir = Path(tmp.name)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = args.data_dir / "server.log"
    server = start_server(args.data_dir, keys, port, log_path, args.workers)
    ids = record_ids(args.data_dir / "demo" / "models")
    workers = args.workers or len(os.sched_getaffinity(0))
    try:
        ready_s = wait_ready(url, server)
        warm_s = warm_up(url, warm_key, ids, rounds=workers)
        encoder_ms = encoder_pass_ms(ids)
        print(f"server ready in {ready_s:.1f} s ({workers} worker{'s' if workers > 1 else ''}; models built, corpus "
              f"ingested); warm-up {warm_s:.1f} s; one encoder pass p50 {encoder_ms:.1f} ms", flush=True)
        runs = []
        for mix in args.mix:
            for n, think in plan:
                result = asyncio.run(run_load(url, list(itertools.islice(fresh, n)), mix, args.duration, think, ids,
                                              seed=len(runs) * 1000))
                runs.append(result)
                print(f"  {mix:<11} think {think:.1f} s  {n:>3} clients: {result['throughput_rps']:.1f} req/s, "
                      f"p50 {result['p50_ms']:.0f} ms, p95 {result['p95_ms']:.0f} ms, errors {result['errors']}, "
                      f"load average {result['load_average_after']:.1f}", flush=True)
                for sample in result["error_samples"]:
                    print(f"    error: {sample}", flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    columns = ["mix", "think s", "clients", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors",
               "refused", "no tool", "load avg"]
    rows = [[r["mix"], r["think_s"], r["clients"], r["requests"], r["throughput_rps"], r["p50_ms"], r["p95_ms"],
             r["p99_ms"], r["max_ms"], r["errors"], r["refused"], r["no_tool"], r["load_average_after"]] for r in runs]
    print_table(f"HTTP load: /v1/chat on loopback, `serve --workers {workers}`, {os.cpu_count()} CPUs shared with the "
                f"load generator, {args.duration:.0f} s per run", columns, rows)
    goals = goals_met(runs, encoder_ms)
    for line in goals["lines"]:
        print(line)
    if any(r["errors"] for r in runs):
        print(f"server log: {log_path}" if tmp is None else "(run with --data-dir to keep the server log)")
    command = "python -m bench.load " + " ".join(sys.argv[1:])
    path = write_json(args.out, {"command": command.strip(), "cpus": os.cpu_count(), "workers": workers,
                                 "server_ready_s": ready_s, "warm_up_s": warm_s, "encoder_pass_p50_ms": encoder_ms,
                                 "goals": goals["met"], "runs": runs})
    print(f"wrote {path}")
    if tmp is not None:
        tmp.cleanup()


def goals_met(runs: list[dict], encoder_ms: float) -> dict:
    """Issue 19's goals, for the runs that measure them (new prediction questions)."""
    lines, met = [], {}
    for r in runs:
        if r["mix"] != "new":
            continue
        if r["clients"] == 1 and r["think_s"] == 0:
            ratio = r["p50_ms"] / encoder_ms
            met["one_at_a_time_p50_le_2x_encoder"] = ratio <= 2
            lines.append(f"goal: one question at a time p50 <= 2x one encoder pass: {r['p50_ms']:.1f} ms = "
                         f"{ratio:.1f}x {encoder_ms:.1f} ms -> {'met' if ratio <= 2 else 'NOT met'}")
        elif r["clients"] == 50 and r["think_s"] == 2:
            met["people_p95_le_150ms"] = r["p95_ms"] <= 150
            lines.append(f"goal: 50 clients at 2 s think p95 <= 150 ms: {r['p95_ms']:.0f} ms -> "
                         f"{'met' if r['p95_ms'] <= 150 else 'NOT met'}")
        elif r["clients"] == 50 and r["think_s"] == 0:
            met["closed_loop_ge_50_per_s"] = r["throughput_rps"] >= 50
            lines.append(f"goal: 50 clients closed loop >= 50 answers/s: {r['throughput_rps']:.1f} -> "
                         f"{'met' if r['throughput_rps'] >= 50 else 'NOT met'}")
    return {"lines": lines, "met": met}


if __name__ == "__main__":
    main()
