"""The embeddable web chat: the page at `/`, the one-line embed at `/embed.js`, and its assets.

Everything is served by the app itself (no CDN, works offline). Include with
`app.include_router(router)`. The page talks to the API with the caller's own key:
`POST /v1/chat/completions` with `stream: true` for the answer (text chunks rendered as they
arrive; the last chunk's `modeldesk` extension carries the citations, tool calls, refusal and
answer id), `GET /v1/documents/{doc_id}` for a cited passage and `POST /v1/feedback` for thumbs
up/down. The page and its assets need no key; every /v1 call carries the user's: an API key, a
sign-in token the embedding portal supplies (`data-token-provider`), or one the page gets by
signing in itself (`GET /auth/config` says how, when MODELDESK_OIDC_CLIENT_ID is set).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from adapters.http.errors import error_response
from assistant.errors import Unavailable

STATIC_DIR = Path(__file__).resolve().parent / "static"

router = APIRouter(include_in_schema=False)

# The page loads only its own assets and calls only its own origin. It is meant to be framed by
# internal portals (that is what /embed.js does), so any page may frame it: in a frame the page
# uses only the key the embedding page passed (in the URL fragment), never one remembered on the
# device, so framing it gives a page nothing it did not already have.
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'{token}; base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors *")


def _security_headers(token_origin: str = "") -> dict[str, str]:
    """`token_origin`: the identity provider's, when the page signs in (it posts the code there)."""
    return {
        "Content-Security-Policy": _CSP.format(token=f" {token_origin}" if token_origin else ""),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


def _sign_in(request: Request) -> dict[str, Any] | None:
    """What the page needs to sign in (OIDC authorization code with PKCE), or None when it is not
    configured (MODELDESK_OIDC_CLIENT_ID); Unavailable when the provider cannot be reached."""
    services = request.app.state.services
    settings, tokens = services.settings, services.tokens
    if tokens is None or not settings.oidc_client_id:
        return None
    discovery = tokens.keys.discover()
    endpoints = {name: discovery.get(name) for name in ("authorization_endpoint", "token_endpoint")}
    missing = [name for name, url in endpoints.items() if not isinstance(url, str) or "://" not in url]
    if missing:
        raise Unavailable(f"sign-in is unavailable: the identity provider's discovery document has no {missing[0]}")
    return {"sign_in": True, **endpoints, "client_id": settings.oidc_client_id, "scopes": settings.oidc_scopes,
            "audience": settings.oidc_audience}


@router.get("/", response_class=FileResponse)
def chat_page(request: Request) -> Response:
    """The chat page (plain HTML/CSS/JS; no build step)."""
    try:
        sign_in = _sign_in(request)
    except Unavailable:
        sign_in = None  # the page asks /auth/config, which says why
    token_origin = ""
    if sign_in:
        parts = urlsplit(sign_in["token_endpoint"])
        token_origin = f"{parts.scheme}://{parts.netloc}"
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8",
                        headers=_security_headers(token_origin))


@router.get("/auth/config")
def sign_in_config(request: Request) -> Response:
    """How the page at / signs in: `{"sign_in": false}`, or the provider's endpoints, the public client
    id, the scopes and the audience a token for this service carries."""
    try:
        sign_in = _sign_in(request)
    except Unavailable as exc:
        return error_response(503, "unavailable", exc.message)
    return JSONResponse(sign_in or {"sign_in": False}, headers={"Cache-Control": "no-store"})


@router.get("/embed.js", response_class=FileResponse)
def embed_script() -> Response:
    """`<script src="https://modeldesk.example/embed.js" data-key="..."></script>` adds a chat button."""
    return FileResponse(STATIC_DIR / "embed.js", media_type="text/javascript; charset=utf-8",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache",
                                 "Cross-Origin-Resource-Policy": "cross-origin"})


@router.get("/static/{path:path}")
def static_asset(path: str) -> Response:
    """Assets of the page, only from the package's static folder (no traversal out of it)."""
    root = STATIC_DIR
    target = (root / path).resolve()
    if not path or not target.is_relative_to(root) or not target.is_file():
        raise HTTPException(status_code=404, detail=f"no static asset {path!r}")
    media_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type in ("application/javascript", "image/svg+xml"):
        media_type = ("text/javascript" if target.suffix == ".js" else media_type) + "; charset=utf-8"
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
    return FileResponse(target, media_type=media_type, headers=headers)
