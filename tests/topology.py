"""The docker-compose topology as real processes on loopback, for tests and bench/scale.py.

`Topology(root, knowledge=[...], replicas=2).start()` runs what docker-compose.yml runs, without
Docker: a `chroma run` server, a redis-server (append-only, like the compose file's), the one-shot
`modeldesk ingest` job, and API replicas (`modeldesk serve`), all sharing MODELDESK_CHROMA_URL,
MODELDESK_REDIS_URL, MODELDESK_API_KEYS and one models folder — and each with its own
MODELDESK_DATA_DIR, so nothing can be shared through a local disk. Every server can be stopped
(or SIGKILLed) and started again on the same port, to watch the others lose it and recover.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.redis_server import REDIS_SERVER, answers_ping, free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's modeldesk and chroma scripts
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}


def _wait(ready, proc: subprocess.Popen, what: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}; see {log}")
        if ready():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} was not ready within {timeout:.0f} s; see {log}")


def _stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class Server:
    """One process on a fixed loopback port that can be stopped and started again."""

    name: str
    folder: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def log(self) -> Path:
        return self.folder / f"{self.name}.log"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return {**os.environ, **OFFLINE}

    def ready(self) -> bool:
        raise NotImplementedError

    def start(self, timeout: float = 120) -> "Server":
        if self.running:
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.folder,
                                         env=self.env())
        _wait(self.ready, self.proc, self.name, self.log, timeout)
        return self

    def stop(self) -> None:
        _stop(self.proc)

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing — a replica dying mid-request."""
        _stop(self.proc, signal.SIGKILL)


@dataclass
class RedisProcess(Server):
    """redis-server with the append-only file on, as in docker-compose.yml: a restart keeps the data."""

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
                "--appendfsync", "everysec", "--dir", str(self.folder), "--daemonize", "no"]

    def ready(self) -> bool:
        return answers_ping(self.port)


@dataclass
class ChromaProcess(Server):
    """`chroma run` (the chromadb package's server) over a persistent folder."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [str(BIN / "chroma"), "run", "--path", str(self.folder / "db"), "--port", str(self.port),
                "--host", "127.0.0.1"]

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


@dataclass
class ApiReplica(Server):
    """`modeldesk serve`, ready when /readyz says so."""

    shared_env: dict[str, str] = field(default_factory=dict)
    workers: int = 1  # answering processes in this replica (`serve --workers`)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [str(BIN / "modeldesk"), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log",
                "--workers", str(self.workers)]

    def env(self) -> dict[str, str]:
        return {**super().env(), **self.shared_env, "MODELDESK_DATA_DIR": str(self.folder / "data")}

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


@dataclass
class Topology:
    """Chroma, Redis, the ingest job and N API replicas, as docker-compose.yml wires them."""

    root: Path
    knowledge: list[Path]
    keys: dict[str, dict[str, str]]
    replicas: int = 2
    workers: int = 1  # per replica
    extra_env: dict[str, str] = field(default_factory=dict)
    chroma: ChromaProcess = field(init=False)
    redis: RedisProcess = field(init=False)
    api: list[ApiReplica] = field(init=False, default_factory=list)
    timings: dict[str, float] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.chroma = ChromaProcess("chroma", self.root / "chroma")
        self.redis = RedisProcess("redis", self.root / "redis")
        self.models = self.root / "models"

    @property
    def env(self) -> dict[str, str]:
        """What every ModelDesk process gets (the compose file's env_file plus its environment)."""
        return {"MODELDESK_CHROMA_URL": self.chroma.url, "MODELDESK_REDIS_URL": self.redis.url,
                "MODELDESK_API_KEYS": json.dumps(self.keys), "MODELDESK_MODELS_PATH": str(self.models),
                "MODELDESK_KNOWLEDGE_PATH": os.pathsep.join(str(p) for p in self.knowledge),
                "MODELDESK_RATE_LIMIT_PER_MINUTE": "0", **self.extra_env}

    def run(self, *args: str, data_dir: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        """A one-shot `modeldesk` command with the shared environment (the compose file's `ingest` job)."""
        folder = data_dir or self.root / "jobs"
        env = {**os.environ, **OFFLINE, **self.env, "MODELDESK_DATA_DIR": str(folder)}
        return subprocess.run([str(BIN / "modeldesk"), *args], env=env, cwd=self.root, capture_output=True,
                              text=True, timeout=timeout)

    def start(self) -> "Topology":
        started = time.perf_counter()
        self.redis.start()
        self.chroma.start()
        self.timings["stores_s"] = time.perf_counter() - started
        if not (self.models / "credit-default" / "model.yaml").exists():
            subprocess.run([sys.executable, "-m", "assistant.demo", "--out", str(self.models)], cwd=ROOT, check=True,
                           capture_output=True, env={**os.environ, **OFFLINE}, timeout=600)
        self.timings["models_s"] = time.perf_counter() - started - self.timings["stores_s"]
        mark = time.perf_counter()
        job = self.run("ingest", *[str(p) for p in self.knowledge])
        if job.returncode != 0:
            raise RuntimeError(f"modeldesk ingest failed ({job.returncode}): {job.stdout[-2000:]}{job.stderr[-2000:]}")
        self.timings["ingest_s"] = time.perf_counter() - mark
        mark = time.perf_counter()
        self.api = [ApiReplica(f"api-{i + 1}", self.root / f"api-{i + 1}", shared_env=self.env,
                               workers=self.workers)
                    for i in range(self.replicas)]
        for replica in self.api:  # started together, waited on together: the replicas load in parallel
            replica.folder.mkdir(parents=True, exist_ok=True)
            with replica.log.open("ab") as log:
                replica.proc = subprocess.Popen(replica.command(), stdout=log, stderr=subprocess.STDOUT,
                                                cwd=replica.folder, env=replica.env())
        for replica in self.api:
            _wait(replica.ready, replica.proc, replica.name, replica.log, 300)
        self.timings["replicas_s"] = time.perf_counter() - mark
        return self

    def stop(self) -> None:
        for replica in self.api:
            replica.stop()
        self.chroma.stop()
        self.redis.stop()

    def __enter__(self) -> "Topology":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
