"""Security posture of a model: incidents on record plus measured behaviour, graded in plain words."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any, Callable, Literal

from pydantic import BaseModel

from assistant.errors import AssistantError
from assistant.models import evaluation
from assistant.models.registry import Model
from assistant.monitoring.anomaly import AnomalyReport
from assistant.monitoring.calibration import EvaluationCheck, check as evaluation_check
from assistant.monitoring.data_audit import DataAudit
from assistant.monitoring.drift import DriftReport
from assistant.monitoring.provenance import Provenance
from assistant.monitoring.triggers import Retraining

log = logging.getLogger(__name__)

Grade = Literal["Good", "Watch", "At risk"]
_ACTIVE = {"open", "investigating"}
_SEVERITY = {"low": 1, "medium": 2, "high": 3, "critical": 4}
ALERT_DAYS = 7  # probing alerts this recent count towards the grade
ALERTS_AT_RISK = 10


class IncidentSummary(BaseModel):
    doc_id: str
    id: str
    title: str
    date: str | None = None
    attack_type: str | None = None
    severity: str | None = None
    status: str | None = None
    atlas_techniques: list[str] = []


class AlertSummary(BaseModel):
    """Probing alerts from the guardrails for this model in the last `days` days."""

    count: int
    days: int = ALERT_DAYS
    by_kind: dict[str, int] = {}
    by_level: dict[str, int] = {}
    latest: str | None = None  # ISO time
    items: list[dict[str, Any]] | None = None  # newest first, with principals: security and admin roles only


class Posture(BaseModel):
    model_id: str
    grade: Grade
    reasons: list[str]
    active_incidents: list[IncidentSummary]
    closed_incidents: int
    incidents_by_attack_type: dict[str, int]
    roc_auc: float | None = None
    adversarial: bool
    knowledge_available: bool = True
    # What the grade means for a business user, in one line ("usable, with one open medium-severity incident; ...").
    headline: str = ""
    open_incidents: int = 0
    incidents_by_severity: dict[str, int] = {}
    atlas_techniques: dict[str, int] = {}  # technique id -> incidents on record citing it
    drift: DriftReport | None = None
    anomalies: AnomalyReport | None = None
    alerts: AlertSummary | None = None
    evaluation: EvaluationCheck | None = None
    provenance: Provenance | None = None
    data_audit: DataAudit | None = None
    retraining: Retraining | None = None
    monitoring_problems: list[str] = []


def incident_from_metadata(meta: dict[str, Any]) -> IncidentSummary:
    techniques = meta.get("atlas_techniques") or []
    if isinstance(techniques, str):
        techniques = [t.strip() for t in techniques.replace(";", ",").split(",") if t.strip()]
    return IncidentSummary(doc_id=meta["doc_id"], id=str(meta.get("incident_id") or meta["doc_id"].split(":")[-1]),
                           title=meta.get("title", ""), date=meta.get("date") or None,
                           attack_type=meta.get("attack_type"), severity=meta.get("severity"),
                           status=meta.get("status"), atlas_techniques=list(techniques))


def assess(model: Model, incidents: list[IncidentSummary] | None, *, monitor: Any = None,
           alerts: Callable[[str], list[dict]] | None = None, show_principals: bool = False,
           now: float | None = None) -> Posture:
    """Grade a model from its incidents (None when the knowledge base is down), its measured quality and,
    when given, monitoring (drift, anomalies, provenance, data audit, retraining) and probing alerts."""
    now = time.time() if now is None else now
    reasons: list[str] = []
    notes: list[str] = []  # said, but not setting the grade
    grade_rank = 0  # 0 Good, 1 Watch, 2 At risk
    active = [i for i in incidents or [] if (i.status or "") in _ACTIVE]
    active.sort(key=lambda i: (-_SEVERITY.get(i.severity or "", 0), i.date or ""))
    for incident in active:
        severity = _SEVERITY.get(incident.severity or "", 0)
        level = 2 if severity >= 3 else 1
        grade_rank = max(grade_rank, level)
        reasons.append(f"{incident.status} {incident.severity}-severity {(incident.attack_type or 'other').replace('_', ' ')} "
                       f"incident {incident.id}: {incident.title}")
    if incidents is None:
        grade_rank = max(grade_rank, 1)
        reasons.append("incident records could not be checked: the knowledge base is unavailable")
    auc = None
    try:
        auc = evaluation.performance(model).metrics["roc_auc"]
        if auc < 0.7:
            grade_rank = max(grade_rank, 1)
            reasons.append(f"discrimination on the reference set is weak (ROC AUC {auc:.2f})")
    except AssistantError:
        pass
    by_type: dict[str, int] = {}
    by_severity: dict[str, int] = {}
    techniques: dict[str, int] = {}
    for incident in incidents or []:
        key = incident.attack_type or "other"
        by_type[key] = by_type.get(key, 0) + 1
        by_severity[incident.severity or "unknown"] = by_severity.get(incident.severity or "unknown", 0) + 1
        for technique in incident.atlas_techniques:
            techniques[technique] = techniques.get(technique, 0) + 1

    measured = None
    if monitor is not None:
        try:
            measured = monitor.measure(model)
        except Exception as exc:  # monitoring must not take posture down with it
            log.warning("posture of %s without monitoring: %s", model.id, exc)
            notes.append("monitoring measurements are unavailable right now")
    checked = measured.evaluation if measured is not None else _evaluation(model, now)
    drift = measured.drift if measured is not None else None
    anomalies = measured.anomalies if measured is not None else None
    prov = measured.provenance if measured is not None else None
    audit = measured.data_audit if measured is not None else None

    if drift is not None:
        if not drift.judged:
            notes.append(f"not enough recent inputs to judge drift ({drift.rows:,} of the {drift.min_rows:,} needed)")
        elif drift.drifting:
            grade_rank = max(grade_rank, 2 if drift.level == "drift" else 1)
            moved = [f for f in drift.features if f.level != "stable"]
            detail = "; ".join(f"{f.label} {f.reference} → {f.recent}" for f in moved[:3])
            reasons.append(f"recent inputs differ from the reference data on {_names([f.label for f in moved])} "
                           f"({detail}), across {drift.rows:,} recent inputs {_since(drift.since, now)}")
    if anomalies is not None and anomalies.judged and anomalies.level != "stable":
        grade_rank = max(grade_rank, 2 if anomalies.level == "drift" else 1)
        reasons.append(f"{anomalies.share:.0%} of recent inputs look unlike anything in the reference data "
                       f"(about {anomalies.expected_share:.0%} expected)")
    alert_summary = _alerts(model.id, alerts, show_principals, now)
    if alert_summary is not None and alert_summary.count:
        critical = alert_summary.by_level.get("critical", 0)
        grade_rank = max(grade_rank, 2 if critical or alert_summary.count >= ALERTS_AT_RISK else 1)
        kinds = ", ".join(k.replace("_", " ") for k in alert_summary.by_kind)
        reasons.append(f"{alert_summary.count} probing alert{'s' if alert_summary.count != 1 else ''} in the last "
                       f"{alert_summary.days} days ({kinds}): someone may be trying to copy or map the model")
    if checked is not None and checked.findings:
        grade_rank = max(grade_rank, 1)
        reasons += checked.findings
    if prov is not None and prov.findings:
        grade_rank = max(grade_rank, 2 if prov.status == "artifact_changed" else 1)
        reasons += prov.findings
    if audit is not None and audit.findings:
        grade_rank = max(grade_rank, 1)
        reasons += [f"training data audit: {f}" for f in audit.findings]
    retraining = None
    if measured is not None:
        try:
            retraining = monitor.retraining(model, measured)
        except Exception as exc:
            log.warning("retraining trigger of %s not checked: %s", model.id, exc)
        if retraining is not None and retraining.due:
            grade_rank = max(grade_rank, 1)
            reasons.append(f"retraining recommended ({_recorded(retraining.since, now)}): " + "; ".join(retraining.reasons))
        notes += measured.problems
    if not reasons:
        reasons.append("no open incidents and the model performs as validated on its reference data")
    grade = ("Good", "Watch", "At risk")[grade_rank]
    posture = Posture(model_id=model.id, grade=grade, reasons=reasons + notes,
                      active_incidents=active, closed_incidents=len(incidents or []) - len(active),
                      incidents_by_attack_type=by_type, roc_auc=auc, adversarial=model.spec.adversarial,
                      knowledge_available=incidents is not None, open_incidents=len(active),
                      incidents_by_severity=by_severity, atlas_techniques=techniques, drift=drift,
                      anomalies=anomalies, alerts=alert_summary, evaluation=checked, provenance=prov,
                      data_audit=audit, retraining=retraining,
                      monitoring_problems=measured.problems if measured is not None else [])
    posture.headline = headline(posture, now)
    return posture


def _evaluation(model: Model, now: float) -> EvaluationCheck | None:
    try:
        return evaluation_check(model, now)
    except (AssistantError, OSError) as exc:
        log.warning("evaluation of %s not checked: %s", model.id, exc)
        return None


def _timestamp(value: Any) -> float | None:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)).timestamp()
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return None


def _alerts(model_id: str, source: Callable[[str], list[dict]] | None, show_principals: bool,
            now: float) -> AlertSummary | None:
    """Recent probing alerts for the model; principals are named only for the security roles."""
    if source is None:
        return None
    try:
        raw = list(source(model_id) or [])
    except Exception as exc:  # the guardrails' store being down must not take posture down
        log.warning("probing alerts for %s unavailable: %s", model_id, exc)
        return None
    cutoff = now - ALERT_DAYS * 86400
    recent = []
    for alert in raw:
        ts = _timestamp(alert.get("ts"))
        if ts is None or ts >= cutoff:
            recent.append((ts or now, alert))
    recent.sort(key=lambda pair: -pair[0])
    by_kind: dict[str, int] = {}
    by_level: dict[str, int] = {}
    for _, alert in recent:
        kind, level = str(alert.get("kind") or "probing"), str(alert.get("level") or "unknown").lower()
        by_kind[kind] = by_kind.get(kind, 0) + 1
        by_level[level] = by_level.get(level, 0) + 1
    items = None
    if show_principals:
        items = [{"ts": _iso(ts), "principal": a.get("principal"), "kind": a.get("kind"), "level": a.get("level"),
                  "detail": a.get("detail")} for ts, a in recent[:10]]
    return AlertSummary(count=len(recent), by_kind=by_kind, by_level=by_level,
                        latest=_iso(recent[0][0]) if recent else None, items=items)


def _iso(ts: float | None) -> str | None:
    return None if ts is None else dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="seconds")


_WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def _count(n: int, noun: str) -> str:
    return f"{_WORDS[n] if n < len(_WORDS) else f'{n:,}'} {noun}{'s' if n != 1 else ''}"


def _names(names: list[str], limit: int = 3, code: bool = False) -> str:
    shown = [f"`{n}`" if code else n for n in names[:limit]]
    if len(names) > limit:
        shown.append(f"{_count(len(names) - limit, 'other')}")
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _since(iso: str | None, now: float) -> str:
    """When something started, in words a business user says: "since Monday", "since last week"."""
    ts = _timestamp(iso)
    if ts is None:
        return ""
    age = now - ts
    then = dt.datetime.fromtimestamp(ts, dt.timezone.utc)
    if age < 36 * 3600:
        return "in the last day"
    if age < 7 * 86400:
        return f"since {then.strftime('%A')}"
    if age < 14 * 86400:
        return "since last week"
    return f"since {then.strftime('%B')} {then.day}"


def _recorded(iso: str | None, now: float) -> str:
    ts = _timestamp(iso)
    if ts is None:
        return "not recorded"
    age = now - ts
    then = dt.datetime.fromtimestamp(ts, dt.timezone.utc)
    if age < 36 * 3600:
        return "recorded today" if then.date() == dt.datetime.fromtimestamp(now, dt.timezone.utc).date() else "recorded yesterday"
    if age < 7 * 86400:
        return f"recorded on {then.strftime('%A')}"
    if age < 14 * 86400:
        return "recorded last week"
    return f"recorded on {then.strftime('%B')} {then.day}"


def headline(p: Posture, now: float | None = None) -> str:
    """The posture in one plain line, for business users: what to do with the model and why."""
    now = time.time() if now is None else now
    parts = []
    if p.open_incidents:
        worst = p.active_incidents[0].severity or "unknown"
        parts.append(f"one open {worst}-severity incident" if p.open_incidents == 1
                     else f"{_count(p.open_incidents, 'open incident')}, the most severe {worst}")
    if not p.knowledge_available:
        parts.append("incident records that could not be checked")
    if p.drift is not None and p.drift.judged and p.drift.drifting:
        parts.append(f"input drift on {_names(p.drift.drifting, code=True)} {_since(p.drift.since, now)}".rstrip())
    if p.anomalies is not None and p.anomalies.judged and p.anomalies.level != "stable":
        parts.append("more unusual inputs than usual")
    if p.alerts is not None and p.alerts.count:
        parts.append("probing alerts in the last week")
    if p.provenance is not None and p.provenance.status == "artifact_changed":
        parts.append("a model file that changed without a new version")
    if p.data_audit is not None and p.data_audit.findings:
        parts.append("suspect rows in its training data")
    if p.evaluation is not None and p.evaluation.findings:
        parts.append("an evaluation that needs renewing")
    if p.retraining is not None and p.retraining.due:
        parts.append("retraining recommended")
    verdict = {"Good": "usable", "Watch": "usable", "At risk": "not to be relied on without review"}[p.grade]
    if parts:
        return f"{verdict}, with " + "; ".join(parts)
    if p.grade != "Good":  # set by a measurement with no short name (e.g. weak discrimination): the reasons say it
        return {"Watch": "usable with care", "At risk": "not to be relied on without review"}[p.grade]
    if p.drift is not None and p.drift.judged:
        return f"{verdict}: no open incidents, and recent inputs look like the data it was validated on"
    return f"{verdict}: no open incidents" + (" (too few recent inputs yet to check for drift)" if p.drift else "")
