"""The embeddable web chat: the page at `/`, the one-line embed at `/embed.js`, and its assets.

Everything is served by the app itself (no CDN, works offline). Include with
`app.include_router(router)`. The page talks to the API with the caller's own key:
`POST /v1/chat/completions` with `stream: true` for the answer (text chunks rendered as they
arrive; the last chunk's `modeldesk` extension carries the citations, tool calls, refusal and
answer id), `GET /v1/documents/{doc_id}` for a cited passage and `POST /v1/feedback` for thumbs
up/down. The page and its assets need no key; every /v1 call carries the user's.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, Response

STATIC_DIR = Path(__file__).resolve().parent / "static"

router = APIRouter(include_in_schema=False)

# The page loads only its own assets and calls only its own origin. It is meant to be framed by
# internal portals (that is what /embed.js does), so any page may frame it: in a frame the page
# uses only the key the embedding page passed (in the URL fragment), never one remembered on the
# device, so framing it gives a page nothing it did not already have.
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors *")


def _security_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": _CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


@router.get("/", response_class=FileResponse)
def chat_page() -> Response:
    """The chat page (plain HTML/CSS/JS; no build step)."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8",
                        headers=_security_headers())


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
