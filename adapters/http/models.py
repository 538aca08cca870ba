"""Model endpoints: the list, one model described, and its security posture, as the caller's role may see them."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from adapters.http.auth import SECURITY_ROLES, CallerDep, require_role
from adapters.http.errors import responses
from adapters.http.services import ServicesDep
from assistant.conversation.tools import Toolbox, run_tool
from assistant.policy import shape
from assistant.posture import IncidentSummary as Incident  # the core's type, shown as is


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


SUMMARY_FIELDS = {"model_id", "grade", "reasons", "adversarial", "knowledge_available"}

router = APIRouter(tags=["models"])


def _run(services, caller, tool: str, model_id: str) -> dict[str, Any]:
    toolbox = Toolbox(services.assistant.registry, services.knowledge, role=caller.principal.role)
    return shape(run_tool(toolbox, tool, {"model_id": model_id}).model_dump(mode="json"), caller.principal.role)


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
