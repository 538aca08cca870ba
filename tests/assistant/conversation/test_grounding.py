"""Grounding over the whole evaluation set: every number in an answer comes from a tool call in the
same answer, and every passage drawn from a document carries its citation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from assistant.answer import Answer, Principal
from assistant.engine import Assistant

SET = Path(__file__).resolve().parents[3] / "bench" / "conversation" / "single_turn.yaml"
NUMBER = re.compile(r"(?<![\w.-])-?\d[\d,]*(?:\.\d+)?%?")
LIST_MARKER = re.compile(r"^\s*\d+\.\s", re.M)


def renderings(value) -> set[str]:
    """The ways a writer may show a number from a tool result."""
    if isinstance(value, bool):
        return set()
    if isinstance(value, (int, float)):
        v = float(value)
        out = {f"{v:.0f}", f"{v:.1f}", f"{v:.2f}", f"{v:.3f}", f"{v * 100:.0f}%", f"{v * 100:.1f}%", f"{abs(v):.0f}",
               f"{abs(v):.2f}", f"{round(v)}"}
        if v.is_integer():
            out.add(str(int(v)))
        return {r.replace(",", "") for r in out}
    if isinstance(value, str):
        return {m.replace(",", "") for m in NUMBER.findall(value)} | set(re.findall(r"\d+", value))
    return set()


def allowed_numbers(answer: Answer) -> set[str]:
    out: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        else:
            out.update(renderings(node))

    for call in answer.tool_calls:
        walk(call.arguments)
        walk(call.result)
        if call.error:
            walk(call.error)
    for citation in answer.citations:
        walk(citation.model_dump())
    return out


def untraced(answer: Answer) -> list[str]:
    text = re.sub(r"\[\d+\]", "", LIST_MARKER.sub("", answer.text))  # list and citation markers
    allowed = allowed_numbers(answer)
    return [n for n in NUMBER.findall(text) if n.replace(",", "") not in allowed
            and n.replace(",", "").rstrip("%") not in allowed]


def _score_keys(node) -> set[str]:
    """Keys holding model scores anywhere in a result."""
    found = set()
    if isinstance(node, dict):
        found |= {k for k in node if "probability" in k or k in {"contribution", "base_value", "output_value"}}
        for v in node.values():
            found |= _score_keys(v)
    elif isinstance(node, list):
        for v in node:
            found |= _score_keys(v)
    return found


@pytest.fixture(scope="module")
def assistant(registry_all, demo_knowledge) -> Assistant:
    return Assistant(registry_all, demo_knowledge)


@pytest.mark.parametrize("role", ["business", "analyst"])
def test_every_number_is_traceable_to_a_tool_result(assistant, role):
    items = yaml.safe_load(SET.read_text())
    who = Principal(id="grounding", role=role)
    failures, answered = [], 0
    for i, item in enumerate(items):
        answer = assistant.answer(item["q"], who, session_id=f"g-{role}-{i}", model_id=item.get("model"))
        if not answer.tool_calls:
            continue
        answered += 1
        missing = untraced(answer)
        if missing:
            failures.append((item["q"], missing, answer.text[:200]))
        if role == "business":
            assert not any(_score_keys(c.result) for c in answer.tool_calls), item["q"]
    assert answered > 300
    assert not failures, failures[:5]


def test_document_passages_carry_citations(assistant):
    items = [i for i in yaml.safe_load(SET.read_text())
             if any(c["name"] == "search_knowledge" for c in i.get("calls") or [])]
    who = Principal(id="grounding", role="analyst")
    cited = 0
    for item in items:
        answer = assistant.answer(item["q"], who, model_id=item.get("model"))
        for call in answer.tool_calls:
            if call.name != "search_knowledge" or not call.result or not call.result["passages"]:
                continue
            cited += 1
            paragraphs = [p for p in answer.text.split("\n\n") if p.strip() and not p.startswith("_")]
            quoted = [p for p in paragraphs if re.search(r"\[\d+\]$", p.strip())]
            assert quoted and len(answer.citations) >= len(quoted), item["q"]
            for n in range(1, len(answer.citations) + 1):
                assert f"[{n}]" in answer.text
    assert cited >= 15
