"""`POST /v1/chat/completions`: the OpenAI-compatible face of the same engine.

The last user message is the question. Earlier turns are not replayed: a conversation continues
through the session, named by the `X-Session-Id` header, a `session_id` field (an extension) or
else the request's `user` field (each principal's sessions are separate). The `model` field may name a ModelDesk model (the
question is then about it) or anything else (ignored). `stream: true` sends server-sent events in
OpenAI's chunk format, ending with `data: [DONE]`. Citations, tool calls and the refusal travel in
a `modeldesk` extension key that OpenAI clients ignore.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from adapters.http.auth import CallerDep
from adapters.http.chat import ChatResponse, Issued, answer_request
from adapters.http.errors import responses
from adapters.http.feedback import COMPLETION_PREFIX, ID_PATTERN
from adapters.http.services import ServicesDep
from assistant.errors import BadInput

SESSION_HEADER = "X-Session-Id"


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


class CompletionRequest(BaseModel):
    """OpenAI's chat completion request; fields ModelDesk does not use (temperature, ...) are accepted."""

    model_config = ConfigDict(extra="allow")

    model: str = Field("modeldesk", max_length=256, description="A ModelDesk model id, or any name.")
    messages: list[Message] = Field(min_length=1, max_length=200)
    stream: bool = False
    session_id: str | None = Field(None, pattern=ID_PATTERN, description="ModelDesk extension: continue this "
                                   f"conversation (the {SESSION_HEADER} header, when sent, wins).")
    user: str | None = Field(None, max_length=256, description="Continues that user's conversation when no "
                             "session is named.")


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int
    message: AssistantMessage
    finish_reason: Literal["stop"]


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class Completion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    modeldesk: ChatResponse = Field(description="The native /v1/chat body: citations, tool calls, refusal.")


router = APIRouter(tags=["chat"])

# Each server-sent event: a `data` line holding a JSON chunk (or "[DONE]"), optionally an `event` name.
_SSE_EVENT = {"type": "object", "properties": {"data": {"type": "string"}, "event": {"type": "string"},
                                               "id": {"type": "string"}}, "required": ["data"]}
_STREAM_DOC = {"text/event-stream": {"schema": _SSE_EVENT,
                                     "example": 'data: {"object": "chat.completion.chunk", ...}\n\ndata: [DONE]\n\n'}}


@router.post("/v1/chat/completions", response_model=Completion, summary="OpenAI-compatible chat completion",
             responses={200: {"content": _STREAM_DOC, "description": "A completion, or with `stream: true` "
                                                                      "server-sent events."},
                        **responses(400, 401, 404, 413, 422, 429, 503)})
async def completions(body: CompletionRequest, caller: CallerDep, services: ServicesDep,
                      x_session_id: str | None = Header(None, alias=SESSION_HEADER, pattern=ID_PATTERN)) -> Any:
    """Answer the last user message; with `stream: true` the text arrives as server-sent events."""
    question = next((m.text() for m in reversed(body.messages) if m.role == "user"), "")
    if not question.strip():
        raise BadInput("no user message with text: the last message with role 'user' is the question")
    session_id = x_session_id or body.session_id or (_session_for_user(body.user) if body.user else None)
    model_id = body.model if body.model in services.assistant.registry.models else None
    # The whole answer is computed before the first byte, so a failure is still a JSON error with its status.
    issued = await services.run(answer_request, services, caller.principal, question, session_id=session_id,
                                model_id=model_id, endpoint="chat_completions")
    created = int(time.time())
    headers = {SESSION_HEADER: issued.session_id}
    completion_id = COMPLETION_PREFIX + issued.answer_id
    if body.stream:
        return StreamingResponse(_events(issued, completion_id, created, body.model), media_type="text/event-stream",
                                 headers={**headers, "Cache-Control": "no-cache"})
    text = issued.answer.text
    prompt_tokens, completion_tokens = _tokens(question), _tokens(text)
    completion = Completion(id=completion_id, created=created, model=body.model,
                            choices=[Choice(index=0, message=AssistantMessage(content=text), finish_reason="stop")],
                            usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                                        total_tokens=prompt_tokens + completion_tokens),
                            modeldesk=ChatResponse.model_validate(issued.chat_response()))
    return JSONResponse(completion.model_dump(mode="json"), headers=headers)


def _session_for_user(user: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._:-]", "_", user)[:120]
    return f"user:{cleaned}"


def _tokens(text: str) -> int:
    """A rough token count (words and punctuation), for clients that read `usage`."""
    return len(re.findall(r"\w+|[^\w\s]", text))


async def _events(issued: Issued, completion_id: str, created: int, model: str) -> AsyncIterator[str]:
    """The answer as OpenAI chunks: the role first, then the text piece by piece, then the stop."""

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        payload = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(payload)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for piece in re.findall(r"\S+\s*|\s+", issued.answer.text):
        yield chunk({"content": piece})
    yield chunk({}, "stop", modeldesk=issued.chat_response())
    yield "data: [DONE]\n\n"
