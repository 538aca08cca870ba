"""The grounding check: what an LLM wrote may state only what this answer's tool results hold.

Every number, risk tier, feature name, record or incident id and quoted document passage in the
text must be found in the evidence: the tool results as the asker's role may see them
(assistant.policy.shape) and the deterministic writer's text made from them. The role policy is
applied to the text after writing: no probability for `business`, probabilities at two decimals
for `analyst`. `check` returns the problems; an empty list means the text may be shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from assistant.models.registry import Registry
from assistant.policy import shape

# Ids of records ("C-10293", "TX-88120"), incidents ("INC-2026-005") and ATLAS techniques ("AML.T0024.001").
IDS = re.compile(r"\bAML\.T\d{4}(?:\.\d{3})?\b|\b[A-Za-z]{1,5}-\d{2,}(?:-\d+)*\b")
NUMBER = re.compile(r"(?<![\w.])[$£€]?(\d[\d,]*(?:\.\d+)?|\.\d+)\s*(%| ?percent\b|k\b|m\b|bn\b)?", re.I)
LIST_MARKER = re.compile(r"^\s*\d{1,2}[.)]\s", re.M)
CITE = re.compile(r"\[(\d{1,2})\]")
CLOCK = re.compile(r"\b\d{1,2}:\d{2}\b")
DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?\b")
# A probability (or a score standing for one) stated with a number, in either order.
PROBABILITY = re.compile(
    r"\b(?:probabilit\w*|likelihood|chance|odds|propensity)\b[^.\n]{0,40}?\d"
    r"|\b(?:risk |model |default |churn |fraud )?score[sd]?\s*(?:of|:|=|is|was)?\s*(?:0?\.\d|\d{1,3}\s*%)"
    r"|\d[\d.,]*\s*%?\s*(?:probability|likelihood|chance|odds)\b"
    r"|\b(?:0?\.\d+|\d{1,3}(?:\.\d+)?\s*%)\s+(?:likely|risk of|of (?:defaulting|default|churn|fraud))", re.I)
QUOTES = re.compile(r"[“\"]([^”\"\n]{20,})[”\"]|^>\s?(.{20,})$", re.M)
# Raised or lowered the risk, as a sentence about one reason may say it.
DIRECTION = {"raised": re.compile(r"\b(?:rais\w*|increas\w*|push\w* up|add\w* to)\b", re.I),
             "lowered": re.compile(r"\b(?:lowered|lowers|lowering|reduc\w*|decreas\w*|pull\w* down|cut)\b", re.I)}
# A sentence that gives an input as the cause of a tier: the input must be among the results' reasons.
CAUSE = re.compile(r"\b(?:because|due to|driven|drives|driving|reasons?|caus\w*|owing to|thanks to|explains?)\b", re.I)
# Result fields a tool returns but the answer does not state: a reason must be one of the top reasons,
# not any of the model's inputs ranked further down.
UNSTATED = {"contributions"}
LONG_DECIMAL = re.compile(r"(?<![\w.])(0?\.\d{3,}|1\.0{3,})(?![\d])")


@dataclass
class Evidence:
    """What this answer's tool results say, gathered once."""

    numbers: list[float] = field(default_factory=list)
    text: str = ""                       # every string in the results and the checked draft, lower case
    tiers: set[str] = field(default_factory=set)           # tier names that occur in the results (lower case)
    known_tiers: set[str] = field(default_factory=set)     # every tier name of every model, as declared
    features: dict[str, str] = field(default_factory=dict)  # every way to name a feature (lower) → model:feature
    passages: str = ""                   # quoted material: passages' text and snippets, whitespace-normalised
    directions: dict[str, set[str]] = field(default_factory=dict)  # feature → how it moved the risk (raised/lowered)


def evidence(results: list[tuple[str, BaseModel]], role: str, draft: str, registry: Registry | None) -> Evidence:
    ev = Evidence()
    strings: list[str] = [draft]
    passages: list[str] = []
    for model in (registry or []):
        for tier in model.spec.risk_tiers:
            ev.known_tiers.add(tier.name)
        for f in model.spec.features:
            for form in {f.name, f.label, *f.aliases}:
                if len(form) >= 3:
                    ev.features[form.lower()] = f"{model.id}:{f.name}"
    lower_tiers = {t.lower() for t in ev.known_tiers}

    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            if isinstance(node.get("feature"), str) and node.get("direction") in ("raised", "lowered"):
                ev.directions.setdefault(node["feature"].lower(), set()).add(node["direction"])
            for k, v in node.items():
                if k in UNSTATED:
                    continue
                strings.append(str(k))
                walk(v, str(k))
        elif isinstance(node, list):
            ev.numbers.append(float(len(node)))
            for v in node:
                walk(v, key)
        elif isinstance(node, bool) or node is None:
            return
        elif isinstance(node, (int, float)):
            ev.numbers.append(float(node))
        elif isinstance(node, str):
            strings.append(node)
            if node.lower() in lower_tiers:
                ev.tiers.add(node.lower())
            if key in ("text", "snippet"):
                passages.append(node)

    for _, result in results:
        walk(shape(result.model_dump(mode="json"), role))
    ev.tiers |= {t.lower() for t in ev.known_tiers if re.search(rf"\*\*{re.escape(t)}\b", draft)}
    joined = "\n".join(strings)
    ev.numbers += [n for n, *_ in _numbers(joined)]
    ev.text = joined.lower()
    ev.passages = _squash("\n".join(passages + [draft]))
    return ev


def apply_policy(text: str, role: str) -> str:
    """The role policy after writing: analysts read probabilities at two decimals."""
    if role == "analyst":
        text = LONG_DECIMAL.sub(lambda m: f"{float(m.group(1)):.2f}", text)
    return text


def check(text: str, ev: Evidence, role: str, citations: int) -> list[str]:
    """Problems with `text` against the evidence; empty when every fact in it is grounded."""
    problems: list[str] = []
    if not text.strip():
        return ["the text is empty"]
    if role == "business":
        m = PROBABILITY.search(CLOCK.sub(" ", DATE.sub(" ", CITE.sub(" ", IDS.sub(" ", text)))))
        if m:
            problems.append(f"states a probability to a business user ({m.group(0)!r})")
    for found in IDS.findall(text):
        if found.lower() not in ev.text:
            problems.append(f"id {found} is not in the results")
    masked = LIST_MARKER.sub(" ", IDS.sub(" ", text))
    masked = DATE.sub(lambda m: " " if m.group(0).lower() in ev.text else m.group(0), masked)
    masked = CITE.sub(" ", masked)
    for value, digits, unit, written in _numbers(masked):
        if not _grounded(value, digits, unit, ev.numbers):
            problems.append(f"number {written} is not in the results")
    for tier in ev.known_tiers:
        if tier.lower() in ev.tiers:
            continue
        exact = re.search(rf"(?<![\w-]){re.escape(tier)}(?![\w-])", text)
        in_context = re.search(rf"\b{re.escape(tier)}[\s-]+(?:risk|tier)\b|\btier\W+{re.escape(tier)}\b", text, re.I)
        if exact or in_context:
            problems.append(f"tier {tier} is not in the results")
    seen: set[str] = set()
    for form, feature in sorted(ev.features.items(), key=lambda kv: -len(kv[0])):
        if feature in seen or form in seen:
            continue
        if re.search(rf"(?<![\w-]){re.escape(form)}(?![\w-])", text, re.I):
            seen.add(feature)
            names = [f for f, owner in ev.features.items() if owner == feature]
            if not any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", ev.text) for n in names):
                problems.append(f"feature {form} is not in the results")
    for sentence in re.split(r"(?<=[.!?;])\s+|\n+", text):
        named = {ev.features[form].split(":", 1)[1] for form in ev.features
                 if re.search(rf"(?<![\w-]){re.escape(form)}(?![\w-])", sentence, re.I)}
        said = {d for d, rx in DIRECTION.items() if rx.search(sentence)}
        if named and (said or CAUSE.search(sentence)):
            unexplained = sorted(f for f in named if f.lower() not in ev.directions)
            if unexplained:
                problems.append(f"gives {', '.join(unexplained)} as a reason; the results give no such reason")
        if len(named) == 1 and len(said) == 1:
            (feature,), (direction,) = named, said
            known = ev.directions.get(feature.lower())
            if known and direction not in known:
                problems.append(f"says {feature} {direction} the risk; the results say it {'/'.join(sorted(known))} it")
    for m in QUOTES.finditer(text):
        quoted = m.group(1) or m.group(2) or ""
        for piece in re.split(r"…|\.\.\.|\[\d+\]", quoted):
            piece = _squash(piece).strip(" .,;:'\"")
            if len(piece) >= 12 and piece not in ev.passages:
                problems.append(f"quotation {_clip(piece)!r} is not in the documents found")
    for n in CITE.findall(text):
        if not 1 <= int(n) <= citations:
            problems.append(f"citation [{n}] does not exist")
    return problems


def _numbers(text: str) -> list[tuple[float, str, str, str]]:
    """(value, digits as written, unit, the number as written) for every number in the text."""
    out = []
    for m in NUMBER.finditer(text):
        digits, unit = m.group(1).replace(",", ""), (m.group(2) or "").strip().lower()
        try:
            out.append((float(digits), digits, unit, m.group(0).strip()))
        except ValueError:
            continue
    return out


def _grounded(value: float, digits: str, unit: str, numbers: list[float]) -> bool:
    """Some result value shows as this number when rounded to the digits written (a share may show as a %)."""
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    tolerance = 0.5 * 10 ** -decimals + 1e-9
    if unit in ("%", "percent"):
        pairs = [(value, tolerance), (value / 100, tolerance / 100)]
    elif unit in ("k", "m", "bn"):
        scale = {"k": 1e3, "m": 1e6, "bn": 1e9}[unit]
        pairs = [(value * scale, tolerance * scale)]
    else:
        pairs = [(value, tolerance)]
    return any(abs(c - abs(n)) <= t for c, t in pairs for n in numbers)


def _squash(text: str) -> str:
    return " ".join(text.replace("“", '"').replace("”", '"').replace("’", "'").split()).lower()


def _clip(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
