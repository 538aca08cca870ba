"""Prometheus metrics for the service: requests by route and status, latency, refusals, feedback, and
every model's posture as gauges (grade, PSI per feature, unusual-input share, open incidents by
severity, probing alerts in the last day) for Grafana (deploy/grafana-dashboard.json).

Each app owns its registry (no process-global collectors), so several apps can live in one process.
Under `serve --workers N` the supervisor sets PROMETHEUS_MULTIPROC_DIR for its workers: each
worker's counters live in files there, and a scrape, whichever worker takes it, adds up all of them.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Callable

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from assistant.answer import Answer

log = logging.getLogger("modeldesk.http")
GRADES = {"Good": 0, "Watch": 1, "At risk": 2}
SEVERITIES = ("low", "medium", "high", "critical")
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
        self.collectors: list[Any] = []  # computed at scrape time (posture gauges)

    def answered(self, answer: Answer, endpoint: str) -> None:
        self.answers.labels(endpoint=endpoint).inc()
        if answer.refused:
            self.refused.labels(category=answer.refusal.category if answer.refusal else "other").inc()

        self.collectors: list[Any] = []  # computed at scrape time (posture gauges)

    def add_collector(self, collector: Any) -> None:
        self.registry.register(collector)
        self.collectors.append(collector)

    def render(self) -> bytes:
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        # Every worker's counters, summed; the posture gauges read the shared stores, so one worker's do.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        for collector in self.collectors:
            registry.register(collector)
        return generate_latest(registry)


class PostureCollector:
    """Posture gauges, measured when Prometheus scrapes (through the overview's short cache)."""

    def __init__(self, overview: Callable[[], Any]):
        self.overview = overview

    def describe(self) -> list:
        return []  # nothing is measured when the collector is registered

    def collect(self):
        overview = self.overview()
        if overview is None:
            return
        try:
            report = overview.report()
        except Exception:  # posture must never take /metrics down
            log.exception("posture gauges not measured")
            return
        grade = GaugeMetricFamily("modeldesk_posture_grade", "Posture grade per model: 0 Good, 1 Watch, 2 At risk.",
                                  labels=["model"])
        psi = GaugeMetricFamily("modeldesk_drift_psi", "Population stability index of recent inputs against the "
                                "reference data, per model and feature (0.1 watch, 0.25 at risk).", labels=["model", "feature"])
        rows = GaugeMetricFamily("modeldesk_drift_recent_inputs", "Recent inputs in the drift window, per model.",
                                 labels=["model"])
        unusual = GaugeMetricFamily("modeldesk_unusual_input_share", "Share of recent inputs unlike the reference "
                                    "data (about 0.01 expected), per model.", labels=["model"])
        incidents = GaugeMetricFamily("modeldesk_open_incidents", "Open or investigating incidents, per model and "
                                      "severity.", labels=["model", "severity"])
        alerts = GaugeMetricFamily("modeldesk_probing_alerts_last_day", "Probing alerts from the guardrails in the "
                                   "last 24 hours, per model.", labels=["model"])
        retraining = GaugeMetricFamily("modeldesk_retraining_due", "1 when a retraining trigger is crossed.",
                                       labels=["model"])
        for m in report.models:
            p = m.posture
            grade.add_metric([m.model_id], GRADES.get(p.grade, 1))
            if p.drift is not None:
                rows.add_metric([m.model_id], p.drift.rows)
                for f in p.drift.features:
                    psi.add_metric([m.model_id, f.feature], f.psi)
            if p.anomalies is not None and p.anomalies.rows:
                unusual.add_metric([m.model_id], p.anomalies.share)
            for severity in SEVERITIES:
                incidents.add_metric([m.model_id, severity], m.open_by_severity.get(severity, 0))
            alerts.add_metric([m.model_id], m.alerts_last_day)
            retraining.add_metric([m.model_id], int(bool(p.retraining and p.retraining.due)))
        yield from (grade, psi, rows, unusual, incidents, alerts, retraining)


class LLMCollector:
    """The optional LLM backend's calls, latency, tokens, fallbacks and circuit state (nothing when none is set)."""

    def __init__(self, llm: Callable[[], Any]):
        self.llm = llm

    def describe(self) -> list:
        return []

    def collect(self):
        llm = self.llm()
        if llm is None:
            return
        from assistant.llm.stats import LATENCY_BUCKETS

        snap = llm.stats.snapshot()
        calls = CounterMetricFamily("modeldesk_llm_calls", "Calls to the LLM endpoint (each attempt), by purpose "
                                    "(plan, write) and outcome (ok, timeout, error).", labels=["purpose", "outcome"])
        for (purpose, outcome), n in sorted(snap["calls"].items()):
            calls.add_metric([purpose, outcome], n)
        latency = HistogramMetricFamily("modeldesk_llm_call_duration_seconds", "Time of each call to the LLM "
                                        "endpoint, by purpose.", labels=["purpose"])
        for purpose, counts in sorted(snap["latency"].items()):
            buckets = [(str(b), c) for b, c in zip(LATENCY_BUCKETS, counts)] + [("+Inf", counts[-1])]
            latency.add_metric([purpose], buckets, snap["latency_sum"].get(purpose, 0.0))
        tokens = CounterMetricFamily("modeldesk_llm_tokens", "Tokens the endpoint reported, by purpose and kind "
                                     "(prompt, completion).", labels=["purpose", "kind"])
        for (purpose, kind), n in sorted(snap["tokens"].items()):
            tokens.add_metric([purpose, kind], n)
        fallbacks = CounterMetricFamily("modeldesk_llm_fallbacks", "Answers planned or written deterministically "
                                        "although the LLM was asked, by stage (plan, write) and reason (timeout, "
                                        "error, circuit_open, invalid_plan, no_tool_call, ungrounded).",
                                        labels=["stage", "reason"])
        for (stage, reason), n in sorted(snap["fallbacks"].items()):
            fallbacks.add_metric([stage, reason], n)
        used = CounterMetricFamily("modeldesk_llm_used", "Answers whose plan or text came from the LLM, by stage.",
                                   labels=["stage"])
        for stage in ("plan", "write"):
            used.add_metric([stage], snap["used"].get(stage, 0))
        circuit = GaugeMetricFamily("modeldesk_llm_circuit_open", "1 while the circuit breaker keeps calls to the "
                                    "LLM endpoint paused.")
        circuit.add_metric([], 1 if llm.breaker.state == "open" else 0)
        yield from (calls, latency, tokens, fallbacks, used, circuit)


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
    """Requests by route and status, latency histogram, answers, refusals, feedback counts and posture gauges."""
    return Response(request.app.state.services.metrics.render(), media_type=CONTENT_TYPE_LATEST)
