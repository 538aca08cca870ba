"""`GET /v1/models/{id}/export`: a model's stored records with tiers, actions and reasons, for BI tools.

Admins only (bulk scores are what extraction is after); every export, and every refused attempt, is
written to the audit log. The file is made completely in a temporary folder first (so a failure is a
JSON error, never half a file), then streamed, then deleted.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from adapters.http.auth import Caller, CallerDep, require_role
from adapters.http.errors import responses
from adapters.http.services import Services, ServicesDep
from assistant import export as exports

EXPORT_ROLES = ("admin",)
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}

router = APIRouter(tags=["models"])


def audit_log(request: Request):
    """The assistant's audit log, or one opened from settings when the assistant was built without it:
    an export is never made unaudited."""
    services: Services = request.app.state.services
    log = getattr(services.assistant, "audit", None)
    if log is not None:
        return log
    log = getattr(request.app.state, "export_audit", None)
    if log is None:
        from assistant.audit import open_audit_log

        log = request.app.state.export_audit = open_audit_log(services.settings)
    return log


def _refused(log, caller: Caller, model_id: str, fmt: str) -> None:
    from assistant.audit import AuditEntry, AuditToolCall

    p = caller.principal
    log.record(AuditEntry(principal=p.id, role=p.role, channel=p.channel, question=f"export {model_id}: refused",
                          model_id=model_id, verdict="refused", category="forbidden",
                          tool_calls=[AuditToolCall(name="export", arguments={"model_id": model_id, "format": fmt})],
                          detail=f"exports are limited to the admin role; the key has the {p.role} role"))


def _make(services: Services, caller: Caller, log, model_id: str, fmt: exports.Format,
          with_probability: bool) -> tuple[Path, exports.ExportResult]:
    model = services.assistant.registry.get(model_id)  # unknown model: 404 naming the closest ids
    folder = Path(tempfile.mkdtemp(prefix="modeldesk-export-"))
    try:
        result = exports.export(model, folder / f"{model.id}.{fmt}", principal=caller.principal, audit=log, fmt=fmt,
                                with_probability=with_probability)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder, result


@router.get("/v1/models/{model_id}/export", summary="Export a model's tiers for BI tools", response_class=FileResponse,
            responses={**responses(401, 403, 404, 422, 429, 503), 200: {
                "content": {"text/csv": {}, "application/vnd.apache.parquet": {}},
                "description": "One row per stored record: the id column, tier, tier_rank, action, reasons, "
                               "[probability,] model_version, scored_at."}})
async def export(model_id: str, caller: CallerDep, services: ServicesDep, request: Request,
                 format: Literal["csv", "parquet"] = Query("csv", description="csv (default) or parquet."),
                 with_probability: bool = Query(False, description="Add the probability column (4 decimals).")
                 ) -> FileResponse:
    """Every stored record with its risk tier, tier rank, action and top reasons in words (admin role only;
    audited; never counted as probing)."""
    log = audit_log(request)
    if caller.principal.role not in EXPORT_ROLES:
        _refused(log, caller, model_id, format)
        require_role(caller, EXPORT_ROLES, "exporting a model's scores")
    folder, result = await services.run(_make, services, caller, log, model_id, format, with_probability)
    stamp = time.strftime("%Y%m%d", time.gmtime())
    return FileResponse(result.path, media_type=MEDIA_TYPES[format], filename=f"{result.model_id}-{stamp}.{format}",
                        headers={"Cache-Control": "no-store", "X-Export-Rows": str(result.rows)},
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))

