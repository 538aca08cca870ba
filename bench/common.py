"""Shared bits for benchmarks: timing, percentiles, table printing and JSON output."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Callable

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Milliseconds per call over `repeat` calls."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def print_table(title: str, columns: list[str], rows: list[list[object]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*[f"{v:.2f}" if isinstance(v, float) else str(v) for v in r])
    Console(width=140).print(table)


def write_json(name: str, payload: dict) -> Path:
    """bench/results/<name>.json (`name` may already end in .json)."""
    RESULTS.mkdir(exist_ok=True)
    name = name.removesuffix(".json")
    payload = {"machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()},
               "when": time.strftime("%Y-%m-%d %H:%M:%S"), **payload}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2))
    return path
