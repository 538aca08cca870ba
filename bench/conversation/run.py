"""Evaluate the conversation engine on the team's labelled set, and time it.

Run: .venv/bin/python -m bench.conversation.run [--show-failures N] [--failures-from SET]
Sets: the team's demo-domain questions and their held-out split; cross-domain questions over six
models the team never tuned on (bench/conversation/crossdomain: dev and held-out, written by people
who had not read the planner); security questions about ATLAS case studies (held-out).
Reports operation accuracy, whole-call (operation + arguments) accuracy, follow-up accuracy, refusals
and latency (p50/p95) by question kind, with the guardrails and their judge on, every message new,
as tables and bench/results/conversation.json.
Targets: operation >= 90%, whole call >= 80%, follow-ups >= 80%, right case study cited first >= 95%;
p50 <= 50 ms / p95 <= 150 ms for prediction questions, p50 <= 100 ms for document questions.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ATLAS = ROOT.parent / "shared" / "data" / "atlas" / "ATLAS.yaml"  # MITRE ATLAS (Apache-2.0), beside the repo


def _num(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return str(value).lower() if isinstance(value, str) else value


def _filters(items: list[dict]) -> set:
    out = set()
    for f in items or []:
        value = f["value"]
        if isinstance(value, bool):
            value = float(value)
        elif isinstance(value, str) and value.lower() in {"true", "false"}:
            value = 1.0 if value.lower() == "true" else 0.0
        out.add((f["feature"], f["op"], _num(value)))
    return out


def _changes(changes: dict) -> dict:
    out = {}
    for k, v in (changes or {}).items():
        if isinstance(v, dict):
            out[k] = {kk: _num(vv) for kk, vv in v.items()}
        else:
            out[k] = float(v) if isinstance(v, bool) else _num(v)
    return out


def arg_matches(key: str, expected: Any, actual: Any) -> bool:
    if key == "query":
        return True
    if key == "filters":
        return _filters(expected) == _filters(actual)
    if key in ("changes", "inputs"):
        return _changes(expected) == _changes(actual)
    return _num(expected) == _num(actual)


def call_matches(expected: dict, actual: dict) -> bool:
    if expected["name"] != actual["name"]:
        return False
    args = actual.get("arguments") or {}
    return all(k in args and arg_matches(k, v, args[k]) for k, v in (expected.get("arguments") or {}).items())


def score_turn(item: dict, answer) -> tuple[bool, bool]:
    """(operation right, exact right) for one labelled question."""
    actual = [{"name": c.name, "arguments": c.arguments} for c in answer.tool_calls]
    expected = item.get("calls") or []
    if not expected:
        if item.get("clarify"):
            ok = not actual and bool(answer.clarification or answer.text.rstrip().endswith("?") or "Options:" in answer.text
                                     or "Which" in answer.text)
        else:
            ok = not actual
        return ok, ok
    op_ok = sorted(c["name"] for c in expected) == sorted(c["name"] for c in actual)
    exact = op_ok and len(expected) == len(actual) and all(
        any(call_matches(e, a) for a in actual) for e in expected)
    return op_ok, exact


def kind(item: dict) -> str:
    names = {c["name"] for c in item.get("calls") or []}
    if names & {"search_knowledge", "list_incidents", "security_posture"}:
        return "documents"
    if names & {"predict", "explain", "what_if", "counterfactual"}:
        return "prediction"
    return "model" if names else "no call"


def build(data_dir: Path):
    from assistant.config import load_settings
    from assistant.demo import build_demo_models
    from assistant.engine import Assistant
    from assistant.models.registry import Registry
    from knowledge.base import KnowledgeBase

    sys.path.append(str(ROOT / "tests"))
    from conftest import write_user_model  # the plain-folder model the tests register

    models = data_dir / "models"
    build_demo_models(models)
    write_user_model(data_dir / "user" / "claims-hgb", "hgb")
    settings = load_settings(data_dir=data_dir)
    import torch

    torch.set_num_threads(settings.torch_threads)  # as `modeldesk serve` does
    kb = KnowledgeBase(settings)
    kb.ingest(settings.knowledge_paths)
    registry = Registry([models, data_dir / "user"])
    return Assistant(registry, kb, guard=_guard(settings, registry))


def _guard(settings, registry):
    """The guardrails as served (screening rules and the learned judge, budgets, stream signals)."""
    from assistant.guard.guard import Guard

    return Guard.from_settings(settings, registry)


def build_crossdomain(data_dir: Path):
    """The six cross-domain models (bench/conversation/crossdomain), none of them the team's demo models."""
    from assistant.config import load_settings
    from assistant.engine import Assistant
    from assistant.models.registry import Registry
    from bench.conversation.crossdomain.build_models import build as build_models
    from knowledge.base import KnowledgeBase

    models = data_dir / "crossdomain-models"
    build_models(models)
    settings = load_settings(data_dir=data_dir / "crossdomain")
    kb = KnowledgeBase(settings)
    kb.ingest(settings.knowledge_paths + ([ATLAS] if ATLAS.exists() else []))
    registry = Registry([models])
    return Assistant(registry, kb, guard=_guard(settings, registry))


def build_crossdomain3(data_dir: Path, knowledge):
    """Held-out set 3's engine: its three new models (bench/conversation/crossdomain3) registered beside the
    six cross-domain ones, as a department with nine models would have them; the same knowledge base."""
    from assistant.config import load_settings
    from assistant.engine import Assistant
    from assistant.models.registry import Registry
    from bench.conversation.crossdomain3.build_models import build as build_models

    models = data_dir / "crossdomain3-models"
    build_models(models)
    settings = load_settings(data_dir=data_dir / "crossdomain3")
    registry = Registry([data_dir / "crossdomain-models", models])
    return Assistant(registry, knowledge, guard=_guard(settings, registry))


def warm(assistant) -> None:
    from assistant.answer import Principal

    who = Principal(id="bench", role="analyst")
    for model in assistant.registry:
        rid = str(model.records.index[0])
        for q in (f"why is {rid} in its tier?", f"which features matter most for {model.id}?",
                  f"how accurate is {model.id}?", f"limitations of {model.id}", f"is {model.id} safe right now?"):
            assistant.answer(q, who)


def evaluate(assistant, who, single: list[dict], dialogues: list[dict], failures: list) -> dict[str, Any]:
    from bench.common import pct

    from assistant.answer import Principal

    op_hits = exact_hits = refused = 0
    latency: dict[str, list[float]] = {}
    per_op: dict[str, list[int]] = {}
    for i, item in enumerate(single):
        # Each question from its own colleague, as in a department: budgets are per person.
        asker = Principal(id=f"{who.id}-{id(single)}-{i}", role=who.role)
        t = time.perf_counter()
        answer = assistant.answer(item["q"], asker, session_id=f"single-{id(single)}-{i}", model_id=item.get("model"))
        refused += answer.refused
        latency.setdefault(kind(item), []).append((time.perf_counter() - t) * 1000)
        op_ok, exact = score_turn(item, answer)
        op_hits += op_ok
        exact_hits += exact
        for c in item.get("calls") or [{"name": "clarify" if item.get("clarify") else "out_of_scope"}]:
            per_op.setdefault(c["name"], [0, 0])
            per_op[c["name"]][0] += exact
            per_op[c["name"]][1] += 1
        if not exact:
            failures.append(("single", item, answer))
    follow_hits = follow_total = 0
    for d in dialogues:
        sid = f"dialogue-{id(dialogues)}-{d['id']}"
        asker = Principal(id=f"{who.id}-{sid}", role=who.role)
        for n, turn in enumerate(d["turns"]):
            answer = assistant.answer(turn["q"], asker, session_id=sid, model_id=turn.get("model", d.get("model")))
            refused += answer.refused
            if n == 0:
                continue
            _, exact = score_turn(turn, answer)
            follow_total += 1
            follow_hits += exact
            if not exact:
                failures.append((d["id"], turn, answer))
    return {
        "questions": len(single), "dialogues": len(dialogues), "follow_up_turns": follow_total,
        "operation_accuracy": op_hits / len(single), "exact_accuracy": exact_hits / len(single),
        "follow_up_accuracy": follow_hits / follow_total if follow_total else None, "refused": refused,
        "latency_ms": {k: {"n": len(v), "p50": pct(v, 50), "p95": pct(v, 95)} for k, v in latency.items()},
        "exact_by_operation": {k: {"n": v[1], "exact": v[0] / v[1]} for k, v in sorted(per_op.items())},
    }


def security_citations(assistant, items: list[dict], failures: list | None = None) -> dict[str, Any]:
    """Whether questions about real AI-security case studies reach the documents and cite the right one."""
    from assistant.answer import Principal

    first = anywhere = refused = 0
    for i, item in enumerate(items):
        who = Principal(id=f"bench-security-{id(items)}-{i}", role="business")
        answer = assistant.answer(item["q"], who, session_id=f"security-{id(items)}-{i}")
        cited = [c.doc_id for c in answer.citations]
        if failures is not None and (not cited or cited[0] != item["doc_id"]):
            failures.append(("security", {"q": item["q"], "calls": [{"cited first": item["doc_id"], "got": cited[:3]}]},
                             answer))
        first += bool(cited) and cited[0] == item["doc_id"]
        anywhere += item["doc_id"] in cited
        refused += answer.refused
    n = len(items) or 1
    return {"questions": len(items), "first": first / n, "any": anywhere / n, "refused": refused}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--show-failures", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--failures-from", action="append", default=None,
                        help="which set's failures --show-failures prints, repeatable (team, cross-domain dev; never "
                        "a held-out set you develop against)")
    args = parser.parse_args()
    args.failures_from = args.failures_from or ["team"]
    from assistant.answer import Principal
    from bench.common import print_table, write_json

    data_dir = args.data_dir or Path(tempfile.mkdtemp())
    started = time.perf_counter()
    assistant = build(data_dir)
    warm(assistant)
    setup_s = time.perf_counter() - started
    who = Principal(id="bench", role="analyst")

    crossdomain = build_crossdomain(data_dir)
    warm(crossdomain)
    crossdomain3 = build_crossdomain3(data_dir, crossdomain.knowledge)
    warm(crossdomain3)
    # (name, engine, single-turn file, dialogue file): the team's demo-domain sets, then the cross-domain
    # ones over models the team never tuned on; "held-out" sets are measured, never developed against.
    sets = [("team", assistant, "single_turn.yaml", "dialogues.yaml"),
            ("held-out", assistant, "holdout_single.yaml", "holdout_dialogues.yaml"),
            ("cross-domain dev", crossdomain, "crossdomain/dev_single.yaml", "crossdomain/dev_dialogues.yaml"),
            # Set 1's failures were read on 2026-12-04, so it no longer measures generalisation on its
            # own; set 2 (2026-12-05, another writer) is the one measured and never read.
            ("cross-domain held-out 1", crossdomain, "crossdomain/holdout_single.yaml", "crossdomain/holdout_dialogues.yaml"),
            ("cross-domain held-out 2", crossdomain, "crossdomain/holdout2_single.yaml", "crossdomain/holdout2_dialogues.yaml"),
            # Set 3 (2026-12-05, a third writer): three models of its own beside the six, never read.
            ("cross-domain held-out 3", crossdomain3, "crossdomain3/holdout3_single.yaml",
             "crossdomain3/holdout3_dialogues.yaml")]
    results: dict[str, Any] = {"setup_seconds": setup_s}
    failures = []
    rows = []
    for name, engine, single_file, dialogue_file in sets:
        if not (HERE / single_file).exists():
            continue
        outcome = evaluate(engine, who, yaml.safe_load((HERE / single_file).read_text()),
                           yaml.safe_load((HERE / dialogue_file).read_text()) if (HERE / dialogue_file).exists() else [],
                           failures if name in args.failures_from else [])
        results[name] = outcome
        rows.append([name, outcome["questions"], f"{outcome['operation_accuracy']:.1%}", f"{outcome['exact_accuracy']:.1%}",
                     outcome["follow_up_turns"], f"{outcome['follow_up_accuracy']:.1%}" if outcome["follow_up_accuracy"] is not None else "—",
                     outcome["refused"]])
    security_rows = []
    for name, file in (("security dev", "crossdomain/security_dev.yaml"),
                       ("security held-out 1", "crossdomain/security_questions.yaml"),
                       ("security held-out 2", "crossdomain/security_holdout2.yaml"),
                       ("security held-out 3", "crossdomain3/security_holdout3.yaml")):
        path = HERE / file
        if path.exists() and ATLAS.exists():
            items = [{"q": i["q"], "doc_id": i.get("doc_id") or f"atlas:{i['cases'][0]}"}
                     for i in yaml.safe_load(path.read_text())]
            results[name] = cited = security_citations(crossdomain, items,
                                                       failures if name in args.failures_from else None)
            security_rows.append([name, cited["questions"], f"{cited['first']:.1%}", f"{cited['any']:.1%}", cited["refused"]])
    if security_rows:
        print_table("questions about ATLAS case studies (no 'incident'/'policy' words), asked by business users: "
                    "right case study cited first (target >= 95%)",
                    ["set", "questions", "cited first", "cited at all", "refused"], security_rows)
    print_table("bench/conversation: accuracy, guardrails and judge on (targets: operation >= 90%, whole call >= 80%, "
                "follow-ups >= 80%, no refusals)",
                ["set", "questions", "operation", "whole call", "follow-up turns", "follow-ups", "refused"], rows)
    team = results["team"]
    print_table("exact accuracy by expected operation (team set)", ["operation", "n", "exact"],
                [[k, v["n"], f"{v['exact']:.0%}"] for k, v in team["exact_by_operation"].items()])
    print_table("latency after start-up, every message new, guardrails and judge on (ms; targets p50 <= 50 / p95 <= 150 "
                "prediction, p50 <= 100 documents)", ["set", "kind", "n", "p50", "p95"],
                [[name, k, v["n"], v["p50"], v["p95"]] for name in ("team", "cross-domain dev") if name in results
                 for k, v in results[name]["latency_ms"].items()])
    path = write_json("conversation", results)
    print(f"wrote {path}")
    for where, item, answer in failures[: args.show_failures]:
        print(f"\n[{where}] {item['q']}\n  expected: {item.get('calls') or ('clarify' if item.get('clarify') else 'no call')}"
              f"\n  got:      {[(c.name, c.arguments) for c in answer.tool_calls] or answer.text[:100]}")


if __name__ == "__main__":
    main()
