"""`POST /v1/chat`: the native chat endpoint, and `answer_request`, the one path from HTTP to the engine."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from adapters.http.auth import CallerDep
from adapters.http.errors import responses
from adapters.http.feedback import ID_PATTERN
from adapters.http.services import Services, ServicesDep
from assistant.answer import Answer, Principal, Refusal
from assistant.engine import MAX_MESSAGE_CHARS
from assistant.errors import Refused, Unavailable

log = logging.getLogger("modeldesk.http")


@dataclass
class Issued:
    """An answer as HTTP hands it out: the engine's Answer, its id, and the caller's session id."""

    answer: Answer
    answer_id: str
    session_id: str

    def chat_response(self) -> dict[str, Any]:
        return {**self.answer.chat_response(), "session_id": self.session_id, "answer_id": self.answer_id}


def answer_request(services: Services, principal: Principal, message: str, *, session_id: str | None,
                   model_id: str | None, endpoint: str) -> Issued:
    """Every HTTP question goes through here: screening, budgets and auditing wrap this one function.

    Sessions are kept per principal (the engine sees `<principal>/<session id>`), so a session id
    seen by someone else does not let them continue that conversation.
    """
    session_id = session_id or uuid.uuid4().hex
    engine_session = f"{principal.id}/{session_id}"
    answer_id = uuid.uuid4().hex
    try:
        answer = services.assistant.answer(message, principal, session_id=engine_session, model_id=model_id,
                                           answer_id=answer_id)
    except Refused as exc:  # a refusal is an answer the user reads, not a failed request
        answer = Answer(session_id=engine_session, text=exc.message, refused=True,
                        refusal=Refusal(category=exc.category, reason=exc.message, alternative=exc.alternative))
    issued = Issued(answer=answer, answer_id=answer_id, session_id=session_id)
    try:
        services.feedback.issued(issued.answer_id, session_id, principal.id, principal.role, endpoint, answer.refused)
    except Unavailable as exc:  # the answer still goes out; only feedback on it is lost
        log.warning("%s; answer %s cannot be rated", exc.message, issued.answer_id)
    services.metrics.answered(answer, endpoint)
    return issued


class ChatRequest(BaseModel):
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, description="The question, in plain English.")
    session_id: str | None = Field(None, pattern=ID_PATTERN, description="Continue this conversation (returned by "
                                   "an earlier answer); omit to start a new one.")
    model_id: str | None = Field(None, max_length=128, description="The model the question is about, if known.")


class CitationOut(BaseModel):
    doc_id: str
    title: str
    doc_type: str
    snippet: str


class ToolCallOut(BaseModel):
    name: str
    arguments: dict[str, Any]
    result: Any = None


class RefusalOut(BaseModel):
    category: str
    reason: str


class ChatResponse(BaseModel):
    session_id: str
    answer: str = Field(description="Markdown text.")
    citations: list[CitationOut]
    tool_calls: list[ToolCallOut]
    refused: bool
    refusal: RefusalOut | None
    answer_id: str = Field(description="Names this answer in POST /v1/feedback (an extension to the contract).")


router = APIRouter(tags=["chat"])


@router.post("/v1/chat", response_model=ChatResponse, summary="Ask a question",
             responses=responses(400, 401, 404, 413, 422, 429, 503))
async def chat(body: ChatRequest, caller: CallerDep, services: ServicesDep) -> JSONResponse:
    """Answer a question with citations, the tool calls behind it and, when declined, the refusal."""

    def respond() -> JSONResponse:  # serialised in the worker thread too, not on the event loop
        issued = answer_request(services, caller.principal, body.message, session_id=body.session_id,
                                model_id=body.model_id, endpoint="chat")
        return JSONResponse(issued.chat_response())  # the ChatResponse shape

    return await services.run(respond)
