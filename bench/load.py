"""Load on the HTTP API: N concurrent clients on loopback against a real `modeldesk serve`.

    .venv/bin/python -m bench.load                       # 10 and 50 clients, prediction and mixed questions
    .venv/bin/python -m bench.load --clients 50 --think 0 --duration 30

The server is a subprocess (`python -m adapters.cli serve`) over the demo models, built into a
temporary data directory, and the bundled corpus (ingested at start-up). Each client has its own
API key and holds conversations: a question about one record, then follow-ups in the same
session ("Why?", a what-if, a cohort narrowed down). Clients wait `--think` seconds (uniform
between 0 and twice that) between questions, as a person reading the answer would, and start
staggered by as much; `--think 0` is a closed loop that measures saturation. Errors are non-200 responses and transport failures;
"no tool" counts 200 answers that called no tool (a clarifying question instead of an answer).
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

import httpx

from bench.common import pct, print_table, write_json

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
MIXES = {
    "predictions": PREDICTION_CONVERSATIONS,
    "mixed": PREDICTION_CONVERSATIONS * 2 + KNOWLEDGE_CONVERSATIONS,  # about one conversation in four on documents
}


def fill(template: str, rng: random.Random) -> str:
    return template.format(c=f"C-{rng.randint(10000, 12999)}", k=f"C-{rng.randint(20000, 22999)}",
                           t=f"T-{rng.randint(100000, 109999)}")


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    requests: int = 0
    errors: int = 0
    no_tool: int = 0
    error_samples: list[str] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what)


async def client(url: str | list[str], key: str, conversations: list[list[str]], deadline: float, think: float,
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
        for template in rng.choice(conversations):
            if time.perf_counter() >= deadline:
                return
            body = {"message": fill(template, rng), "session_id": session}
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
            if refusals is not None and answer["refused"]:
                category = answer["refusal"]["category"]
                refusals[category] = refusals.get(category, 0) + 1
            if not answer["tool_calls"]:
                tally.no_tool += 1
            if think > 0:
                await asyncio.sleep(rng.uniform(0, 2 * think))


async def run_load(url: str, keys: list[str], mix: str, duration: float, think: float) -> dict:
    tally = Tally()
    limits = httpx.Limits(max_connections=len(keys), max_keepalive_connections=len(keys))
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        started = time.perf_counter()
        deadline = started + duration
        await asyncio.gather(*(client(url, key, MIXES[mix], deadline, think, i, tally, http)
                               for i, key in enumerate(keys)))
        elapsed = time.perf_counter() - started
    lat = tally.latencies_ms
    return {"mix": mix, "clients": len(keys), "think_s": think, "duration_s": round(elapsed, 1),
            "requests": tally.requests,
            "throughput_rps": len(lat) / elapsed, "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95),
            "p99_ms": pct(lat, 99), "max_ms": max(lat) if lat else float("nan"), "errors": tally.errors,
            "no_tool": tally.no_tool, "error_samples": tally.error_samples}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, keys: dict, port: int, log_path: Path) -> subprocess.Popen:
    from assistant.demo import build_demo_models

    build_demo_models(data_dir / "demo" / "models")
    env = {**os.environ, "MODELDESK_DATA_DIR": str(data_dir), "MODELDESK_API_KEYS": json.dumps(keys),
           # The limiter still runs on every request; the bench measures answering, not throttling.
           "MODELDESK_RATE_LIMIT_PER_MINUTE": "1000000",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    for name in ("MODELDESK_MODELS_PATH", "MODELDESK_KNOWLEDGE_PATH", "MODELDESK_CHROMA_URL", "MODELDESK_REDIS_URL"):
        env.pop(name, None)
    log = log_path.open("w")
    return subprocess.Popen([sys.executable, "-m", "adapters.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--no-access-log"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


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


def warm_up(url: str, key: str) -> float:
    """One conversation of each kind, so first-use costs (explainers, caches) are not in the numbers."""
    started = time.perf_counter()
    rng = random.Random(0)
    with httpx.Client(timeout=120, headers={"Authorization": f"Bearer {key}"}) as http:
        for conversation in PREDICTION_CONVERSATIONS + KNOWLEDGE_CONVERSATIONS:
            session = None
            for template in conversation:
                response = http.post(f"{url}/v1/chat", json={"message": fill(template, rng), "session_id": session})
                response.raise_for_status()
                session = response.json()["session_id"]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--mix", nargs="+", choices=sorted(MIXES), default=["predictions", "mixed"])
    parser.add_argument("--think", type=float, nargs="+", default=[2.0, 0.0],
                        help="mean seconds between a client's questions (0: closed loop)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per run")
    parser.add_argument("--data-dir", type=Path, help="reuse this data directory (default: a temporary one)")
    parser.add_argument("--out", default="load", help="name of the JSON file under bench/results")
    args = parser.parse_args()

    max_clients = max(args.clients)
    keys = {f"bench-key-{i:03d}": {"principal": f"bench-{i:03d}", "role": "analyst" if i % 5 == 4 else "business"}
            for i in range(max_clients)}
    tmp = None
    if args.data_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="modeldesk-load-")
        args.data_dir = Path(tmp.name)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = args.data_dir / "server.log"
    server = start_server(args.data_dir, keys, port, log_path)
    try:
        ready_s = wait_ready(url, server)
        warm_s = warm_up(url, next(iter(keys)))
        print(f"server ready in {ready_s:.1f} s (models built, corpus ingested); warm-up {warm_s:.1f} s")
        runs = []
        for think in args.think:
            for mix in args.mix:
                for n in args.clients:
                    result = asyncio.run(run_load(url, list(keys)[:n], mix, args.duration, think))
                    runs.append(result)
                    print(f"  {mix:<11} think {think:.1f} s  {n:>3} clients: {result['throughput_rps']:.1f} req/s, "
                          f"p95 {result['p95_ms']:.0f} ms, errors {result['errors']}", flush=True)
                    for sample in result["error_samples"]:
                        print(f"    error: {sample}", flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    columns = ["mix", "think s", "clients", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors",
               "no tool"]
    rows = [[r["mix"], r["think_s"], r["clients"], r["requests"], r["throughput_rps"], r["p50_ms"], r["p95_ms"],
             r["p99_ms"], r["max_ms"], r["errors"], r["no_tool"]] for r in runs]
    print_table(f"HTTP load: /v1/chat on loopback, one uvicorn process, {os.cpu_count()} CPUs, {args.duration:.0f} s "
                "per run", columns, rows)
    if any(r["errors"] for r in runs):
        print(f"server log: {log_path}" if tmp is None else "(run with --data-dir to keep the server log)")
    command = "python -m bench.load " + " ".join(sys.argv[1:])
    path = write_json(args.out, {"command": command.strip(), "cpus": os.cpu_count(), "server_ready_s": ready_s,
                                 "warm_up_s": warm_s, "target": "0 errors, p95 <= 300 ms at 50 clients (predictions)",
                                 "runs": runs})
    print(f"wrote {path}")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
