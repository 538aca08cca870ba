"""What the LLM backend did, counted in this process for /metrics: calls, latency, tokens, fallbacks."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

# Seconds; an LLM call is slower than a tool call, so the buckets reach past the default timeout.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0)


@dataclass
class LLMStats:
    """Thread-safe counters; `snapshot()` is what the HTTP adapter exports."""

    calls: dict[tuple[str, str], int] = field(default_factory=dict)          # (purpose, outcome) → n
    latency: dict[str, list[float]] = field(default_factory=dict)            # purpose → bucket counts (+Inf last)
    latency_sum: dict[str, float] = field(default_factory=dict)
    tokens: dict[tuple[str, str], int] = field(default_factory=dict)         # (purpose, prompt|completion) → n
    fallbacks: dict[tuple[str, str], int] = field(default_factory=dict)      # (plan|write, reason) → n
    used: dict[str, int] = field(default_factory=dict)                       # plan|write → answers that used the LLM
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def call(self, purpose: str, outcome: str, seconds: float, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        """One HTTP call to the endpoint (an attempt: retries count separately)."""
        with self._lock:
            self.calls[(purpose, outcome)] = self.calls.get((purpose, outcome), 0) + 1
            buckets = self.latency.setdefault(purpose, [0] * (len(LATENCY_BUCKETS) + 1))
            for i, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    buckets[i] += 1
            buckets[-1] += 1
            self.latency_sum[purpose] = self.latency_sum.get(purpose, 0.0) + seconds
            for kind, n in (("prompt", prompt_tokens), ("completion", completion_tokens)):
                if n:
                    self.tokens[(purpose, kind)] = self.tokens.get((purpose, kind), 0) + int(n)

    def fallback(self, stage: str, reason: str) -> None:
        """The deterministic planner or writer answered instead (reason: timeout, error, circuit_open, invalid_plan,
        no_tool_call, ungrounded, policy, ...)."""
        with self._lock:
            self.fallbacks[(stage, reason)] = self.fallbacks.get((stage, reason), 0) + 1

    def use(self, stage: str) -> None:
        with self._lock:
            self.used[stage] = self.used.get(stage, 0) + 1

    def snapshot(self) -> dict:
        with self._lock:
            return {"calls": dict(self.calls), "latency": {k: list(v) for k, v in self.latency.items()},
                    "latency_sum": dict(self.latency_sum), "tokens": dict(self.tokens),
                    "fallbacks": dict(self.fallbacks), "used": dict(self.used)}
