"""The FastAPI app: wiring only. Each endpoint lives in the module named after its noun."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool

from adapters.http import chat, completions, dashboard, documents, errors, exports, feedback, health, metrics, models
from adapters.http.auth import ApiKeys
from adapters.http.limits import BodySizeLimit, open_rate_limiter
from adapters.http.metrics import LLMCollector, Metrics, PostureCollector, RequestMetrics
from adapters.http.oidc import TokenVerifier
from adapters.http.services import Services
from assistant.config import Settings
from assistant.engine import Assistant
from assistant.errors import AssistantError
from assistant.feedback import open_feedback_store

log = logging.getLogger("modeldesk.http")

DESCRIPTION = """Ask ModelDesk about the predictions of your models and their security posture.

Send `Authorization: Bearer <key>` (a key from `MODELDESK_API_KEYS`, or a sign-in token from the
identity provider when `MODELDESK_OIDC_ISSUER` is set) on every `/v1` request.
Errors are always `{"error": {"code", "message"}}`."""


def create_app(settings: Settings, *, assistant: Assistant | None = None,
               ingested: tuple[bool, str] | None = None, workers: int = 1) -> FastAPI:
    """The ModelDesk HTTP service. Without `assistant`, one is built from `settings` at start-up.

    Start-up loads every model and ingests the knowledge paths (idempotently) before the first
    answer; a knowledge store that is down is logged and reported by /readyz, and prediction
    questions are still answered. `ingested`: the outcome of an ingestion already run for this
    app (by `serve --workers`, once for all its workers), which start-up then does not repeat.
    `workers`: how many processes serve this data directory (their rate limits then live in a file
    they all share).
    """
    services = Services(settings=settings, keys=ApiKeys(settings.api_keys),
                        limiter=open_rate_limiter(settings, shared=workers > 1), metrics=Metrics(),
                        feedback=open_feedback_store(settings), assistant=assistant,
                        tokens=TokenVerifier.from_settings(settings))

    services.metrics.add_collector(PostureCollector(services.posture_overview))
    services.metrics.add_collector(LLMCollector(lambda: getattr(services.assistant, "llm", None)))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services.answering = anyio.CapacityLimiter(settings.answer_concurrency)
        await run_in_threadpool(_start, services, ingested)
        if slack is not None:
            slack.started()
        yield
        if slack is not None:
            slack.close()
        services.feedback.close()
        if hasattr(services.limiter, "close"):
            services.limiter.close()
        if services.knowledge is not None and assistant is None:
            services.knowledge.close()

    app = FastAPI(title="ModelDesk", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.services = services
    app.state.ui_frame_ancestors = [o for o in settings.cors_origin_list if o != "*"]  # portals may frame the chat
    errors.register(app)
    for module in (chat, completions, feedback, models, exports, dashboard, documents, health, metrics):
        app.include_router(module.router)
    app.include_router(dashboard.page_router)
    _include_web_chat(app)
    slack = _include_slack(app, services)

    # Outermost first at run time: metrics see every response, including 413s and CORS preflights.
    origins = settings.cors_origin_list
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST", "OPTIONS"],
                           allow_headers=["Authorization", "Content-Type", "X-Session-Id"],
                           expose_headers=["X-Session-Id", "Retry-After"], max_age=600)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestMetrics, metrics=services.metrics)
    return app


def _include_web_chat(app: FastAPI) -> None:
    """The portal chat page (`/`, `/embed.js`, its static files), when this build has it."""
    try:
        from adapters.http import ui
    except ImportError:
        log.info("web chat not installed; the API is served alone")
        return
    app.include_router(ui.router)


def _include_slack(app: FastAPI, services: Services):
    """Slack's HTTP mode at `POST /slack/events`, when SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN are set."""
    if not (services.settings.slack_signing_secret and services.settings.slack_bot_token):
        return None
    from adapters.slack.http_mode import mount

    return mount(app, services)


def ingest_detail(settings: Settings, knowledge=None) -> tuple[bool, str]:
    """Ingest the knowledge paths (idempotently); (ingested, what happened) for /readyz and the log."""
    own = knowledge is None
    if own:
        from knowledge.base import KnowledgeBase

        knowledge = KnowledgeBase(settings)
    try:
        report = knowledge.ingest(settings.knowledge_paths)
        return True, (f"ingested {report.documents} documents: {report.added} added, {report.updated} updated, "
                      f"{report.unchanged} unchanged, {report.deleted} deleted, {report.rejected} rejected")
    except AssistantError as exc:
        detail = f"knowledge not ingested: {exc.message}"
        log.warning("%s; prediction questions are still answered", detail)
        return False, detail
    finally:
        if own:
            knowledge.close()


def _start(services: Services, ingested: tuple[bool, str] | None = None) -> None:
    """Build the assistant if needed, load the models, ingest the knowledge (never fatal)."""
    settings, startup = services.settings, services.startup
    if services.assistant is None:
        services.assistant = Assistant.from_settings(settings)
    registry = services.assistant.registry
    registry.check()
    startup.models, startup.model_problems = len(registry), len(registry.problems)
    for problem in registry.problems:
        log.warning("model not loaded: %s", problem.message)
    if services.tokens is not None:
        # Never fatal: an unreachable provider is reported by /readyz and retried on the next token.
        services.tokens.keys.refresh()
    elif not services.keys:
        log.warning("no API keys configured (MODELDESK_API_KEYS) and no sign-in (MODELDESK_OIDC_ISSUER): "
                    "every /v1 request will get 401")
    knowledge = services.knowledge
    if knowledge is None:
        startup.ingest_detail = "no knowledge base configured"
    elif ingested is not None:
        startup.ingested, startup.ingest_detail = ingested
        knowledge.health()  # connect now rather than on the first request (never raises)
    else:
        startup.ingested, startup.ingest_detail = ingest_detail(settings, knowledge)
        if startup.ingested:
            log.info(startup.ingest_detail)
    startup.done = True
