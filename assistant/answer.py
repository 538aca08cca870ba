"""The typed answer every channel renders, and who is asking."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Role = Literal["business", "analyst", "security", "admin"]


class Principal(BaseModel):
    """Who asks: an identity, a role that shapes what they may see, and the channel used."""

    id: str
    role: Role = "business"
    channel: str = "api"
    login: str | None = Field(None, description="How the identity was established, never a secret: "
                              "`static id=<key id>` for an API key, `oidc iss=<issuer> kid=<key id>` for a "
                              "sign-in token, `slack id=<user id>` for Slack.")


class Citation(BaseModel):
    doc_id: str
    title: str
    doc_type: str
    snippet: str
    section: str = ""


class ToolCall(BaseModel):
    name: str
    arguments: dict[str, Any]
    result: Any = None
    error: str | None = None


class Refusal(BaseModel):
    category: str
    reason: str
    alternative: str | None = None


class Fact(BaseModel):
    """One number or label stated in the answer, with the tool result it came from."""

    label: str
    value: Any
    source: str


class Answer(BaseModel):
    session_id: str
    text: str
    facts: list[Fact] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    refused: bool = False
    refusal: Refusal | None = None
    clarification: list[str] = Field(default_factory=list, description="Options offered when the question was ambiguous.")
    context: str | None = Field(None, description="What was carried over from earlier turns, when used.")

    def chat_response(self) -> dict[str, Any]:
        """The `/v1/chat` response body (PRODUCT.md)."""
        return {
            "session_id": self.session_id,
            "answer": self.text,
            "citations": [c.model_dump(include={"doc_id", "title", "doc_type", "snippet"}) for c in self.citations],
            "tool_calls": [{"name": t.name, "arguments": t.arguments, "result": t.result} for t in self.tool_calls],
            "refused": self.refused,
            "refusal": self.refusal.model_dump(include={"category", "reason"}) if self.refusal else None,
        }
