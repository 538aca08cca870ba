"""Query-stream detection: does one principal's recent traffic against a model look like probing?

Signals, each counted against the role's budget (assistant.guard.budgets):
- `synthetic`: distinct made-up input vectors (what-ifs) in the hour and in the day;
- `sweep`: what-ifs on one record that vary the same inputs with different values (a
  single-feature sweep, a line search for a tier boundary, a grid over two inputs);
- `records`: distinct stored records scored or explained (harvesting labels from real rows);
- `wide`: what-ifs that set many inputs at once — a made-up vector rather than a scenario, the raw
  material of equation-solving (Tramèr et al.) and surrogate training;
- `prada`: the PRADA test (Juuti et al. 2019) — the distance from each query to its nearest
  earlier query is roughly normally distributed for natural traffic; chosen, synthetic queries
  break that (Shapiro-Wilk W below a threshold);
- `refusals`: questions already refused by screening (someone trying variations).
Events are kept per principal across sessions and channels (the guard state store).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.guard.budgets import Budget

LEVELS = ("answer", "warn", "refuse", "lock")


@dataclass
class Signal:
    kind: str
    value: float
    level: int
    detail: str
    queries: list[str] = field(default_factory=list)


def vector_key(vector: dict[str, Any]) -> str:
    return "|".join(f"{k}={_canon(v)}" for k, v in sorted(vector.items()))


def _canon(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).strip().lower()


def signals(events: list[dict[str, Any]], budget: Budget, now: float, scales: dict[str, float] | None = None,
            *, tighten: float = 1.0) -> list[Signal]:
    """The probing signals in one principal's events for one model (oldest first).

    `scales` holds each numeric feature's spread on the reference data (for PRADA distances);
    `tighten` < 1 lowers every budget (used when the model as a whole is being probed).
    """
    hour = [e for e in events if e["ts"] >= now - budget.window]
    out: list[Signal] = []

    def add(kind: str, value: float, steps, detail: str, chosen: list[dict[str, Any]]) -> None:
        steps = steps.scaled(tighten) if tighten != 1.0 else steps
        level = steps.level(value)
        if level:
            out.append(Signal(kind, value, level, detail, [e.get("question", "") for e in chosen[-10:]]))

    synthetic_hour = _distinct([e for e in hour if e.get("synthetic")])
    synthetic_day = _distinct([e for e in events if e.get("synthetic")])
    add("synthetic", len(synthetic_hour), budget.synthetic,
        f"{len(synthetic_hour)} distinct what-if scenarios in the last hour", synthetic_hour)
    add("synthetic", len(synthetic_day), budget.synthetic_day,
        f"{len(synthetic_day)} distinct what-if scenarios in the last day", synthetic_day)

    wide = [e for e in synthetic_day if e.get("wide")]
    add("wide", len(wide), budget.wide, f"{len(wide)} what-ifs setting many inputs at once in the last day", wide)

    groups: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = {}
    for e in synthetic_day:
        if e.get("changed"):
            groups.setdefault((str(e.get("record_id")), tuple(sorted(e["changed"]))), []).append(e)
    if groups:
        (record, features), chosen = max(groups.items(), key=lambda kv: len(kv[1]))
        shape = "sweep of " + features[0] if len(features) == 1 else f"grid over {len(features)} inputs"
        add("sweep", len(chosen), budget.sweep, f"{len(chosen)} what-ifs on {record} varying {', '.join(features)} "
            f"({shape})", chosen)

    records_hour = {e.get("record_id") for e in hour if e.get("record_id") and not e.get("synthetic")}
    records_day = {e.get("record_id") for e in events if e.get("record_id") and not e.get("synthetic")}
    looked_up = [e for e in hour if e.get("record_id") and not e.get("synthetic")]
    add("records", len(records_hour), budget.records, f"{len(records_hour)} distinct records scored in the last hour",
        looked_up)
    add("records", len(records_day), budget.records_day, f"{len(records_day)} distinct records scored in the last day",
        looked_up)

    vectors = [e for e in events if e.get("vector")]
    if len(vectors) >= budget.prada_min_queries:
        w = prada_w([e["vector"] for e in vectors], scales or {})
        if w is not None and w < budget.prada_threshold:
            # PRADA alone refuses rather than locks: a natural stream fails it now and then.
            level = 2 if w < budget.prada_threshold - 0.1 else 1
            out.append(Signal("prada", round(w, 3), level, f"query spacing is not natural (Shapiro-Wilk W={w:.2f} over "
                              f"{len(vectors)} queries)", [e.get("question", "") for e in vectors[-10:]]))
    return out


def refusal_signal(refusals: list[dict[str, Any]], budget: Budget) -> Signal | None:
    """Repeated screened-out questions in the short window: someone trying variations of an attack."""
    level = budget.refusals.level(len(refusals))
    if not level:
        return None
    cats = sorted({e.get("category", "?") for e in refusals})
    return Signal("refusals", len(refusals), level, f"{len(refusals)} refused questions in the last hour "
                  f"({', '.join(cats)})", [e.get("question", "") for e in refusals[-10:]])


def _distinct(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for e in events:
        key = e.get("key") or vector_key(e.get("vector") or {}) or str(id(e))
        seen.setdefault(key, e)
    return list(seen.values())


def prada_w(vectors: list[dict[str, Any]], scales: dict[str, float]) -> float | None:
    """Shapiro-Wilk W of the nearest-earlier-query distances; None when it cannot be computed."""
    from scipy.stats import shapiro

    keys = sorted({k for v in vectors for k in v})
    distances = []
    rows: list[list[Any]] = []
    seen: set[str] = set()
    for vec in vectors:
        key = vector_key(vec)
        if key in seen:
            continue  # asking about the same case again is not a new probe
        seen.add(key)
        row = [vec.get(k) for k in keys]
        if rows:
            distances.append(min(_distance(row, other, keys, scales) for other in rows))
        rows.append(row)
    values = np.asarray(distances, dtype=float)
    if len(values) < 3 or not np.isfinite(values).all() or float(values.std()) <= 1e-6 * max(float(values.mean()), 1e-12):
        # Identical spacing every time (a perfectly regular sweep) is as unnatural as it gets.
        return 0.0 if len(values) >= 3 else None
    w, _ = shapiro(values[-500:])
    return float(w)


def _distance(a: list[Any], b: list[Any], keys: list[str], scales: dict[str, float]) -> float:
    total = 0.0
    for k, x, y in zip(keys, a, b):
        if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool):
            scale = scales.get(k) or 1.0
            total += ((float(x) - float(y)) / scale) ** 2
        elif _canon(x) != _canon(y):
            total += 1.0
    return math.sqrt(total)
