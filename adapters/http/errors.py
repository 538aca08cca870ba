"""Errors as HTTP sees them: every failure becomes `{"error": {"code", "message"}}` with the right status.

The core's error hierarchy is mapped to statuses here, once; anything unexpected is a generic 500
whose details go to the server log, never to the client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.errors import AssistantError, BadInput, ConfigError, NotAuthorized, NotFound, Refused, Unavailable

log = logging.getLogger("modeldesk.http")

# Most specific first: the first class an error is an instance of decides its status.
STATUS_BY_ERROR: list[tuple[type[AssistantError], int]] = [
    (BadInput, 422),
    (NotFound, 404),
    (NotAuthorized, 403),
    (Refused, 403),
    (Unavailable, 503),
    (ConfigError, 500),
    (AssistantError, 400),
]

_CODE_BY_STATUS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                   405: "method_not_allowed", 406: "not_acceptable", 413: "payload_too_large",
                   415: "unsupported_media_type", 422: "invalid_request", 429: "rate_limited",
                   500: "internal_error", 503: "unavailable"}


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


class HttpError(Exception):
    """An error raised by the adapter itself (authentication, rate limit), with its status and headers."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def error_json(status: int, code: str, message: str) -> bytes:
    """The same body as bytes, for the ASGI middleware that answers before the app runs."""
    return ErrorBody(error=ErrorDetail(code=code, message=message)).model_dump_json().encode()


def status_for(exc: AssistantError) -> int:
    return next(status for cls, status in STATUS_BY_ERROR if isinstance(exc, cls))


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the error statuses an endpoint can return."""
    return {s: {"model": ErrorBody, "description": _CODE_BY_STATUS.get(s, "error").replace("_", " ")} for s in statuses}


def _validation_message(exc: RequestValidationError) -> tuple[str, str]:
    problems = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            return "bad_request", "the request body is not valid JSON"
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        where = ".".join(loc) or "body"
        ctx = err.get("ctx") or {}
        if err.get("type") == "string_too_long" and isinstance(err.get("input"), str):
            problems.append(f"{where} is too long: {len(err['input']):,} characters; the limit is "
                            f"{ctx.get('max_length', '?'):,}")
        elif err.get("type") == "missing":
            problems.append(f"{where} is required")
        else:
            problems.append(f"{where}: {str(err.get('msg', 'invalid')).removeprefix('Value error, ')}")
    return "invalid_request", "; ".join(problems) or "the request is not valid"


def register(app: FastAPI) -> None:
    """Install the handlers that turn every exception into the JSON error shape."""

    @app.exception_handler(AssistantError)
    async def _assistant_error(request: Request, exc: AssistantError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500 and not isinstance(exc, Unavailable):
            log.error("server-side problem on %s: %s", request.url.path, exc.message)
            return error_response(status, exc.code, "the server is misconfigured; the operator has the details")
        return error_response(status, exc.code, exc.message)

    @app.exception_handler(HttpError)
    async def _http_error(request: Request, exc: HttpError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        code, message = _validation_message(exc)
        return error_response(400 if code == "bad_request" else 422, code, message)

    @app.exception_handler(StarletteHTTPException)
    async def _starlette(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODE_BY_STATUS.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}"
        return error_response(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "something went wrong on our side; it has been logged")
