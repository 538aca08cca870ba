"""Detect text that reads like instructions to an AI assistant rather than information for a reader.

Used at ingestion (documents are flagged, never dropped) and reusable by the guardrails for user
input. The rules are general patterns of prompt injection, listed in one place (`RULES`).
`detect(text)` returns human-readable reasons; an empty list means nothing suspicious was found.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass

# Words that name an AI system. Deliberately not "model" or "agent": human documents use those
# words for scoring models and call-centre agents all the time.
_AI = r"(?:AI|A\.I\.|assistant|chat\s?bot|LLM|large language model|language model|GPT|ChatGPT|Claude|copilot|ModelDesk)"
_NOT_PEOPLE = r"(?!\s+(?:users?|team|owners?|admins?|operators?|staff|developers?|portal)\b)"
_PRIOR = r"(?:all\s+|any\s+|the\s+|your\s+|of\s+|these\s+|those\s+)*(?:previous|prior|preceding|above|earlier|original|initial|system)"
_RULES_NOUN = r"(?:instructions?|directions?|directives?|rules?|prompts?|guidelines?|guardrails?|context|constraints?)"


@dataclass(frozen=True)
class Rule:
    """One family of injection signals: a name for the reason and a matcher returning the evidence."""

    name: str
    find: Callable[[str], str | None]


def _regex(pattern: str, flags: int = re.IGNORECASE) -> Callable[[str], str | None]:
    compiled = re.compile(pattern, flags)

    def find(text: str) -> str | None:
        m = compiled.search(text)
        return m.group(0) if m else None

    return find


def _first(*finders: Callable[[str], str | None]) -> Callable[[str], str | None]:
    def find(text: str) -> str | None:
        return next((hit for f in finders if (hit := f(text))), None)

    return find


def _hidden_comment(text: str) -> str | None:
    """HTML/Markdown comments are invisible to a reader; one that addresses an AI or gives orders is a hidden directive."""
    comments = re.findall(r"<!--(.*?)-->", text, re.DOTALL)
    comments += re.findall(r"^\s*\[//\]:\s*#\s*[\(\"'](.*?)[\)\"']\s*$", text, re.MULTILINE)
    addressed = re.compile(
        rf"\b{_AI}s?\b{_NOT_PEOPLE}|\b(?:instructions?|ignore|disregard|tell\s+the\s+user|do\s+not\s+(?:tell|mention|reveal))\b"
        r"|\byou\s+(?:must|should|will|are\s+to|are\s+now)\b|\b(?:respond|reply|answer)\s+(?:with|that|only)\b",
        re.IGNORECASE,
    )
    for body in comments:
        if addressed.search(body):
            return "<!--" + _clip(body.strip(), 80) + "-->"
    return None


def _invisible_characters(text: str) -> str | None:
    """Zero-width and Unicode tag characters hide text from people but not from tokenisers."""
    hidden = re.findall(r"[\u200b-\u200f\u2060-\u2064\ufeff\U000e0000-\U000e007f]", text)
    if len(hidden) >= 3:
        return f"{len(hidden)} invisible characters"
    return None


def _base64_blob(text: str) -> str | None:
    """A long base64 run that decodes to readable text is a classic way to smuggle instructions."""
    for m in re.finditer(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{40,}={0,2}(?![A-Za-z0-9+/=])", text):
        blob = m.group(0)
        if not (re.search(r"[A-Z]", blob) and re.search(r"[a-z]", blob) and re.search(r"[0-9+/]", blob)):
            continue  # a long plain word or number run, not base64
        try:
            decoded = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in decoded)
        if decoded and printable / len(decoded) > 0.9:
            return _clip(blob, 40)
    return None


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


RULES: tuple[Rule, ...] = (
    Rule(
        "instruction override",
        _regex(
            rf"\b(?:ignore|disregard|forget|override)\s+{_PRIOR}\s+(?:\w+\s+){{0,2}}?{_RULES_NOUN}\b"
            r"|\b(?:ignore|disregard|forget)\s+(?:all|everything)\s+(?:you\s+(?:were|have\s+been)\s+told|above|before)\b"
            r"|\bnew\s+(?:instructions?|rules?|directives?)\s*:"
        ),
    ),
    Rule(
        "role change",
        _regex(
            r"\byou\s+are\s+now\s+(?:a|an|the|my|no\s+longer|free|unrestricted|DAN|in\s+(?:developer|debug|admin)\s+mode)\b"
            r"|\bfrom\s+now\s+on,?\s+you\s+(?:are|will|must|should|shall)\b"
            r"|\b(?:pretend|imagine)\s+(?:that\s+)?you\s+are\b"
            r"|\b(?:act|behave|respond)\s+as\s+(?:if\s+you\s+(?:are|were)|an?\s+(?:unrestricted|unfiltered|different|new))\b"
            r"|\benter\s+(?:developer|debug|god|admin|jailbreak)\s+mode\b"
            r"|\b(?:developer|DAN|jailbreak)\s+mode\s+(?:enabled|activated|on)\b"
        ),
    ),
    Rule(
        "chat role marker",
        _first(
            _regex(
                r"<\|(?:im_start|im_end|system|user|assistant|endoftext)\|>|\[/?INST\]|<</?SYS>>|</?(?:system|assistant)>"
                r"|^\s*(?:#{1,6}\s*)?(?:system|assistant)\s+(?:prompt|message|instructions?)\s*:",
                re.IGNORECASE | re.MULTILINE,
            ),
            _regex(r"^\s*\[?(?:SYSTEM|ASSISTANT)\]?\s*:", re.MULTILINE),  # upper case only: "System:" is a common label
        ),
    ),
    Rule(
        "system prompt probing",
        _regex(
            r"\b(?:reveal|print|show|output|repeat|leak|disclose|display|dump)\s+(?:me\s+)?your\s+"
            r"(?:full\s+|entire\s+|original\s+|hidden\s+|initial\s+)?(?:system\s+prompt|instructions|prompt|rules)\b"
            r"|\b(?:reveal|print|show|output|repeat|leak|disclose|display|dump)\s+(?:me\s+)?the\s+"
            r"(?:full\s+|entire\s+|original\s+|hidden\s+|initial\s+)?system\s+prompt\b"
            r"|\b(?:new|updated|overriding|revised)\s+system\s+prompt\b"
            r"|\bsystem\s+prompt\s+(?:override|update|injection)\s*:"
        ),
    ),
    Rule(
        "directive to an AI",
        _regex(
            rf"\b(?:note|attention|message|instructions?|reminder)\s+(?:to|for)\s+(?:any\s+|the\s+|all\s+)?{_AI}s?\b{_NOT_PEOPLE}"
            rf"|\b(?:dear|hey|hi)\s+{_AI}\b{_NOT_PEOPLE}"
            rf"|\bif\s+you\s+are\s+an?\s+{_AI}\b"
            r"|\b(?:when|whenever|if)\s+(?:you\s+are|you're)\s+(?:asked|questioned|queried)\s+about\b[^.\n]{0,120}?"
            r"\b(?:respond|reply|answer|say|tell|state|claim)\b"
            r"|\b(?:do\s+not|don't|never)\s+(?:tell|inform|mention\s+(?:this|it)\s+to|reveal\s+(?:this|it)\s+to)\s+the\s+users?\b"
        ),
    ),
    Rule(
        "exfiltration link",
        _regex(
            r"!\[[^\]]*\]\(\s*https?://[^)\s]+\?[^)\s]*=[^)\s]*\)"
            r"|\b(?:send|post|forward|upload|exfiltrate)\s+(?:all\s+|the\s+|any\s+)?(?:\w+\s+){0,3}(?:to|at)\s+https?://"
        ),
    ),
    Rule("hidden directive in a comment", _hidden_comment),
    Rule("invisible characters", _invisible_characters),
    Rule("base64-encoded blob", _base64_blob),
)


def detect(text: str) -> list[str]:
    """Reasons the text looks like instructions to an AI (e.g. `instruction override: "ignore previous instructions"`)."""
    reasons = []
    for rule in RULES:
        evidence = rule.find(text)
        if evidence:
            reasons.append(f'{rule.name}: "{_clip(evidence, 80)}"')
    return reasons


def is_suspicious(text: str) -> bool:
    """True when `detect` finds anything."""
    return bool(detect(text))
