"""The LLM endpoint, through LangChain's OpenAI-compatible chat model: one deadline per answer, retries with
back-off inside it, a circuit breaker, and counters for /metrics. The API key never reaches a log."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from dataclasses import dataclass
from typing import Any, Iterator

from assistant.llm.breaker import CircuitBreaker
from assistant.llm.stats import LLMStats

log = logging.getLogger("modeldesk.llm")
RETRIES = 2          # extra attempts after a failed one, while the answer's deadline allows
BACK_OFF = 0.25      # seconds before the first retry; doubled for each further one
# Seconds the LLM has used in the current answer (calls and back-off); tool work in between does not count.
_spent: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar("modeldesk_llm_spent", default=None)


class LLMError(Exception):
    """The endpoint gave no usable reply; `reason` is what /metrics counts (timeout, error, circuit_open)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass
class Reply:
    """What the endpoint answered: text, tool calls (name, args) and the calls it sent malformed."""

    text: str
    tool_calls: list[dict[str, Any]]
    invalid_tool_calls: list[dict[str, Any]]
    seconds: float


class LLMClient:
    """`POST {base}/chat/completions`, with tools to plan and without to phrase."""

    def __init__(self, base_url: str, model: str, *, api_key: str = "", timeout: float = 20.0,
                 stats: LLMStats | None = None, breaker: CircuitBreaker | None = None, retries: int = RETRIES,
                 back_off: float = BACK_OFF, max_tokens: int = 512):
        from langchain_openai import ChatOpenAI

        self.base_url, self.model, self.timeout = base_url, model, timeout
        self.stats = stats or LLMStats()
        self.breaker = breaker or CircuitBreaker()
        self.retries, self.back_off = retries, back_off
        # Retries are ours (inside the answer's deadline), so the OpenAI client must not add its own.
        # A local server needs no key, but the OpenAI client insists on one: a placeholder is sent then.
        self.chat = ChatOpenAI(base_url=base_url, model=model, api_key=api_key or "no-key", timeout=timeout,
                               max_retries=0, temperature=0, max_tokens=max_tokens)

    @classmethod
    def from_settings(cls, settings: Any) -> "LLMClient | None":
        if not settings.llm_base_url:
            return None
        return cls(settings.llm_base_url, settings.llm_model, api_key=settings.llm_api_key.get_secret_value(),
                   timeout=settings.llm_timeout)

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Everything the LLM does for one answer (planning and writing, retries and back-off included) shares
        one timeout, so a slow endpoint delays an answer by at most MODELDESK_LLM_TIMEOUT."""
        token = _spent.set([0.0])
        try:
            yield
        finally:
            _spent.reset(token)

    def remaining(self) -> float:
        spent = _spent.get()
        return self.timeout - (spent[0] if spent is not None else 0.0)

    def _spend(self, seconds: float) -> None:
        spent = _spent.get()
        if spent is not None:
            spent[0] += seconds

    def complete(self, messages: list[Any], *, purpose: str, tools: list[Any] | None = None) -> Reply:
        """One reply, retrying connection errors, 429s and 5xx with back-off while time remains.

        Raises LLMError when no reply came: the caller answers deterministically instead."""
        import openai

        model = self.chat.bind_tools(tools, tool_choice="auto") if tools else self.chat
        attempt = 0
        while True:
            remaining = self.remaining()
            if remaining < 0.05:
                raise LLMError("timeout", "no time left in this answer")
            if not self.breaker.allow():
                raise LLMError("circuit_open", "the endpoint failed repeatedly; calls are paused")
            started = time.perf_counter()
            try:
                try:
                    message = model.invoke(messages, timeout=remaining)
                finally:
                    self._spend(time.perf_counter() - started)
            except (openai.APITimeoutError, TimeoutError) as exc:
                self._failed(purpose, "timeout", started)
                raise LLMError("timeout", type(exc).__name__) from None
            except (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError) as exc:
                self._failed(purpose, "error", started)
                retry_in = self.back_off * (2 ** attempt)
                if attempt >= self.retries or self.remaining() <= retry_in + 0.05:
                    raise LLMError("error", _describe(exc)) from None
                time.sleep(retry_in)
                self._spend(retry_in)
                attempt += 1
                continue
            except openai.APIStatusError as exc:  # 4xx: our request or the key is wrong; retrying cannot help
                self._failed(purpose, "error", started)
                raise LLMError("error", _describe(exc)) from None
            except Exception as exc:  # noqa: BLE001 - a malformed reply is a failed call, never a failed answer
                self._failed(purpose, "error", started)
                raise LLMError("error", type(exc).__name__) from None
            seconds = time.perf_counter() - started
            self.breaker.success()
            usage = getattr(message, "usage_metadata", None) or {}
            self.stats.call(purpose, "ok", seconds, usage.get("input_tokens", 0), usage.get("output_tokens", 0))
            text = message.content if isinstance(message.content, str) else _text(message.content)
            return Reply(text=text or "", tool_calls=list(getattr(message, "tool_calls", []) or []),
                         invalid_tool_calls=list(getattr(message, "invalid_tool_calls", []) or []), seconds=seconds)

    def _failed(self, purpose: str, outcome: str, started: float) -> None:
        self.breaker.failure()
        self.stats.call(purpose, outcome, time.perf_counter() - started)


def _describe(exc: Exception) -> str:
    """Status and class only: response bodies may echo request headers, so they are not logged."""
    status = getattr(exc, "status_code", None)
    return f"{type(exc).__name__}" + (f" (HTTP {status})" if status else "")


def _text(content: Any) -> str:
    parts = content if isinstance(content, list) else [content]
    return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in parts)
