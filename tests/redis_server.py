"""A real redis-server (Debian's /usr/bin/redis-server) on a free loopback port, for tests.

`start_redis_server(folder)` returns a running `RedisServer`; `server.stop()` kills it and
`server.start()` brings it back on the same port (empty: nothing is saved), so a test can watch a
client lose its server and recover. The session-wide `redis_url` fixture in tests/conftest.py
uses the same helper.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisServer:
    folder: Path
    port: int
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> "RedisServer":
        """Start (or restart) the server on this port and wait until it answers PING."""
        if self.proc is not None and self.proc.poll() is None:
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        log = open(self.folder / f"redis-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder), "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.folder,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}; see {log.name}")
            if answers_ping(self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer PING within {timeout:.0f} s; see {log.name}")

    def stop(self) -> None:
        """Kill the server and wait for it to go (its data goes with it)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def start_redis_server(folder: Path, port: int | None = None) -> RedisServer:
    """A running redis-server in `folder`, on `port` or a free one (retried if another grabs it first)."""
    if not Path(REDIS_SERVER).exists():
        raise RuntimeError("redis-server is not installed; `./dev setup` installs Debian's redis-server package")
    attempts = 1 if port else 3
    for attempt in range(attempts):
        server = RedisServer(folder, port or free_port())
        try:
            return server.start()
        except RuntimeError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
