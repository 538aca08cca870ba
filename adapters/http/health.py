"""Liveness (`/healthz`) and readiness (`/readyz`: the knowledge store, the state store and, with
single sign-on, the identity provider answer)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from adapters.http.errors import ErrorDetail
from assistant.errors import AssistantError


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Check(BaseModel):
    ok: bool
    detail: str = ""


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, Check]
    models: int
    error: ErrorDetail | None = None


router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="Liveness")
def healthz() -> Health:
    """The process is up and serving HTTP."""
    return Health()


@router.get("/readyz", response_model=Readiness, summary="Readiness",
            responses={503: {"model": Readiness, "description": "A backing store is unreachable; `checks` says which."}})
def readyz(request: Request) -> JSONResponse:
    """Ready when start-up finished, the knowledge store and state store answer and, with single
    sign-on, the identity provider's signing keys could be fetched."""
    services = request.app.state.services
    checks: dict[str, Check] = {"startup": Check(ok=services.startup.done, detail=services.startup.ingest_detail)}
    knowledge = services.knowledge
    if knowledge is None:
        checks["knowledge"] = Check(ok=False, detail="no knowledge base configured")
    else:
        health = knowledge.health()
        checks["knowledge"] = Check(ok=health.ok, detail=health.detail or f"{health.chunks} passages ({health.backend})")
    checks["state"] = _state_check(services)
    if services.tokens is not None:
        ok, detail = services.tokens.keys.health()
        checks["identity_provider"] = Check(ok=ok, detail=detail)
    failing = [name for name, check in checks.items() if not check.ok]
    models = len(services.assistant.registry) if services.assistant is not None else 0
    if failing:
        body = Readiness(status="unavailable", checks=checks, models=models,
                         error=ErrorDetail(code="unavailable", message="not ready: " + "; ".join(
                             f"{name}: {checks[name].detail or 'failing'}" for name in failing)))
        return JSONResponse(body.model_dump(mode="json"), status_code=503)
    return JSONResponse(Readiness(status="ready", checks=checks, models=models).model_dump(mode="json"))


def _state_check(services) -> Check:
    """The conversation, feedback and guardrail stores (SQLite files, or the shared Redis)."""
    assistant = services.assistant
    sessions = getattr(assistant, "sessions", None)
    guard = getattr(assistant, "guard", None)
    probes = [("feedback", services.feedback.ping)]
    if sessions is not None:
        probes.append(("sessions", getattr(sessions, "ping", None) or (lambda: sessions.load("readyz-probe"))))
    if guard is not None:
        probes.append(("guardrails", guard.store.ping))
    failing: dict[str, str] = {}
    for name, probe in probes:
        try:
            probe()
        except AssistantError as exc:
            failing[name] = exc.message
        except Exception as exc:  # a broken SQLite file or an unreachable Redis
            failing[name] = f"state store unavailable: {type(exc).__name__}"
    if failing:
        return Check(ok=False, detail=f"{', '.join(failing)} store{'s' if len(failing) > 1 else ''} unavailable: "
                                      f"{next(iter(failing.values()))}")
    where = "Redis" if services.settings.redis_url else "SQLite"
    return Check(ok=True, detail=f"{', '.join(n for n, _ in probes)} stores answer ({where})")
