"""Prometheus metrics for the service: requests by route and status, latency, refusals, feedback.

Each app owns its registry (no process-global collectors), so several apps can live in one process.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from assistant.answer import Answer

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The service's counters and histograms, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("modeldesk_http_requests", "HTTP requests by route template, method and status.",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("modeldesk_http_request_duration_seconds", "Time to the end of the response.",
                                 ["route", "method"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.answers = Counter("modeldesk_answers", "Answers given, by endpoint.", ["endpoint"],
                               registry=self.registry)
        self.refused = Counter("modeldesk_answers_refused", "Answers that were refusals, by category.",
                               ["category"], registry=self.registry)
        self.feedback = Counter("modeldesk_feedback", "Feedback received on answers, by rating.", ["rating"],
                                registry=self.registry)
        for rating in ("up", "down"):
            self.feedback.labels(rating=rating)

    def answered(self, answer: Answer, endpoint: str) -> None:
        self.answers.labels(endpoint=endpoint).inc()
        if answer.refused:
            self.refused.labels(category=answer.refusal.category if answer.refusal else "other").inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class RequestMetrics:
    """ASGI middleware: counts every response (including 413s and 500s) under its route template."""

    def __init__(self, app: Callable[..., Any], metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def watch(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            # Routing records the matched route in the scope. Requests that never reached a route
            # (unknown paths, bodies rejected as too large) share one label, so scanners cannot
            # inflate the number of series.
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.requests.labels(route=route, method=method, status=str(status)).inc()
            self.metrics.latency.labels(route=route, method=method).observe(time.perf_counter() - started)


router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response, summary="Prometheus metrics",
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "description": "Prometheus text exposition format."}})
def metrics(request: Request) -> Response:
    """Requests by route and status, latency histogram, answers, refusals and feedback counts."""
    return Response(request.app.state.services.metrics.render(), media_type=CONTENT_TYPE_LATEST)
