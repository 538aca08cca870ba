"""The monitor: records every scored input, and measures drift, anomalies, provenance, the data
audit and retraining triggers for posture. Built from Settings and the Registry."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

import numpy as np
from pydantic import BaseModel

from assistant.errors import AssistantError, Unavailable
from assistant.models.registry import Model, Registry
from assistant.monitoring import anomaly, calibration, data_audit, drift, history, provenance, triggers, window
from assistant.monitoring.anomaly import AnomalyReport
from assistant.monitoring.calibration import EvaluationCheck
from assistant.monitoring.data_audit import DataAudit
from assistant.monitoring.drift import DriftReport
from assistant.monitoring.provenance import Provenance
from assistant.monitoring.store import MonitoringStore, Observation, open_store

log = logging.getLogger("modeldesk.monitoring")
WINDOW = 1000  # newest inputs judged for drift and anomalies
MIN_ROWS = drift.MIN_ROWS


class TierMix(BaseModel):
    tier: str
    rank: int
    reference_share: float
    recent_share: float


class MonitorReport(BaseModel):
    """Drift and anomalies of a set of inputs (the recent window, or a batch scored offline)."""

    model_id: str
    source: str
    rows: int
    drift: DriftReport
    anomalies: AnomalyReport
    tiers: list[TierMix]  # how the inputs score, against how the reference data scores


class Measurements(BaseModel):
    """Everything monitoring knows about one model now; a section is None when it could not be measured."""

    drift: DriftReport | None = None
    anomalies: AnomalyReport | None = None
    provenance: Provenance | None = None
    data_audit: DataAudit | None = None
    evaluation: EvaluationCheck | None = None
    problems: list[str] = []


class Monitor:
    """Recent inputs and their measurements, per model. `observe` never raises."""

    def __init__(self, settings: Any, registry: Registry, *, store: MonitoringStore | None = None,
                 window_size: int | None = None, min_rows: int | None = None, clock: Callable[[], float] = time.time):
        self.registry = registry
        self.window_size = window_size or getattr(settings, "monitor_window", WINDOW)
        self.min_rows = min_rows if min_rows is not None else getattr(settings, "monitor_min_rows", MIN_ROWS)
        self.clock = clock
        self.store: MonitoringStore | None = store
        if store is None:
            try:
                self.store = open_store(settings.data_dir, getattr(settings, "redis_url", ""))
            except Unavailable as exc:  # answers go on without monitoring; posture says so
                log.error("monitoring disabled: %s", exc.message)
        self._hasher = provenance.Hasher()
        self._lock = threading.Lock()
        self._detectors: dict[tuple[str, str], anomaly.Detector] = {}
        self._audits: dict[tuple[str, str], data_audit.DataAudit] = {}

    @classmethod
    def from_settings(cls, settings: Any, registry: Registry) -> "Monitor":
        """The monitor for a running service: its store from settings, provenance recorded for every model."""
        monitor = cls(settings, registry)
        monitor.register()
        return monitor

    # -- recording -----------------------------------------------------------------------------
    def register(self) -> None:
        """Record each model's provenance on first sight (registration); failures are logged."""
        for model in self.registry:
            try:
                self.provenance(model)
            except (AssistantError, OSError) as exc:
                log.warning("provenance of %s not recorded: %s", model.id, exc)

    def observe(self, tool_name: str, result: BaseModel) -> None:
        """Record the input rows a tool scored (predict, explain, what_if, counterfactual). Never raises."""
        try:
            observations = self._observations(tool_name, result)
            if observations and self.store is not None:
                self.store.add(observations)
        except Exception as exc:  # monitoring must never break an answer
            log.warning("monitoring could not record %s: %s", tool_name, getattr(exc, "message", exc))

    def _observations(self, tool_name: str, result: BaseModel) -> list[Observation]:
        from assistant.models.explain import Explanation
        from assistant.models.predict import Prediction
        from assistant.models.whatif import Counterfactual, WhatIf

        now = self.clock()
        rows: list[tuple[Prediction, str]] = []
        if isinstance(result, Prediction):
            rows.append((result, "record" if result.record_id else "values"))
        elif isinstance(result, Explanation):
            rows.append((result.prediction, "record" if result.prediction.record_id else "values"))
        elif isinstance(result, WhatIf):
            rows += [(result.before, "record" if result.before.record_id else "values"), (result.after, "what_if")]
        elif isinstance(result, Counterfactual):
            rows.append((result.before, "record"))
            if result.after is not None:
                rows.append((result.after, "counterfactual"))
        return [Observation(ts=now, model_id=p.model_id, record_id=p.record_id, source=source, row=dict(p.inputs))
                for p, source in rows]

    def record(self, model_id: str, rows: list[dict[str, Any]], *, source: str = "values",
               record_ids: list[str | None] | None = None, ts: float | None = None) -> None:
        """Record input rows directly (batch jobs, tests); raises Unavailable when the store is down."""
        if self.store is None:
            raise Unavailable("the monitoring store is not available")
        model = self.registry.get(model_id)
        ids = record_ids or [None] * len(rows)
        now = self.clock() if ts is None else ts
        self.store.add([Observation(ts=now, model_id=model.id, record_id=rid, source=source,
                                    row={k: _plain(v) for k, v in row.items()}) for row, rid in zip(rows, ids)])

    # -- measuring -----------------------------------------------------------------------------
    def window(self, model: Model) -> window.Window:
        if self.store is None:
            raise Unavailable("the monitoring store is not available")
        return window.from_store(model, self.store, self.window_size)

    def _fingerprint(self, model: Model) -> str:
        artifact = self._hasher(model.path(model.spec.artifact))
        reference = self._hasher(model.path(model.spec.reference)) if model.spec.reference else ""
        return f"{artifact[:16]}-{reference[:16]}"

    def detector(self, model: Model) -> anomaly.Detector:
        """The outlier detector for this model, trained once per artifact and reference data."""
        key = (model.id, self._fingerprint(model))
        with self._lock:
            if key not in self._detectors:
                self._detectors[key] = anomaly.train(model, key[1])
            return self._detectors[key]

    def report(self, model: Model, inputs: window.Window, source: str = "recent inputs") -> MonitorReport:
        """Drift, anomalies and the tier mix of a set of inputs against the reference data."""
        mix = []
        if inputs.rows:
            recent = np.bincount(model.tier_ranks(model.probabilities(inputs.frame)),
                                 minlength=len(model.spec.risk_tiers) + 1)[1:]
        else:
            recent = np.zeros(len(model.spec.risk_tiers), dtype=int)
        reference = np.bincount(model.tier_ranks(model.memo("reference_scores",
                                                            lambda: model.probabilities(model.reference))),
                                minlength=len(model.spec.risk_tiers) + 1)[1:]
        for rank, tier in enumerate(model.spec.risk_tiers, start=1):
            mix.append(TierMix(tier=tier.name, rank=rank, reference_share=float(reference[rank - 1] / max(reference.sum(), 1)),
                               recent_share=float(recent[rank - 1] / max(recent.sum(), 1))))
        return MonitorReport(model_id=model.id, source=source, rows=inputs.rows,
                             drift=drift.compare(model, inputs, self.min_rows),
                             anomalies=anomaly.assess(model, self.detector(model), inputs, self.min_rows), tiers=mix)

    def provenance(self, model: Model) -> provenance.Provenance:
        if self.store is None:
            raise Unavailable("the monitoring store is not available")
        return provenance.check(model, self.store, self._hasher, self.clock())

    def data_audit(self, model: Model) -> data_audit.DataAudit | None:
        """The audit of the model's labelled reference data, computed once per reference file."""
        if not model.spec.reference:
            return None
        key = (model.id, self._fingerprint(model))
        with self._lock:
            if key not in self._audits:
                self._audits[key] = data_audit.audit(model)
            return self._audits[key]

    def measure(self, model: Model) -> Measurements:
        """Every section that can be measured now; the ones that cannot are named in `problems`."""
        out = Measurements()
        sections: list[tuple[str, Callable[[], Any]]] = [
            ("evaluation", lambda: calibration.check(model, self.clock())),
            ("provenance", lambda: self.provenance(model)),
            ("data_audit", lambda: self.data_audit(model)),
        ]
        for name, compute in sections:
            try:
                setattr(out, name, compute())
            except (AssistantError, OSError, ValueError) as exc:
                log.warning("monitoring: %s of %s not measured: %s", name, model.id, exc)
                out.problems.append(f"{name.replace('_', ' ')} could not be measured ({getattr(exc, 'message', exc)})")
        try:
            recent = self.report(model, self.window(model))
            out.drift, out.anomalies = recent.drift, recent.anomalies
        except (AssistantError, OSError, ValueError) as exc:
            log.warning("monitoring: recent inputs of %s not measured: %s", model.id, exc)
            out.problems.append(f"recent inputs could not be read ({getattr(exc, 'message', exc)})")
        return out

    # -- history -------------------------------------------------------------------------------
    def remember(self, snapshot: history.Snapshot, *, min_interval: float = 0.0) -> bool:
        """Keep a posture snapshot for trends (see `history`); False when throttled or the store is down."""
        if self.store is None:
            return False
        try:
            return history.record(self.store, snapshot, min_interval=min_interval)
        except Unavailable as exc:
            log.warning("monitoring: posture snapshot of %s not kept: %s", snapshot.model_id, exc.message)
            return False

    def history(self, model_id: str, *, since: float | None = None) -> list[history.Snapshot]:
        """The model's posture snapshots, oldest first; empty when the store is down."""
        if self.store is None:
            return []
        try:
            return history.read(self.store, model_id, since=since)
        except Unavailable as exc:
            log.warning("monitoring: posture history of %s not read: %s", model_id, exc.message)
            return []

    def retraining(self, model: Model, measured: Measurements) -> triggers.Retraining | None:
        """Check the retraining thresholds, record a crossing, and return the status (None if the store is down)."""
        crossed = triggers.reasons(measured.drift, measured.anomalies, measured.data_audit, measured.evaluation)
        if self.store is None:
            return None
        try:
            return triggers.record(model.id, crossed, self.store, self.clock())
        except Unavailable as exc:
            log.warning("monitoring: retraining trigger of %s not recorded: %s", model.id, exc.message)
            return triggers.Retraining(due=bool(crossed), reasons=crossed)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
