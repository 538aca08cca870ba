"""`modeldesk serve --workers N`: N answering processes on one port.

Answering is CPU-bound Python, so one process uses about one core whatever the machine has. Here a
small supervisor binds the port, ingests the knowledge paths once (in a child process, so no two
processes ever write the embedded Chroma index at once), then starts N workers with the `spawn`
method; each builds its own assistant and accepts connections on its own socket bound to the same
port (SO_REUSEPORT: the kernel spreads new connections evenly between them). Everything a worker must agree on lives in the state
stores every worker opens: SQLite files in WAL mode under the data directory (or Redis when
MODELDESK_REDIS_URL is set) hold sessions, guard histories, budgets, locks, alerts, feedback and
monitoring windows, and the audit log appends under `BEGIN IMMEDIATE`, so one hash chain grows
whichever worker answers; the rate limiter's buckets are kept in a SQLite file too (or Redis), and
`/metrics` adds up every worker's counters.

A worker that dies is restarted; one that dies at start-up three times in a row stops the server
(exit code 1) rather than retrying for ever. SIGTERM or SIGINT stops them all gracefully.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import tempfile
import time
from typing import Any

from assistant.config import Settings

log = logging.getLogger("modeldesk.http")
RESTART_BACKOFF = 1.0  # seconds before a dead worker is replaced (ten times that after a death at start-up)
EARLY = 120.0  # seconds: a worker that dies this soon after starting died at start-up
GIVE_UP = 3  # start-up deaths in a row after which the server stops instead of retrying


def default_workers() -> int:
    """The cores this process may run on (cgroup/affinity aware where the OS says)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def bind(host: str, port: int, *, share: bool = False) -> socket.socket:
    """A listening socket; `share`: one of several on the same port (SO_REUSEPORT), among which the
    kernel spreads new connections evenly — with one shared socket, whichever worker wakes first
    takes a burst of connections, and keep-alive clients then stay unevenly spread."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if share:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def listeners(host: str, port: int, workers: int) -> list[socket.socket]:
    """One socket per worker on the same port where the OS can share a port (Linux), else one for all."""
    probe = bind(host, port)  # fails plainly when the port is taken, even by another server sharing it
    if workers == 1 or not hasattr(socket, "SO_REUSEPORT"):
        return [probe] * workers
    port = probe.getsockname()[1]
    probe.close()
    return [bind(host, port, share=True) for _ in range(workers)]


def _ingest(settings: Settings, queue: Any) -> None:
    """In a child process: ingest the knowledge paths once, report the outcome as a start-up detail."""
    from adapters.http.app import ingest_detail

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    queue.put(ingest_detail(settings))


def _die_with_parent() -> None:
    """Linux: this worker gets SIGTERM when the supervisor dies, however it dies (even SIGKILL), so no
    orphan keeps answering on the port of a server that was stopped."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def _worker(index: int, workers: int, settings: Settings, sock: socket.socket, access_log: bool,
            detail: tuple[bool, str]) -> None:
    _die_with_parent()
    import uvicorn

    from adapters.http.app import create_app

    # Every line says which worker wrote it (uvicorn's access log included: log_config=None below).
    logging.basicConfig(level=logging.INFO, format=f"%(levelname)s:     [worker {index}] %(name)s: %(message)s")
    try:
        import torch

        torch.set_num_threads(settings.torch_threads)
    except ImportError:  # pragma: no cover - torch ships with the package
        pass
    app = create_app(settings, ingested=detail, workers=workers)
    config = uvicorn.Config(app, access_log=access_log, lifespan="on", log_config=None)
    uvicorn.Server(config).run(sockets=[sock])


def serve(settings: Settings, host: str, port: int, workers: int, *, access_log: bool = True) -> None:
    """Serve with `workers` processes until SIGTERM/SIGINT; returns when they have all stopped."""
    context = multiprocessing.get_context("spawn")  # no fork of a process that holds threads or models
    sockets = listeners(host, port, workers)  # bound first: a port in use fails before anything loads
    # /metrics adds up every worker's counters (adapters/http/metrics.py); set before any worker starts.
    counters = tempfile.TemporaryDirectory(prefix="modeldesk-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = counters.name
    log.info("ingesting the knowledge paths once before starting %d workers", workers)
    queue = context.Queue()
    ingester = context.Process(target=_ingest, args=(settings, queue), name="modeldesk-ingest")
    ingester.start()
    detail = (False, "knowledge not ingested: the ingest process died")
    while ingester.is_alive() or not queue.empty():
        try:
            detail = queue.get(timeout=0.5)
            break
        except Exception:  # noqa: BLE001 - queue.Empty: keep waiting while the process runs
            continue
    ingester.join()
    log.info("%s", detail[1])

    stopping = False

    def start(index: int) -> Any:
        # A restarted worker takes over its predecessor's socket, and the connections waiting on it.
        process = context.Process(target=_worker, args=(index, workers, settings, sockets[index], access_log, detail),
                                  name=f"modeldesk-worker-{index}")
        process.start()
        log.info("worker %d started (pid %d)", index, process.pid)
        return process

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM if signum == signal.SIGTERM else signal.SIGINT)

    processes = [start(i) for i in range(workers)]
    started = [time.monotonic()] * workers
    early_deaths = [0] * workers
    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    failed = False
    try:
        while not stopping:
            for i, process in enumerate(processes):
                if process.is_alive() or stopping:
                    continue
                early = time.monotonic() - started[i] < EARLY
                early_deaths[i] = early_deaths[i] + 1 if early else 0
                if early_deaths[i] >= GIVE_UP:
                    # The same failure at every start (a bad setting, a broken model file): say so and stop.
                    log.error("worker %d exited with code %s at start-up %d times in a row; stopping the server "
                              "(its log above says why)", i, process.exitcode, early_deaths[i])
                    failed = True
                    stop(signal.SIGTERM, None)
                    break
                log.error("worker %d (pid %d) exited with code %s; restarting it", i, process.pid, process.exitcode)
                time.sleep(RESTART_BACKOFF * (10 if early else 1))
                if not stopping:
                    processes[i] = start(i)
                    started[i] = time.monotonic()
            time.sleep(0.2)
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for sock in set(sockets):
            sock.close()
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        counters.cleanup()
    if failed:
        raise SystemExit(1)
