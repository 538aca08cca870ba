"""The posture dashboard: the page at `/dashboard` and its data at `GET /v1/dashboard` (security and admin).

The page is static (no key needed to load it, nothing from a CDN); it calls `GET /v1/dashboard` with
the caller's own key. The data is every model's posture from the core's `Overview`, with the charts
drawn here as SVG (adapters/http/charts.py) and the feedback report.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from adapters.http import charts
from adapters.http.auth import SECURITY_ROLES, CallerDep, require_role
from adapters.http.errors import responses
from adapters.http.exports import audit_log
from adapters.http.services import Services, ServicesDep
from adapters.http.ui import STATIC_DIR, _security_headers
from assistant.errors import Unavailable
from assistant.feedback import feedback_report

FEEDBACK_DAYS = 30

router = APIRouter(tags=["posture"])
page_router = APIRouter(include_in_schema=False)


@page_router.get("/dashboard", response_class=FileResponse)
def dashboard_page() -> Response:
    """The posture dashboard page (plain HTML/CSS/JS; its data needs a security or admin key)."""
    return FileResponse(STATIC_DIR / "dashboard.html", media_type="text/html; charset=utf-8",
                        headers=_security_headers())


def _iso(ts: float | None) -> str | None:
    return None if ts is None else dt.datetime.fromtimestamp(float(ts), dt.timezone.utc).isoformat(timespec="seconds")


def _model(m: Any, feedback: dict[str, dict[str, int]]) -> dict[str, Any]:
    p = m.posture
    drift = None
    if p.drift is not None:
        drift = {"rows": p.drift.rows, "judged": p.drift.judged, "level": p.drift.level,
                 "drifting": [f.label for f in p.drift.features if f.feature in p.drift.drifting],
                 "since": p.drift.since,
                 "features": [{"feature": f.feature, "label": f.label, "psi": round(f.psi, 4), "level": f.level,
                               "reference": f.reference, "recent": f.recent} for f in p.drift.features]}
    unusual = None
    if p.anomalies is not None:
        unusual = {"rows": p.anomalies.rows, "share": p.anomalies.share, "expected_share": p.anomalies.expected_share,
                   "judged": p.anomalies.judged, "level": p.anomalies.level}
    retraining = None
    if p.retraining is not None:
        retraining = {"due": p.retraining.due, "reasons": p.retraining.reasons, "since": p.retraining.since,
                      "history": [t.model_dump() for t in p.retraining.history[:5]]}
    return {
        "model_id": m.model_id, "name": m.name, "entity": m.entity, "grade": p.grade, "headline": p.headline,
        "reasons": p.reasons, "drift": drift, "unusual_inputs": unusual,
        "open_incidents": [i.model_dump() for i in p.active_incidents],
        "incidents_by_status": [c.model_dump() for c in m.incidents_by_status],
        "incidents_by_technique": [c.model_dump() for c in m.incidents_by_technique],
        "alerts_last_day": m.alerts_last_day, "alerts_week": p.alerts.count if p.alerts else 0,
        "retraining": retraining, "feedback": feedback.get(m.model_id, {"helpful": 0, "not_helpful": 0}),
        "history": [{"at": s.at, "source": s.source, "grade": s.grade, "rows": s.rows, "unusual_share": s.unusual_share,
                     "psi": {s.labels.get(k, k): v for k, v in s.psi.items()}} for s in m.history[-20:]],
        "charts": {"drift_history": charts.drift_history_svg(m.model_id, m.history)},
    }


def _build(services: Services, request: Request) -> dict[str, Any]:
    overview = services.posture_overview()
    if overview is None:
        raise Unavailable("the service is still starting")
    report = overview.report()
    now = time.time()
    try:
        feedback = feedback_report(services.feedback, audit_log(request), since=now - FEEDBACK_DAYS * 86400)
    except Unavailable:
        feedback = None
    per_model: dict[str, dict[str, int]] = {}
    for g in feedback.groups if feedback else []:
        if g.model_id:
            counts = per_model.setdefault(g.model_id, {"helpful": 0, "not_helpful": 0})
            counts["helpful"] += g.helpful
            counts["not_helpful"] += g.not_helpful
    alerts = [{"at": _iso(a.get("ts")), "principal": a.get("principal"), "role": a.get("role"),
               "model_id": a.get("model_id"), "kind": a.get("kind"), "level": a.get("level"), "detail": a.get("detail"),
               "queries": list(a.get("queries") or [])[-3:]} for a in report.alerts]
    return {
        "generated_at": _iso(report.generated_at),
        "models": [_model(m, per_model) for m in report.models],
        "alerts": alerts,
        "alert_days": report.alert_days,
        "feedback": feedback.model_dump() if feedback else None,
        "charts": {"alerts": charts.alerts_timeline_svg(report.alerts, now, days=report.alert_days),
                   "feedback": charts.feedback_svg(feedback.days if feedback else [])},
    }


@router.get("/v1/dashboard", response_model=dict[str, Any], summary="Posture of every model (the dashboard's data)",
            responses=responses(401, 403, 429, 503))
async def dashboard_data(caller: CallerDep, services: ServicesDep, request: Request) -> dict[str, Any]:
    """Every model's grade and reasons, drift per feature over time, unusual inputs, incidents by status and
    ATLAS technique, probing alerts with principals, retraining triggers and answer feedback (security, admin)."""
    require_role(caller, SECURITY_ROLES, "the posture dashboard")
    return await services.run(_build, services, request)
