"""The embeddable web chat: the page at `/`, the one-line embed at `/embed.js`, and its assets.

Everything is served by the app itself (no CDN, works offline). Include with
`app.include_router(router)`. The page talks to the API with the caller's own key:
`/v1/chat/completions` (streamed text) for the answer, then the structured parts
(tier, reasons, citations) carried by the stream, `/v1/documents/{doc_id}` for a cited
passage and `/v1/feedback` for thumbs up/down.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response

STATIC_DIR = Path(__file__).resolve().parent / "static"

router = APIRouter(include_in_schema=False)

# The page loads only its own assets and calls only its own origin. It is meant to be framed
# by internal portals (that is what /embed.js does), so frame-ancestors stays open unless the
# app narrows it (app.state.ui_frame_ancestors, e.g. the configured CORS portal origins).
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors {ancestors}")


def _frame_ancestors(request: Request) -> str:
    origins = getattr(request.app.state, "ui_frame_ancestors", None)
    if not origins:
        return "*"
    return " ".join(["'self'", *origins])


def _security_headers(request: Request) -> dict[str, str]:
    return {
        "Content-Security-Policy": _CSP.format(ancestors=_frame_ancestors(request)),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


@router.get("/", response_class=FileResponse)
def chat_page(request: Request) -> Response:
    """The chat page (plain HTML/CSS/JS; no build step)."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8",
                        headers=_security_headers(request))


@router.get("/embed.js", response_class=FileResponse)
def embed_script() -> Response:
    """`<script src="https://modeldesk.example/embed.js" data-key="..."></script>` adds a chat button."""
    return FileResponse(STATIC_DIR / "embed.js", media_type="text/javascript; charset=utf-8",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache",
                                 "Cross-Origin-Resource-Policy": "cross-origin"})


@router.get("/static/{path:path}")
def static_asset(path: str, request: Request) -> Response:
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
