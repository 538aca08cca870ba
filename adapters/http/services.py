"""What the HTTP handlers depend on, built once per app and handed to them through `request.app.state`."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, TypeVar

import anyio
from fastapi import Depends, Request

from adapters.http.auth import ApiKeys
from adapters.http.limits import RateLimiter
from adapters.http.metrics import Metrics
from adapters.http.oidc import TokenVerifier
from assistant.config import Settings
from assistant.engine import Assistant
from assistant.feedback import FeedbackStore, RedisFeedbackStore

log = logging.getLogger("modeldesk.http")
T = TypeVar("T")


@dataclass
class Startup:
    """What happened when the app started: models loaded, knowledge ingested (or why not)."""

    models: int = 0
    model_problems: int = 0
    ingested: bool = False
    ingest_detail: str = "not run"
    done: bool = False


@dataclass
class Services:
    settings: Settings
    keys: ApiKeys
    limiter: RateLimiter
    metrics: Metrics
    feedback: FeedbackStore | RedisFeedbackStore
    assistant: Assistant | None = None
    tokens: TokenVerifier | None = None  # sign-in tokens, when MODELDESK_OIDC_ISSUER is set
    startup: Startup = field(default_factory=Startup)
    answering: anyio.CapacityLimiter | None = None  # made in the app's event loop, at start-up
    overview: Any = None  # assistant.overview.Overview, made on first use (dashboard, /metrics)

    @property
    def knowledge(self) -> Any:
        return getattr(self.assistant, "knowledge", None)

    def posture_overview(self) -> Any:
        """Every model's posture for the dashboard and /metrics; None until the assistant is started."""
        if self.assistant is None:
            return None
        if self.overview is None:
            from assistant.overview import Overview

            self.overview = Overview.of(self.assistant)
        return self.overview

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run engine work (answers, tools, searches) in the answering threads, first come first served.

        Answering is CPU-bound Python: a few threads finish requests sooner than dozens sharing
        the interpreter, and health checks, metrics and feedback never wait behind them.
        """
        if self.answering is None:
            self.answering = anyio.CapacityLimiter(self.settings.answer_concurrency)
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=self.answering)


async def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]
