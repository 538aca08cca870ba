"""Feature values: turning user input into model-ready values, and values into business words."""

from __future__ import annotations

import math
import re
from typing import Any

from assistant.errors import BadInput, closest
from assistant.models.spec import Feature

_TRUE = {"1", "true", "yes", "y", "t", "on"}
_FALSE = {"0", "false", "no", "n", "f", "off"}
_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
_SUFFIX = {"k": 1e3, "m": 1e6, "bn": 1e9, "b": 1e9}


def parse_number(raw: Any) -> float | None:
    """A number from `1850`, `"$1,850"`, `"1.5k"`, `"20%"`; None when it is not one."""
    if isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, (int, float)):
        return None if isinstance(raw, float) and math.isnan(raw) else float(raw)
    text = str(raw).strip().lower().replace(",", "")
    for symbol in ("$", "£", "€", "usd", "gbp", "eur", "dollars", "dollar"):
        text = text.replace(symbol, "")
    text = text.strip()
    text = text.rstrip("%").strip()
    scale = 1.0
    for suffix, factor in _SUFFIX.items():
        if text.endswith(suffix) and _NUMBER.match(text[: -len(suffix)].strip() or "x"):
            text, scale = text[: -len(suffix)].strip(), factor
            break
    return float(text) * scale if _NUMBER.match(text) else None


def coerce(feature: Feature, raw: Any) -> Any:
    """Validate and convert one value for `feature`; errors name the feature and the valid choices."""
    if feature.type == "numeric":
        number = parse_number(raw)
        if number is None:
            raise BadInput(f"{feature.name} must be a number, got {raw!r}")
        return number
    if feature.type == "boolean":
        text = str(raw).strip().lower()
        if text in _TRUE:
            return 1
        if text in _FALSE:
            return 0
        raise BadInput(f"{feature.name} is yes/no (true/false, 1/0), got {raw!r}")
    values = [str(v) for v in feature.values or []]
    text = str(raw).strip()
    for v, original in zip(values, feature.values or []):
        if v.lower() == text.lower():
            return original
    for v, original in zip(values, feature.values or []):  # "month to month" vs "month-to-month"
        if _squash(v) == _squash(text):
            return original
    near = closest(text, values)
    hint = f"; did you mean {', '.join(map(repr, near))}?" if near else ""
    raise BadInput(
        f"{text!r} is not a valid {feature.name}; allowed: {', '.join(values)}{hint}", suggestions=near or values
    )


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def format_value(feature: Feature, value: Any) -> str:
    """A value as a business user reads it: `$1,850`, `34 years`, `month-to-month`, `yes`."""
    if feature.type == "boolean":
        return "yes" if str(value).strip().lower() in _TRUE else "no"
    if feature.type == "categorical":
        return str(value)
    number = parse_number(value)
    if number is None:
        return str(value)
    text = _format_number(number)
    unit = (feature.unit or "").strip()
    if unit.upper() in {"USD", "$"}:
        cents = abs(number) < 1000 and abs(number - round(number)) > 1e-9
        return ("-$" if number < 0 else "$") + (f"{abs(number):,.2f}" if cents else _format_number(abs(number)))
    if unit in {"%", "percent"}:
        return f"{text}%"
    return f"{text} {unit}" if unit else text


def _format_number(number: float) -> str:
    if abs(number - round(number)) < 1e-9:
        return f"{int(round(number)):,}"
    if abs(number) >= 100:
        return f"{number:,.0f}"
    return f"{number:,.2f}".rstrip("0").rstrip(".")


_MEASURES = {"year", "years", "month", "months", "day", "days", "hour", "hours", "km", "miles", "usd"}


def phrase(feature: Feature, value: Any) -> str:
    """The feature and its value as words: "a balance of $1,850", "2 missed payments", "contract: one-year"."""
    shown = format_value(feature, value)
    if feature.type != "numeric":
        return f"{feature.label}: {shown}"
    words = feature.label.split()
    unit = (feature.unit or "").lower()
    if len(words) > 1 and words[-1].lower() in _MEASURES:  # "tenure months" + unit months -> "tenure"
        words = words[:-1]
    elif unit and words[-1].lower() == unit:  # "missed payments" counted in payments -> "2 missed payments"
        return f"{_format_number(parse_number(value) or 0)} {feature.label}"
    label = " ".join(words)
    if label.endswith("s") and not label.endswith("ss"):  # "monthly charges of $21.50"
        return f"{label} of {shown}"
    article = "an" if label[:1].lower() in "aeiou" else "a"
    return f"{article} {label} of {shown}"
