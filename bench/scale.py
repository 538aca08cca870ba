"""Scale-out: throughput and latency of 1 and 2 API replicas behind a round-robin load balancer.

    .venv/bin/python -m bench.scale                      # 1 and 2 replicas, 10 and 50 clients, closed loop and 2 s think
    .venv/bin/python -m bench.scale --duration 30 --lb client

The topology is docker-compose.yml's, as real processes on loopback (tests/topology.py): a
`chroma run` server, a redis-server, the `modeldesk ingest` job and two `modeldesk serve` replicas
sharing Chroma, Redis and the models folder, each with its own data directory. In front of them,
Debian's nginx (round robin, the compose file's settings) when it is installed, else the clients
alternate between the replicas themselves (`--lb client`). "1 replica" runs stop the second
replica and send everything to the first.

Each client is its own principal (API key) and asks bench/load.py's `new-mixed` questions by default:
every message new text (tiers, reasons and what-ifs with random amounts on random real records, the
model named; about one in four a cohort or document question); `--mix conversations-mixed` asks the
older demo conversations with follow-ups. `--workers` sets each replica's answering processes.
The guardrails run on every request, with budgets raised (MODELDESK_GUARD_BUDGETS) so that a
client asking hundreds of questions a minute is measured rather than locked out. Clients wait
`--think` seconds (uniform between 0 and twice that) between questions; 0 is a closed loop that
measures saturation. The load generator runs on the same machine and takes its share of the CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import pct, print_table, write_json
from bench.questions import RAISED_BUDGETS
from bench.load import MIXES, Tally, client, source, warm_up
from bench.questions import Questions

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/topology.py: the same harness the topology test uses

from tests.redis_server import free_port  # noqa: E402
from tests.topology import Topology  # noqa: E402

KNOWLEDGE = ["model_cards", "limitations", "policies", "faq"]  # the document questions' sources (~15 files)
BUDGETS = RAISED_BUDGETS


class Nginx:
    """Debian's nginx as the round-robin load balancer (deploy/nginx.conf's proxy settings)."""

    def __init__(self, folder: Path, upstreams: list[str]):
        self.folder, self.port = folder, free_port()
        folder.mkdir(parents=True, exist_ok=True)
        servers = "\n".join(f"        server {u.removeprefix('http://')} max_fails=2 fail_timeout=10s;" for u in upstreams)
        (folder / "nginx.conf").write_text(f"""
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream modeldesk_api {{
{servers}
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        location / {{
            proxy_pass http://modeldesk_api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream error timeout http_502;
            proxy_read_timeout 120s;
            proxy_buffering off;
        }}
    }}
}}
""")
        self.proc = subprocess.Popen([shutil.which("nginx"), "-c", str(folder / "nginx.conf"), "-p", str(folder)],
                                     stdout=subprocess.DEVNULL, stderr=open(folder / "stderr.log", "wb"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/healthz", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise SystemExit(f"nginx did not start; see {folder}/error.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


async def run_load(urls: list[str], keys: list[str], duration: float, think: float, mix: str,
                   ids: dict[str, list[str]]) -> dict:
    tally, refusals = Tally(), {}
    ask = source(mix, ids)
    limits = httpx.Limits(max_connections=len(keys) * len(urls), max_keepalive_connections=len(keys) * len(urls))
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(urls, key, ask, started + duration, think, i, tally, http, refusals)
                               for i, key in enumerate(keys)))
        elapsed = time.perf_counter() - started
    lat = tally.latencies_ms
    return {"clients": len(keys), "think_s": think, "mix": mix, "duration_s": round(elapsed, 1),
            "requests": tally.requests,
            "throughput_rps": len(lat) / elapsed, "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95),
            "p99_ms": pct(lat, 99), "errors": tally.errors, "refused": sum(refusals.values()),
            "refusals": refusals, "no_tool": tally.no_tool,
            "error_samples": tally.error_samples, "load_average": os.getloadavg()[0]}


def capacity(runs: list[dict], cpus: int, think_person: float, utilisation: float) -> dict:
    """Replicas needed for N people, from the measured closed-loop throughput of one and two replicas."""
    closed = {(r["replicas"], r["clients"]): r["throughput_rps"] for r in runs if r["think_s"] == 0}
    one = max(v for (n, _), v in closed.items() if n == 1)
    two = max(v for (n, _), v in closed.items() if n == 2)
    per_replica = one  # a replica is one Python process: it uses about one core (answering holds the GIL)
    per_core = two / cpus
    users_per_replica = per_replica * utilisation * think_person
    return {"one_replica_rps": one, "two_replicas_rps": two, "speed_up": two / one, "answers_per_s_per_core": per_core,
            "think_person_s": think_person, "utilisation": utilisation, "users_per_replica": users_per_replica,
            "replicas_for": {n: math.ceil(n / users_per_replica) for n in (100, 1000, 5000)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--think", type=float, nargs="+", default=[0.0, 2.0],
                        help="mean seconds between a client's questions (0: closed loop)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per run")
    parser.add_argument("--lb", choices=["auto", "nginx", "client"], default="auto",
                        help="nginx round robin (auto: when installed), or clients alternating between replicas")
    parser.add_argument("--person-think", type=float, default=30.0,
                        help="capacity estimate: mean seconds between one real person's questions")
    parser.add_argument("--mix", choices=MIXES, default="new-mixed")
    parser.add_argument("--workers", type=int, default=1, help="answering processes per replica (`serve --workers`)")
    parser.add_argument("--keep", type=Path, help="keep the processes' folders (logs) here")
    parser.add_argument("--out", default="scale", help="name of the JSON file under bench/results")
    args = parser.parse_args()
    lb = "nginx" if args.lb == "nginx" or (args.lb == "auto" and shutil.which("nginx")) else "client"
    if lb == "nginx" and not shutil.which("nginx"):
        raise SystemExit("nginx is not installed (apt-get install nginx-light), or use --lb client")

    # Fresh principals for every run, so no run inherits another's query history.
    needed = 2 * len(args.think) * sum(args.clients)
    keys = {f"scale-key-{i:04d}": {"principal": f"scale-{i:04d}", "role": "analyst" if i % 5 == 4 else "business"}
            for i in range(needed + 1)}
    warm_key, fresh = list(keys)[-1], iter(list(keys)[:needed])
    tmp = None if args.keep else tempfile.TemporaryDirectory(prefix="modeldesk-scale-")
    root = args.keep or Path(tmp.name)
    root.mkdir(parents=True, exist_ok=True)
    knowledge = [ROOT / "knowledge" / "corpus" / k for k in KNOWLEDGE]
    topo = Topology(root, knowledge, keys, replicas=2, workers=args.workers,
                    extra_env={"MODELDESK_GUARD_BUDGETS": BUDGETS})
    runs: list[dict] = []
    balancer = None
    try:
        started = time.perf_counter()
        topo.start()
        print(f"topology up in {time.perf_counter() - started:.0f} s ({', '.join(f'{k} {v:.0f} s' for k, v in topo.timings.items())})",
              flush=True)
        ids = Questions.from_models_dir(topo.models).ids
        for replica in topo.api:
            warm_up(replica.url, warm_key, ids, rounds=args.workers)
        for replicas in (2, 1):
            if replicas == 1:
                topo.api[1].stop()
            urls = [r.url for r in topo.api[:replicas]]
            if lb == "nginx":
                balancer = Nginx(root / f"nginx-{replicas}", urls)
                targets = [balancer.url]
            else:
                targets = urls
            for think in args.think:
                for n in args.clients:
                    result = {"replicas": replicas, "lb": lb,
                              **asyncio.run(run_load(targets, list(itertools.islice(fresh, n)), args.duration, think, args.mix,
                                                     ids))}
                    runs.append(result)
                    print(f"  {replicas} replica{'s' if replicas > 1 else ' '}  think {think:.0f} s  {n:>3} clients: "
                          f"{result['throughput_rps']:.1f} req/s, p50 {result['p50_ms']:.0f} ms, "
                          f"p95 {result['p95_ms']:.0f} ms, errors {result['errors']}, refused {result['refusals']}",
                          flush=True)
                    for sample in result["error_samples"]:
                        print(f"    error: {sample}", flush=True)
            if balancer is not None:
                balancer.stop()
                balancer = None
    finally:
        if balancer is not None:
            balancer.stop()
        topo.stop()

    cpus = os.cpu_count() or 1
    load_avg = os.getloadavg()[0]
    columns = ["replicas", "clients", "think s", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "refused"]
    rows = [[r["replicas"], r["clients"], r["think_s"], r["requests"], r["throughput_rps"], r["p50_ms"], r["p95_ms"],
             r["p99_ms"], r["errors"], r["refused"]] for r in runs]
    print_table(f"Scale-out: /v1/chat ({args.mix}, {args.workers} worker{'s' if args.workers > 1 else ''} per replica) through {'nginx' if lb == 'nginx' else 'client-side'} round robin, "
                f"{cpus} CPUs shared by everything, {args.duration:.0f} s per run", columns, rows)
    estimate = capacity(runs, cpus, args.person_think, 0.6)
    print(f"Capacity estimate. Measured here: one replica {estimate['one_replica_rps']:.0f} answers/s, two replicas "
          f"{estimate['two_replicas_rps']:.0f} answers/s ({estimate['speed_up']:.2f}x) on {cpus} cores that also run "
          f"Redis, Chroma, {'nginx, ' if lb == 'nginx' else ''}the load generator and other work (load average "
          f"{load_avg:.1f}): about {estimate['answers_per_s_per_core']:.0f} answers/s per core.")
    print(f"Assumptions: one answering process per core (a replica or `serve --workers` worker is one Python process and answering holds the GIL, so "
          f"it uses about one core); the mix measured here (one conversation in four on documents); a person asks "
          f"a question every {args.person_think:.0f} s while active; replicas kept at <= 60% of their closed-loop "
          f"throughput so p95 stays near the think-time figures; Redis and Chroma are not the bottleneck (each "
          f"answer makes a few small Redis calls, a document question one Chroma query).")
    print(f"So one replica serves about {estimate['users_per_replica']:.0f} concurrently active people; "
          + ", ".join(f"{n:,} concurrently active people need {k} replica{'s' if k > 1 else ''}"
                      for n, k in estimate["replicas_for"].items()) + " (plus one spare to survive a replica's loss).")
    command = "python -m bench.scale " + " ".join(sys.argv[1:])
    path = write_json(args.out, {"command": command.strip(), "cpus": cpus, "load_average": load_avg,
                                 "mix": args.mix, "workers_per_replica": args.workers,
                                 "load_balancer": lb, "topology_timings_s": topo.timings, "capacity": estimate,
                                 "runs": runs})
    print(f"wrote {path}")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
