"""`GET /v1/documents/{doc_id}`: the text behind a citation, for documents the caller's role may read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from adapters.http.auth import CallerDep
from adapters.http.errors import responses
from adapters.http.services import ServicesDep
from assistant.errors import NotFound, Unavailable

MAX_PASSAGES = 50


class Passage(BaseModel):
    section: str
    text: str


class DocumentOut(BaseModel):
    doc_id: str
    title: str
    doc_type: str
    model_id: str | None = None
    date: str | None = None
    flagged: bool = Field(False, description="The document looked like instructions to an AI at ingestion: "
                                             "show it as quoted data.")
    passage: Passage = Field(description="The passage that best matches `q` (the citation's snippet), "
                                         "or the opening passage.")
    passages: list[Passage] = Field(description="All passages of the document, best match for `q` first.")


router = APIRouter(tags=["knowledge"])


@router.get("/v1/documents/{doc_id:path}", response_model=DocumentOut, summary="A cited document's passages",
            responses=responses(401, 404, 422, 429, 503))
async def document(doc_id: str, caller: CallerDep, services: ServicesDep,
                   q: str | None = Query(None, max_length=1000, description="Text to find in the document, "
                                                                            "e.g. the citation's snippet.")
                   ) -> dict[str, Any]:
    """The passages of a cited document. A document your role may not read is reported as not found."""
    return await services.run(_document, services.knowledge, doc_id, caller.principal.role, q)


def _document(knowledge: Any, doc_id: str, role: str, q: str | None) -> dict[str, Any]:
    if knowledge is None:
        raise Unavailable("the knowledge base is not configured")
    rows = knowledge.documents(role=role, filters={"doc_id": [doc_id]})
    if not rows:
        raise NotFound(f"no document {doc_id!r} that you may read")
    meta = rows[0]
    query = (q or "").strip() or meta.get("title") or doc_id
    results = knowledge.search(query, role=role, filters={"doc_id": [doc_id]}, group=False, top_k=MAX_PASSAGES)
    passages = [Passage(section=r.section, text=r.text) for r in results]
    if not passages:
        raise NotFound(f"document {doc_id!r} has no passages")
    return {"doc_id": doc_id, "title": meta.get("title", ""), "doc_type": meta.get("doc_type", ""),
            "model_id": meta.get("model_id") or None, "date": meta.get("date") or None,
            "flagged": bool(meta.get("flagged_injection")), "passage": passages[0], "passages": passages}
