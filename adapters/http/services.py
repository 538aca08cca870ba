"""What the HTTP handlers depend on, built once per app and handed to them through `request.app.state`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from adapters.http.auth import ApiKeys
from adapters.http.feedback import FeedbackStore
from adapters.http.limits import RateLimiter
from adapters.http.metrics import Metrics
from assistant.config import Settings
from assistant.engine import Assistant

log = logging.getLogger("modeldesk.http")


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
    feedback: FeedbackStore
    assistant: Assistant | None = None
    startup: Startup = field(default_factory=Startup)

    @property
    def knowledge(self) -> Any:
        return getattr(self.assistant, "knowledge", None)


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]
