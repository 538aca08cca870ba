"""`POST /v1/feedback`: thumbs up or down with an optional comment, stored in the core's FeedbackStore
(re-exported here) and counted."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, model_validator

from adapters.http.auth import CallerDep
from adapters.http.errors import responses
from assistant.feedback import FeedbackStore  # noqa: F401  (the store moved to the core; kept importable here)

ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
COMPLETION_PREFIX = "chatcmpl-"


class FeedbackRequest(BaseModel):
    """Thumbs up or down on an answer: name it by `answer_id` (or the latest answer in `session_id`)."""

    answer_id: str | None = Field(None, pattern=ID_PATTERN, description="The `answer_id` of a /v1/chat answer, or "
                                  "the `id` of a /v1/chat/completions response.")
    session_id: str | None = Field(None, pattern=ID_PATTERN, description="Rate the latest answer in this session.")
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _names_an_answer(self) -> "FeedbackRequest":
        if not self.answer_id and not self.session_id:
            raise ValueError("give the answer_id (or session_id) of the answer you are rating")
        return self


class FeedbackReceipt(BaseModel):
    feedback_id: int
    answer_id: str
    rating: Literal["up", "down"]


router = APIRouter(tags=["chat"])


@router.post("/v1/feedback", status_code=201, response_model=FeedbackReceipt, summary="Rate an answer",
             responses=responses(400, 401, 404, 413, 422, 429, 503))
def post_feedback(body: FeedbackRequest, caller: CallerDep, request: Request) -> FeedbackReceipt:
    """Store a thumbs up or down (with an optional comment) on an answer you received."""
    services = request.app.state.services
    answer_id = body.answer_id.removeprefix(COMPLETION_PREFIX) if body.answer_id else None
    feedback_id, answer_id = services.feedback.add(
        principal=caller.principal.id, role=caller.principal.role, rating=body.rating,
        comment=(body.comment or "").strip() or None, answer_id=answer_id, session_id=body.session_id)
    services.metrics.feedback.labels(rating=body.rating).inc()
    return FeedbackReceipt(feedback_id=feedback_id, answer_id=answer_id, rating=body.rating)
