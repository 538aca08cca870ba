"""Model endpoints: the list, one model described, and its security posture, as the caller's role may see them."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from adapters.http.auth import SECURITY_ROLES, CallerDep, require_role
from adapters.http.errors import responses
from adapters.http.services import ServicesDep
from assistant.conversation.tools import Toolbox, run_tool
from assistant.policy import shape
from assistant.errors import Unavailable
from assistant.monitoring.anomaly import AnomalyReport
from assistant.monitoring.calibration import EvaluationCheck
from assistant.monitoring.data_audit import DataAudit
from assistant.monitoring.drift import DriftReport
from assistant.monitoring.plot import drift_svg
from assistant.monitoring.provenance import Provenance
from assistant.monitoring.triggers import Retraining
from assistant.posture import AlertSummary
from assistant.posture import IncidentSummary as Incident  # the core's types, shown as they are


class ModelSummary(BaseModel):
    """One model, in OpenAI's model-list shape (`id`, `object`, `created`, `owned_by`) plus ModelDesk's fields."""

    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str
    name: str
    entity: str
    positive_label: str
    adversarial: bool
    tiers: list[str] = Field(description="Risk tier names, lowest risk first.")


class ModelProblem(BaseModel):
    path: str
    message: str


class ModelList(BaseModel):
    """The registered models; OpenAI clients read it as a model list."""

    object: Literal["list"] = "list"
    data: list[ModelSummary]
    problems: list[ModelProblem] | None = Field(None, description="Model folders that failed to load (admin only).")


class PostureOut(BaseModel):
    """A model's security posture. Incident details, counts and ROC AUC come with `?details=true`."""

    model_id: str
    grade: str = Field(description="Good, Watch or At risk.")
    reasons: list[str]
    adversarial: bool
    knowledge_available: bool
    active_incidents: list[Incident] | None = None
    closed_incidents: int | None = None
    incidents_by_attack_type: dict[str, int] | None = None
    roc_auc: float | None = None
    headline: str | None = Field(None, description="The posture in one plain line.")
    open_incidents: int | None = None
    incidents_by_severity: dict[str, int] | None = None
    atlas_techniques: dict[str, int] | None = Field(None, description="MITRE ATLAS technique id → incidents citing it.")
    drift: DriftReport | None = Field(None, description="Recent inputs against the reference data, per feature.")
    anomalies: AnomalyReport | None = None
    alerts: AlertSummary | None = Field(None, description="Probing alerts from the guardrails, last 7 days.")
    evaluation: EvaluationCheck | None = None
    provenance: Provenance | None = None
    data_audit: DataAudit | None = None
    retraining: Retraining | None = None
    monitoring_problems: list[str] | None = None


SUMMARY_FIELDS = {"model_id", "grade", "reasons", "adversarial", "knowledge_available"}

router = APIRouter(tags=["models"])


def _toolbox(services, caller) -> Toolbox:
    assistant = services.assistant
    return Toolbox(assistant.registry, services.knowledge, role=caller.principal.role,
                   monitor=getattr(assistant, "monitor", None),
                   alerts=getattr(getattr(assistant, "guard", None), "alerts_for_model", None))


def _run(services, caller, tool: str, model_id: str) -> dict[str, Any]:
    result = run_tool(_toolbox(services, caller), tool, {"model_id": model_id})
    return shape(result.model_dump(mode="json"), caller.principal.role)


def _drift_chart(services, caller, model_id: str) -> str:
    posture = run_tool(_toolbox(services, caller), "security_posture", {"model_id": model_id})
    if posture.drift is None:
        raise Unavailable("drift is not measured: monitoring is not configured for this service")
    return drift_svg(posture.drift, posture.anomalies, grade=posture.grade)


@router.get("/v1/models", response_model=ModelList, response_model_exclude_none=True, summary="List models",
            responses=responses(401, 429))
async def list_models(caller: CallerDep, services: ServicesDep) -> ModelList:
    """The registered models with their risk tiers; admins also see folders that failed to load."""
    registry = services.assistant.registry
    models = [ModelSummary(id=m.id, owned_by=m.spec.owner or "unknown", name=m.spec.name, entity=m.spec.entity,
                           positive_label=m.spec.positive_label, adversarial=m.spec.adversarial,
                           tiers=[t.name for t in m.spec.risk_tiers]) for m in registry]
    problems = None
    if caller.principal.role == "admin":
        problems = [ModelProblem(path=p.path, message=p.message) for p in registry.problems]
    return ModelList(data=models, problems=problems)


@router.get("/v1/models/{model_id}", response_model=dict[str, Any], summary="Describe a model",
            responses=responses(401, 404, 429))
async def describe(model_id: str, caller: CallerDep, services: ServicesDep) -> dict[str, Any]:
    """What the model predicts, its owner, features and tiers (probability bands for analysts and up)."""
    info = await services.run(_run, services, caller, "describe_model", model_id)
    return {"id": info["model_id"], "object": "model", **info}


@router.get("/v1/models/{model_id}/posture", response_model=PostureOut, response_model_exclude_none=True,
            summary="Security posture of a model", responses=responses(401, 403, 404, 429))
async def posture(model_id: str, caller: CallerDep, services: ServicesDep,
            details: bool = Query(False, description="Incidents, counts by attack type and ROC AUC "
                                                     "(security and admin roles).")) -> dict[str, Any]:
    """Is the model safe to rely on now: a grade with plain reasons, from incidents and measurements."""
    if details:
        require_role(caller, SECURITY_ROLES, "posture details")
    result = await services.run(_run, services, caller, "security_posture", model_id)
    return result if details else {k: v for k, v in result.items() if k in SUMMARY_FIELDS}


@router.get("/v1/models/{model_id}/drift.svg", summary="Drift chart of a model", response_class=Response,
            responses={**responses(401, 404, 429, 503), 200: {"content": {"image/svg+xml": {}},
                                                             "description": "An SVG chart."}})
async def drift_chart(model_id: str, caller: CallerDep, services: ServicesDep) -> Response:
    """PSI per input of the recent inputs against the reference data, with the Watch and At-risk thresholds."""
    svg = await services.run(_drift_chart, services, caller, model_id)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})
