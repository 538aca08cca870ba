"""Security posture of a model: incidents on record plus measured behaviour, graded in plain words."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from assistant.errors import AssistantError
from assistant.models import evaluation
from assistant.models.registry import Model

Grade = Literal["Good", "Watch", "At risk"]
_ACTIVE = {"open", "investigating"}
_SEVERITY = {"low": 1, "medium": 2, "high": 3, "critical": 4}


class IncidentSummary(BaseModel):
    doc_id: str
    id: str
    title: str
    date: str | None = None
    attack_type: str | None = None
    severity: str | None = None
    status: str | None = None
    atlas_techniques: list[str] = []


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


def incident_from_metadata(meta: dict[str, Any]) -> IncidentSummary:
    techniques = meta.get("atlas_techniques") or []
    if isinstance(techniques, str):
        techniques = [t.strip() for t in techniques.replace(";", ",").split(",") if t.strip()]
    return IncidentSummary(doc_id=meta["doc_id"], id=str(meta.get("incident_id") or meta["doc_id"].split(":")[-1]),
                           title=meta.get("title", ""), date=meta.get("date") or None,
                           attack_type=meta.get("attack_type"), severity=meta.get("severity"),
                           status=meta.get("status"), atlas_techniques=list(techniques))


def assess(model: Model, incidents: list[IncidentSummary] | None) -> Posture:
    """Grade a model from its incidents (None when the knowledge base is down) and its measured quality."""
    reasons: list[str] = []
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
    for incident in incidents or []:
        key = incident.attack_type or "other"
        by_type[key] = by_type.get(key, 0) + 1
    if not reasons:
        reasons.append("no open incidents and the model performs as validated on its reference data")
    return Posture(model_id=model.id, grade=("Good", "Watch", "At risk")[grade_rank], reasons=reasons,
                   active_incidents=active, closed_incidents=len(incidents or []) - len(active),
                   incidents_by_attack_type=by_type, roc_auc=auc, adversarial=model.spec.adversarial,
                   knowledge_available=incidents is not None)
