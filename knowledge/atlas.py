"""MITRE ATLAS (`ATLAS.yaml`): case studies become incident-style records, the rest reference documents."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from knowledge.documents import AttackType, Document, Section, Stage

ATLAS_SITE = "https://atlas.mitre.org"

# Which technique in a case study's procedure decides its attack family; first match wins,
# so the specific exfiltration sub-techniques come before the generic evasion step most studies share.
_ATTACK_BY_TECHNIQUE: tuple[tuple[tuple[str, ...], AttackType], ...] = (
    (("AML.T0024.000",), "membership_inference"),
    (("AML.T0024.001",), "inversion"),
    (("AML.T0024.002", "AML.T0024"), "extraction"),
    (("AML.T0051", "AML.T0054", "AML.T0093"), "prompt_injection"),
    (("AML.T0020", "AML.T0019", "AML.T0018", "AML.T0058", "AML.T0059", "AML.T0070", "AML.T0043.004"), "poisoning"),
    (("AML.T0015", "AML.T0043"), "evasion"),
    (("AML.T0005.001",), "extraction"),
)
_STAGE_BY_ATTACK: dict[str, Stage] = {"poisoning": "training"}


class AtlasError(ValueError):
    """The file is named or shaped like ATLAS but cannot be read as ATLAS."""


def looks_like_atlas(data: Any) -> bool:
    """True for the distributed ATLAS data: a mapping with `matrices` and case studies or `id: ATLAS`."""
    return (
        isinstance(data, dict)
        and isinstance(data.get("matrices"), list)
        and ("case-studies" in data or str(data.get("id", "")).upper() == "ATLAS")
    )


def attack_type_for(techniques: list[str]) -> AttackType:
    """The attack family a set of ATLAS techniques points to (`other` when none is telling)."""
    for prefixes, attack in _ATTACK_BY_TECHNIQUE:
        if any(t == p or t.startswith(p + ".") for t in techniques for p in prefixes):
            return attack
    return "other"


def parse_atlas(data: Any, *, file: str, source: str = "") -> list[Document]:
    """Reference documents for tactics, techniques and mitigations; incident documents for case studies."""
    if not looks_like_atlas(data):
        raise AtlasError("not ATLAS data: expected top-level 'matrices' and 'case-studies'")
    tactics: dict[str, dict] = {}
    techniques: dict[str, dict] = {}
    mitigations: dict[str, dict] = {}
    for matrix in data["matrices"]:
        for item in matrix.get("tactics") or []:
            tactics[item["id"]] = item
        for item in matrix.get("techniques") or []:
            techniques[item["id"]] = item
        for item in matrix.get("mitigations") or []:
            mitigations[item["id"]] = item
    if not techniques:
        raise AtlasError("no techniques found under 'matrices'")

    mitigated_by: dict[str, list[tuple[dict, str]]] = {}
    for mitigation in mitigations.values():
        for use in _uses(mitigation):
            mitigated_by.setdefault(use["id"], []).append((mitigation, _clean(use.get("use", ""))))

    def name(tid: str) -> str:
        return (techniques.get(tid) or tactics.get(tid) or mitigations.get(tid) or {}).get("name", tid)

    base = {"file": file, "source": source, "access": "public"}
    docs: list[Document] = []

    for tactic in tactics.values():
        members = [t for t in techniques.values() if tactic["id"] in (t.get("tactics") or [])]
        parts = [Section(path=("Description",), text=_clean(tactic.get("description", "")))]
        if members:
            parts.append(Section(path=("Techniques",), text="\n".join(f"- {t['name']} ({t['id']})" for t in members)))
        docs.append(_reference(tactic, "tactic", "tactics", parts, **base))

    for tech in techniques.values():
        facts = []
        if tech.get("subtechnique-of"):
            parent = tech["subtechnique-of"]
            facts.append(f"Sub-technique of {name(parent)} ({parent}).")
        elif tech.get("tactics"):
            facts.append("Tactics: " + ", ".join(f"{name(t)} ({t})" for t in tech["tactics"]) + ".")
        if tech.get("maturity"):
            facts.append(f"Maturity: {tech['maturity']}.")
        text = (" ".join(facts) + "\n\n" if facts else "") + _clean(tech.get("description", ""))
        parts = [Section(path=("Description",), text=text)]
        uses = mitigated_by.get(tech["id"], [])
        if uses:
            parts.append(
                Section(path=("Mitigations",), text="\n".join(f"- {m['name']} ({m['id']}): {use}" for m, use in uses))
            )
        kind = "sub-technique" if tech.get("subtechnique-of") else "technique"
        docs.append(
            _reference(tech, "technique", "techniques", parts, label=kind, atlas_techniques=[tech["id"]], **base)
        )

    for mitigation in mitigations.values():
        facts = []
        if _names(mitigation.get("category")):
            facts.append("Category: " + ", ".join(_names(mitigation.get("category"))) + ".")
        if _names(mitigation.get("ml-lifecycle")):
            facts.append("AI lifecycle stage: " + ", ".join(_names(mitigation.get("ml-lifecycle"))) + ".")
        text = (" ".join(facts) + "\n\n" if facts else "") + _clean(mitigation.get("description", ""))
        parts = [Section(path=("Description",), text=text)]
        uses = _uses(mitigation)
        if uses:
            lines = [f"- {name(u['id'])} ({u['id']}): {_clean(u.get('use', ''))}" for u in uses]
            parts.append(Section(path=("Techniques addressed",), text="\n".join(lines)))
        docs.append(
            _reference(mitigation, "mitigation", "mitigations", parts, atlas_techniques=[u["id"] for u in uses], **base)
        )

    for study in data.get("case-studies") or []:
        docs.append(_case_study(study, name, **base))
    return docs


def _title(kind: str, item_id: str, name: str) -> str:
    """A title that says what the item is: "Exfiltration via AI Inference API (MITRE ATLAS technique AML.T0024)".

    People ask for "the ATLAS technique for ..." or "ATLAS mitigations against ..." while the ATLAS
    texts never call themselves that; every chunk's embedded and indexed text starts with its title.
    The name stays first, so the title is still mostly about what the item does.
    """
    return f"{name} (MITRE ATLAS {kind} {item_id})"


def _reference(item: dict, kind: str, path: str, parts: list[Section], *, label: str = "", **fields: Any) -> Document:
    return Document(
        doc_id=f"atlas:{item['id']}",
        title=_title(label or kind, item["id"], item["name"]),
        doc_type="reference",
        date=_date(item.get("modified_date") or item.get("created_date")),
        sections=[p for p in parts if p.text.strip()],
        atlas_type=kind,
        url=f"{ATLAS_SITE}/{path}/{item['id']}",
        **fields,
    )


def _case_study(study: dict, name: Callable[[str], str], **fields: Any) -> Document:
    steps = study.get("procedure") or []
    used = list(dict.fromkeys(s["technique"] for s in steps if s.get("technique")))
    attack = attack_type_for(used)
    facts = [f"ATLAS case study {study['id']} ({study.get('case-study-type', 'case study')})."]
    if study.get("target"):
        facts.append(f"Target: {study['target']}.")
    if study.get("actor"):
        facts.append(f"Actor: {study['actor']}.")
    if study.get("incident-date"):
        facts.append(f"Date: {study['incident-date']}.")
    facts.append(f"Attack type: {attack.replace('_', ' ')}.")
    parts = [Section(path=("Summary",), text=" ".join(facts) + "\n\n" + _clean(study.get("summary", "")))]
    if steps:
        lines = []
        for number, step in enumerate(steps, start=1):
            tid = step.get("technique", "")
            lines.append(f"{number}. {name(tid)} ({tid}): {_clean(step.get('description', ''))}")
        parts.append(Section(path=("Procedure",), text="\n\n".join(lines)))
    return Document(
        doc_id=f"atlas:{study['id']}",
        title=_title("case study", study["id"], study["name"]),
        doc_type="incident",
        date=_date(study.get("incident-date")),
        sections=parts,
        attack_type=attack,
        stage=_STAGE_BY_ATTACK.get(attack),
        atlas_techniques=used,
        atlas_type="case_study",
        url=f"{ATLAS_SITE}/studies/{study['id']}",
        **fields,
    )


def _names(values: Any) -> list[str]:
    """The plain strings of a list field (ATLAS data occasionally has a stray mapping in one)."""
    return [v for v in values or [] if isinstance(v, str)]


def _uses(mitigation: dict) -> list[dict]:
    """A mitigation's `{id, use}` entries, including any that strayed into another list field."""
    found = [u for u in mitigation.get("techniques") or [] if isinstance(u, dict) and u.get("id")]
    for key in ("ml-lifecycle", "category"):
        found += [u for u in mitigation.get(key) or [] if isinstance(u, dict) and u.get("id")]
    return list({u["id"]: u for u in found}.values())


def _clean(text: Any) -> str:
    """ATLAS Markdown made readable: links become `name (AML.T0005)`, reference definitions go."""
    text = str(text or "")
    text = re.sub(r"^\s*\[[^\]]+\]:\s*\S+.*$", "", text, flags=re.MULTILINE)  # [ref]: url "title"
    text = re.sub(r"\[(?:<sup>)?\\\[(\d+)\\\](?:</sup>)?\]\[[^\]]*\]", r"[\1]", text)  # [\[1\]][ref] footnotes
    text = re.sub(r"\[([^\]]+)\]\(/(?:techniques|tactics|mitigations|studies)/([A-Z.0-9]+)\)", r"\1 (\2)", text)
    text = re.sub(r"\[([^\]]+)\]\((https?://[^)]+)\)", r"\1", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
