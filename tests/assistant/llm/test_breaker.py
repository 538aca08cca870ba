"""After repeated failures the endpoint is left alone for a while, then tried once before trusting it again."""

from assistant.llm.breaker import CircuitBreaker


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_the_circuit_opens_after_repeated_failures_and_recovers_after_a_trial():
    clock = Clock()
    breaker = CircuitBreaker(failures=3, cool_down=30, clock=clock)
    for _ in range(2):
        breaker.failure()
    assert breaker.allow()  # two failures in a row: still calling
    breaker.success()
    for _ in range(3):
        breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    clock.now = 31
    assert breaker.allow() and not breaker.allow()  # half-open: a single trial call
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    clock.now = 62
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.allow()
