"""The small error hierarchy every adapter maps to its own medium, once."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: `str(error)` is a message fit to show a user."""

    code = "error"

    def __init__(self, message: str, *, suggestions: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.suggestions = list(suggestions or [])


class BadInput(AssistantError):
    """The request was understood but something in it is not valid."""

    code = "bad_input"


class NotFound(AssistantError):
    """A model, record, feature or document that does not exist."""

    code = "not_found"


class NotAuthorized(AssistantError):
    """The principal's role may not do this."""

    code = "forbidden"


class Refused(AssistantError):
    """The guardrails declined the request; `category` says which rule."""

    code = "refused"

    def __init__(self, message: str, *, category: str = "other", alternative: str | None = None):
        super().__init__(message)
        self.category = category
        self.alternative = alternative


class Unavailable(AssistantError):
    """A backing service (knowledge store, state store) cannot be reached."""

    code = "unavailable"


class ConfigError(AssistantError):
    """Settings or a model folder are wrong; the message names the variable, file or field."""

    code = "config_error"


def closest(word: str, choices: list[str], n: int = 3) -> list[str]:
    """The valid choices nearest to `word` by edit distance, for "did you mean" messages."""
    target = word.lower()
    limit = max(2, len(target) // 3)
    scored = []
    for choice in choices:
        lowered = choice.lower()
        if abs(len(lowered) - len(target)) > limit:
            continue
        distance = _edit_distance(target, lowered, limit)
        if distance <= limit:
            scored.append((distance, choice))
    scored.sort()
    return [c for _, c in scored[:n]]


def _edit_distance(a: str, b: str, limit: int) -> int:
    if abs(len(a) - len(b)) > limit:
        return limit + 1  # the distance is at least the difference in length
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def not_found(kind: str, value: str, choices: list[str]) -> NotFound:
    """A NotFound whose message names the bad value and the closest valid ones."""
    near = closest(str(value), choices)
    if near:
        hint = "; did you mean " + ", ".join(repr(c) for c in near) + "?"
    elif choices and len(choices) <= 12:
        hint = "; known: " + ", ".join(repr(c) for c in choices)
    else:
        hint = ""
    return NotFound(f"unknown {kind} {value!r}{hint}", suggestions=near)
