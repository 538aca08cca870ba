"""A circuit breaker: after repeated failures, stop calling the endpoint for a while."""

from __future__ import annotations

import threading
import time
from typing import Callable

FAILURES = 3        # consecutive failed calls that open the circuit
COOL_DOWN = 30.0    # seconds the circuit stays open before one trial call is let through


class CircuitBreaker:
    """closed → (FAILURES in a row) → open → (COOL_DOWN later) → half-open: one trial call; its success closes
    the circuit, its failure opens it again."""

    def __init__(self, failures: int = FAILURES, cool_down: float = COOL_DOWN,
                 clock: Callable[[], float] = time.monotonic):
        self.failures, self.cool_down, self.clock = failures, cool_down, clock
        self._count = 0
        self._opened: float | None = None
        self._trial = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        with self._lock:
            if self._opened is None:
                return "closed"
            return "open" if self.clock() - self._opened < self.cool_down else "half-open"

    def allow(self) -> bool:
        """May a call go out now? In the half-open state only one caller gets a yes until it reports back."""
        with self._lock:
            if self._opened is None:
                return True
            if self.clock() - self._opened < self.cool_down or self._trial:
                return False
            self._trial = True
            return True

    def success(self) -> None:
        with self._lock:
            self._count, self._opened, self._trial = 0, None, False

    def failure(self) -> None:
        with self._lock:
            self._count += 1
            if self._trial or self._count >= self.failures:
                self._opened, self._trial = self.clock(), False
