"""Retraining triggers: pre-set thresholds that, once crossed, say the model should be retrained.

Crossing is recorded (with its time) in the monitoring store, logged as a warning on the
`modeldesk.monitoring` logger (the alert), and shown in posture until the measurements recover.
"""

from __future__ import annotations

import logging
import time

from pydantic import BaseModel

from assistant.monitoring.anomaly import RISK_SHARE, AnomalyReport
from assistant.monitoring.calibration import EvaluationCheck
from assistant.monitoring.data_audit import DataAudit
from assistant.monitoring.drift import PSI_DRIFT, DriftReport
from assistant.monitoring.store import Event, MonitoringStore
from assistant.monitoring.window import iso

log = logging.getLogger("modeldesk.monitoring")
KIND = "retraining"
THRESHOLDS = {"psi": PSI_DRIFT, "anomaly_share": RISK_SHARE}


class Trigger(BaseModel):
    at: str  # ISO time it was recorded
    reasons: list[str]


class Retraining(BaseModel):
    due: bool
    reasons: list[str]
    since: str | None = None  # when the current reasons were first recorded
    history: list[Trigger] = []  # newest first
    thresholds: dict[str, float] = THRESHOLDS


def reasons(drift: DriftReport | None, anomalies: AnomalyReport | None, audit: DataAudit | None,
            evaluation: EvaluationCheck | None) -> list[str]:
    """The thresholds crossed now, in words."""
    out = []
    if drift is not None and drift.judged:
        moved = [f.label for f in drift.features if f.level == "drift"]
        if moved:
            out.append(f"input drift above PSI {PSI_DRIFT} on {', '.join(moved)}")
    if anomalies is not None and anomalies.judged and anomalies.level == "drift":
        out.append(f"unusual inputs at {anomalies.share:.0%} of recent inputs (threshold {RISK_SHARE:.0%})")
    if audit is not None and audit.label_flips.excess:
        out.append("suspected label flips in the training reference data")
    if evaluation is not None and not evaluation.monotone:
        out.append("risk tiers no longer rank outcomes on the reference data")
    if evaluation is not None and evaluation.stale:
        out.append(f"evaluation older than {evaluation.max_age_days} days")
    return out


def record(model_id: str, crossed: list[str], store: MonitoringStore, now: float | None = None) -> Retraining:
    """Record a trigger when the set of crossed thresholds changes; the status to show in posture."""
    now = time.time() if now is None else now
    events = store.events(model_id, KIND, limit=10)
    last = events[0] if events else None
    if crossed and (last is None or sorted(last.payload.get("reasons", [])) != sorted(crossed)):
        event = Event(ts=now, model_id=model_id, kind=KIND, payload={"reasons": crossed})
        store.append_event(event)
        events.insert(0, event)
        log.warning("retraining trigger for model %s: %s", model_id, "; ".join(crossed))
    elif not crossed and last is not None and last.payload.get("reasons"):
        # Measurements recovered: record that too, so `since` starts afresh next time.
        event = Event(ts=now, model_id=model_id, kind=KIND, payload={"reasons": []})
        store.append_event(event)
        events.insert(0, event)
        log.info("retraining trigger for model %s cleared", model_id)
    history = [Trigger(at=iso(e.ts) or "", reasons=e.payload.get("reasons", [])) for e in events[:5]]
    since = history[0].at if crossed and history else None
    return Retraining(due=bool(crossed), reasons=crossed, since=since, history=history)
