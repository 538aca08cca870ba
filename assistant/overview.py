"""Every model's posture at once, and its history: what the posture dashboard and /metrics show.

Built on the same tools the chat uses (`security_posture`, `list_incidents`, the guardrails' alerts,
the monitor's history), read as the security role sees them. Measurements are cached for `ttl`
seconds, so a dashboard left open and Prometheus scraping do not measure again on every request;
each measurement is kept in the posture history (at most every `history.INTERVAL` seconds per model).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from pydantic import BaseModel

from assistant.conversation.tools import Toolbox, run_tool
from assistant.errors import AssistantError, Unavailable
from assistant.monitoring import history
from assistant.monitoring.history import Snapshot
from assistant.posture import Posture

DAY = 86400.0
TTL = 15.0


class IncidentCount(BaseModel):
    key: str  # a status, or an ATLAS technique id
    count: int


class ModelOverview(BaseModel):
    """One model on the dashboard: its posture now, its incidents, alerts and feedback, and its history."""

    model_id: str
    name: str
    entity: str
    posture: Posture
    incidents_by_status: list[IncidentCount] = []
    incidents_by_technique: list[IncidentCount] = []
    open_by_severity: dict[str, int] = {}
    alerts_last_day: int = 0
    history: list[Snapshot] = []


class OverviewReport(BaseModel):
    generated_at: float
    models: list[ModelOverview]
    alerts: list[dict[str, Any]] = []  # probing alerts of the last `alert_days`, newest first, with principals
    alert_days: int = 7


class Overview:
    """The posture of every registered model, cached for `ttl` seconds."""

    def __init__(self, registry: Any, knowledge: Any = None, *, monitor: Any = None, guard: Any = None,
                 ttl: float = TTL, history_interval: float = history.INTERVAL, clock: Callable[[], float] = time.time):
        self.registry, self.knowledge, self.monitor, self.guard = registry, knowledge, monitor, guard
        self.ttl, self.history_interval, self.clock = ttl, history_interval, clock
        self._lock = threading.Lock()
        self._cached: OverviewReport | None = None

    @classmethod
    def of(cls, assistant: Any, **options: Any) -> "Overview":
        """The overview of a running assistant's models, monitor and guardrails."""
        return cls(assistant.registry, getattr(assistant, "knowledge", None), monitor=getattr(assistant, "monitor", None),
                   guard=getattr(assistant, "guard", None), **options)

    def report(self, *, fresh: bool = False) -> OverviewReport:
        """Every model's overview (measured again when older than `ttl` seconds, or when `fresh`)."""
        with self._lock:
            now = self.clock()
            if fresh or self._cached is None or now - self._cached.generated_at >= self.ttl:
                self._cached = self._measure(now)
            return self._cached

    def invalidate(self) -> None:
        with self._lock:
            self._cached = None

    def _measure(self, now: float) -> OverviewReport:
        toolbox = Toolbox(self.registry, self.knowledge, role="security", monitor=self.monitor,
                          alerts=getattr(self.guard, "alerts_for_model", None), guard=self.guard)
        alerts = self._alerts(now - 7 * DAY)
        models = []
        for model in self.registry:
            try:
                posture = run_tool(toolbox, "security_posture", {"model_id": model.id})
            except AssistantError:
                continue
            listed = run_tool(toolbox, "list_incidents", {"model_id": model.id})
            by_status: dict[str, int] = {}
            by_technique: dict[str, int] = {}
            for incident in listed.incidents:
                by_status[incident.status or "unknown"] = by_status.get(incident.status or "unknown", 0) + 1
                for technique in incident.atlas_techniques:
                    by_technique[technique] = by_technique.get(technique, 0) + 1
            open_by_severity: dict[str, int] = {}
            for incident in posture.active_incidents:
                open_by_severity[incident.severity or "unknown"] = open_by_severity.get(incident.severity or "unknown", 0) + 1
            last_day = sum(1 for a in alerts if a.get("model_id") == model.id and float(a.get("ts", 0)) >= now - DAY)
            if self.monitor is not None:
                self.monitor.remember(history.snapshot(
                    model.id, source="recent inputs", drift=posture.drift, anomalies=posture.anomalies,
                    grade=posture.grade, open_incidents=posture.open_incidents,
                    alerts=posture.alerts.count if posture.alerts else 0,
                    retraining_due=bool(posture.retraining and posture.retraining.due), ts=now),
                    min_interval=self.history_interval)
            models.append(ModelOverview(
                model_id=model.id, name=model.spec.name, entity=model.spec.entity, posture=posture,
                incidents_by_status=_counts(by_status), incidents_by_technique=_counts(by_technique),
                open_by_severity=open_by_severity, alerts_last_day=last_day,
                history=self.monitor.history(model.id, since=now - 30 * DAY) if self.monitor is not None else []))
        return OverviewReport(generated_at=now, models=models, alerts=alerts)

    def _alerts(self, since: float) -> list[dict[str, Any]]:
        if self.guard is None:
            return []
        try:
            return self.guard.alerts(since=since, limit=500)
        except Unavailable:
            return []


def _counts(counts: dict[str, int]) -> list[IncidentCount]:
    return [IncidentCount(key=k, count=v) for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
