"""The service under attack: a real `modeldesk serve` subprocess over one prepared demo.

The demo (models and an ingested copy of the bundled corpus) is prepared once into a cache folder
and reused; every server gets a fresh data directory (a copy of the prepared knowledge index, new
guard state and audit log), so one attack's history never leaks into the next one's measurements.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "modeldesk-bench-attacks"


def prepare(cache: Path = DEFAULT_CACHE) -> Path:
    """Build the demo models and ingest the bundled corpus into `cache/demo-data` (idempotent)."""
    data = cache / "demo-data"
    data.mkdir(parents=True, exist_ok=True)
    env = _env(data)
    subprocess.run([sys.executable, "-m", "adapters.cli", "demo", "--no-serve"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    return data


def models_dir(prepared: Path) -> Path:
    return prepared / "demo" / "models"


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "MODELDESK_DATA_DIR": str(data_dir),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False", **extra}
    for name in ("MODELDESK_MODELS_PATH", "MODELDESK_KNOWLEDGE_PATH", "MODELDESK_CHROMA_URL", "MODELDESK_REDIS_URL",
                 "MODELDESK_API_KEYS", "MODELDESK_GUARDRAILS"):
        if name not in extra:
            env.pop(name, None)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_keys(principals: dict[str, str]) -> dict[str, dict[str, str]]:
    """{principal: role} -> the MODELDESK_API_KEYS mapping, one random key each."""
    return {f"md-bench-{secrets.token_urlsafe(12)}": {"principal": p, "role": role} for p, role in principals.items()}


class Service:
    """A server with guardrails on or off and the given keys; use as a context manager."""

    def __init__(self, prepared: Path, keys: dict[str, dict[str, str]], *, guardrails: bool, label: str = "server"):
        self.prepared = prepared
        self.keys = keys
        self.guardrails = guardrails
        self.label = label
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ready_s = float("nan")
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._proc: subprocess.Popen | None = None
        self.log_path: Path | None = None

    def key_for(self, principal: str) -> str:
        return next(k for k, v in self.keys.items() if v["principal"] == principal)

    def __enter__(self) -> "Service":
        self._tmp = tempfile.TemporaryDirectory(prefix="modeldesk-attack-")
        data = Path(self._tmp.name)
        # The prepared knowledge index, copied: start-up ingestion then finds nothing new to embed.
        shutil.copytree(self.prepared / "chroma", data / "chroma")
        self.log_path = data / "server.log"
        env = _env(data, MODELDESK_MODELS_PATH=str(models_dir(self.prepared)),
                   MODELDESK_API_KEYS=json.dumps(self.keys), MODELDESK_RATE_LIMIT_PER_MINUTE="0",
                   MODELDESK_GUARDRAILS="true" if self.guardrails else "false")
        log = self.log_path.open("w")
        self._proc = subprocess.Popen([sys.executable, "-m", "adapters.cli", "serve", "--host", "127.0.0.1",
                                       "--port", str(self.port), "--no-access-log"],
                                      cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        started = time.perf_counter()
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        self.ready_s = time.perf_counter() - started
        return self

    def _wait_ready(self, timeout: float = 300) -> None:
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            if self._proc.poll() is not None:
                tail = self.log_path.read_text()[-2000:] if self.log_path else ""
                raise RuntimeError(f"{self.label}: the server exited with code {self._proc.returncode}\n{tail}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.label}: the server did not become ready in {timeout:.0f} s")

    def alerts(self) -> list[dict]:
        """The probing alerts the server raised (read from its guard store while it runs)."""
        from assistant.config import load_settings
        from assistant.guard.state import open_guard_store

        if self._tmp is None:
            return []
        store = open_guard_store(load_settings(data_dir=Path(self._tmp.name)))
        return store.alerts(since=0.0, limit=100000)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text()[-chars:] if self.log_path else ""
        except OSError:
            return ""

    def __exit__(self, *exc) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
