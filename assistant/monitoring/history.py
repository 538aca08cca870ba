"""Posture history: measurements of a model kept over time, so drift and unusual inputs have a trend.

A snapshot is stored as an event (kind `posture`) in the monitoring store — SQLite under the data
directory, or Redis when scaled out — whenever posture is measured for the dashboard or /metrics
(at most every `INTERVAL` seconds per model) and on every `modeldesk monitor --batch`.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel

from assistant.monitoring.store import Event, MonitoringStore
from assistant.monitoring.window import iso

KIND = "posture"
INTERVAL = 300.0  # seconds between snapshots of the same model taken by the dashboard and /metrics
KEEP = 2000  # newest snapshots read back per model (a week at one every 5 minutes)


class Snapshot(BaseModel):
    """One measurement of a model: where the inputs came from, the grade (None for an offline batch),
    PSI and level per feature, the unusual-input share, open incidents and probing alerts."""

    ts: float
    at: str
    model_id: str
    source: str  # "recent inputs", or "batch <file name>"
    grade: str | None = None
    rows: int = 0
    judged: bool = False
    psi: dict[str, float] = {}
    levels: dict[str, str] = {}
    labels: dict[str, str] = {}  # feature name -> its plain label
    unusual_share: float | None = None
    open_incidents: int | None = None
    alerts: int | None = None
    retraining_due: bool | None = None


def snapshot(model_id: str, *, source: str, drift: Any = None, anomalies: Any = None, grade: str | None = None,
             open_incidents: int | None = None, alerts: int | None = None, retraining_due: bool | None = None,
             ts: float | None = None) -> Snapshot:
    """A snapshot from a drift report and an anomaly report (either may be None)."""
    ts = time.time() if ts is None else ts
    # Only judged windows enter the trend: a PSI over a handful of inputs moves by chance alone.
    features = list(getattr(drift, "features", None) or []) if getattr(drift, "judged", False) else []
    return Snapshot(ts=ts, at=iso(ts) or "", model_id=model_id, source=source, grade=grade,
                    rows=int(getattr(drift, "rows", 0) or 0), judged=bool(getattr(drift, "judged", False)),
                    psi={f.feature: round(float(f.psi), 4) for f in features},
                    levels={f.feature: f.level for f in features}, labels={f.feature: f.label for f in features},
                    unusual_share=round(float(anomalies.share), 4) if anomalies is not None and anomalies.judged else None,
                    open_incidents=open_incidents, alerts=alerts, retraining_due=retraining_due)


def record(store: MonitoringStore, snap: Snapshot, *, min_interval: float = 0.0) -> bool:
    """Store the snapshot unless one of the same source was stored less than `min_interval` seconds ago."""
    if min_interval > 0:
        last = store.events(snap.model_id, KIND, limit=1)
        if last and last[0].payload.get("source") == snap.source and snap.ts - last[0].ts < min_interval:
            return False
    store.append_event(Event(ts=snap.ts, model_id=snap.model_id, kind=KIND, payload=snap.model_dump(mode="json")))
    return True


def read(store: MonitoringStore, model_id: str, *, since: float | None = None, limit: int = KEEP) -> list[Snapshot]:
    """The model's snapshots, oldest first (optionally only those since a time)."""
    events = store.events(model_id, KIND, limit=limit)
    out = [Snapshot.model_validate(e.payload) for e in reversed(events)]
    return [s for s in out if since is None or s.ts >= since]
