"""Validate the crossdomain3 held-out files against the models that build_models.py builds.

    .venv/bin/python bench/conversation/crossdomain3/check3.py [--models DIR]

Written by a helper that never read the engine (the team's check_set.py only knows the demo
models). Builds the three models into a temporary folder (about 1 s) unless --models points at a
build, then checks:

- holdout3_single.yaml / holdout3_dialogues.yaml parse; only known keys, tools and argument names;
  model ids are the three crossdomain3 models; every record_id exists in the labelled model's
  records.csv and is written (in any spelling: case, separators) in the question or earlier in the
  dialogue; every feature name and category value is spelled exactly as in model.yaml; boolean
  features are labelled 1/0; numbers are numbers; ops, metrics, doc types are valid; a reset turn is
  followed by another turn; id_only items have a record id and no UI model; no duplicate questions.
- security_holdout3.yaml parses, each item has q and cases, every case id exists in ATLAS.yaml,
  and no question uses the words "incident", "case study" or "policy".
Exits 1 on any error and prints counts per operation and per model.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))
from bench.conversation.crossdomain3.build_models import MODEL_IDS, build  # noqa: E402

ATLAS = Path("/work/shared/data/atlas/ATLAS.yaml")
OPS = {"==", "!=", ">", ">=", "<", "<="}
METRICS = {"accuracy", "precision", "recall", "f1", "roc_auc"}
DOC_TYPES = {"model_card", "limitations", "policy", "faq", "runbook", "incident"}
ENUMS = {"status": {"open", "investigating", "mitigated", "closed"},
         "severity": {"low", "medium", "high", "critical"},
         "attack_type": {"poisoning", "extraction", "evasion", "membership_inference", "inversion",
                         "prompt_injection", "other"}}
TOOLS = {
    "predict": ({"model_id", "record_id", "filters", "inputs"}, {"model_id"}),
    "explain": ({"model_id", "record_id", "filters", "top_k"}, {"model_id"}),
    "what_if": ({"model_id", "record_id", "changes"}, {"model_id", "record_id", "changes"}),
    "counterfactual": ({"model_id", "record_id"}, {"model_id", "record_id"}),
    "feature_importance": ({"model_id", "top_k", "feature"}, {"model_id"}),
    "performance": ({"model_id", "metric", "filters"}, {"model_id"}),
    "data_summary": ({"model_id", "filters", "feature"}, {"model_id"}),
    "model_errors": ({"model_id", "filters", "top_k"}, {"model_id"}),
    "define_feature": ({"model_id", "feature"}, {"model_id", "feature"}),
    "describe_model": ({"model_id"}, {"model_id"}),
    "risk_tiers": ({"model_id"}, {"model_id"}),
    "search_knowledge": ({"query", "model_id", "doc_type"}, {"query"}),
    "list_incidents": ({"model_id", "status", "severity", "attack_type"}, set()),
    "security_posture": ({"model_id"}, {"model_id"}),
}
ITEM_KEYS = {"q", "model", "calls", "clarify", "out_of_scope", "tags"}
TURN_KEYS = {"q", "model", "calls", "clarify", "out_of_scope", "reset"}
DIALOGUE_KEYS = {"id", "model", "turns"}


def norm(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(text).lower())


class Models:
    def __init__(self, folder: Path) -> None:
        self.spec, self.ids = {}, {}
        for mid in MODEL_IDS:
            spec = yaml.safe_load((folder / mid / "model.yaml").read_text(encoding="utf-8"))
            self.spec[mid] = {f["name"]: f for f in spec["features"]}
            col = spec["records"]["id_column"]
            self.ids[mid] = set(pd.read_csv(folder / mid / spec["records"]["path"], dtype={col: str})[col])


class Checker:
    def __init__(self, models: Models) -> None:
        self.m = models
        self.errors: list[str] = []

    def err(self, where, msg):
        self.errors.append(f"{where}: {msg}")

    def value(self, where, mid, feat, val):
        f = self.m.spec[mid][feat]
        if f["type"] == "numeric":
            if isinstance(val, bool) or not isinstance(val, (int, float)):
                self.err(where, f"{feat} is numeric, got {val!r}")
        elif f["type"] == "boolean":
            if isinstance(val, bool) or val not in (0, 1):
                self.err(where, f"{feat} is a yes/no feature: label 1 or 0, got {val!r}")
        elif val not in f["values"]:
            self.err(where, f"{feat} value {val!r} not among {f['values']}")

    def feature(self, where, mid, feat) -> bool:
        if mid not in self.m.spec:
            self.err(where, f"feature {feat!r} without a valid model_id")
            return False
        if feat not in self.m.spec[mid]:
            self.err(where, f"{feat!r} is not a feature of {mid}")
            return False
        return True

    def call(self, where, call, said: str):
        if not isinstance(call, dict) or set(call) != {"name", "arguments"}:
            return self.err(where, f"a call needs exactly name and arguments: {call!r}")
        name, args = call["name"], call["arguments"]
        if name not in TOOLS or not isinstance(args, dict):
            return self.err(where, f"unknown tool or bad arguments: {name!r}")
        allowed, required = TOOLS[name]
        for k in set(args) - allowed:
            self.err(where, f"{name}: argument {k!r} not allowed")
        for k in required - set(args):
            self.err(where, f"{name}: missing argument {k!r}")
        mid = args.get("model_id")
        if "model_id" in args and mid not in MODEL_IDS:
            self.err(where, f"unknown model_id {mid!r}")
            mid = None
        if "record_id" in args:
            rid = args["record_id"]
            if not isinstance(rid, str):
                self.err(where, f"record_id must be a string: {rid!r}")
            elif mid and rid not in self.m.ids[mid]:
                self.err(where, f"record_id {rid} not in {mid}/records.csv")
            elif norm(rid) not in said:
                self.err(where, f"record_id {rid} never written in the question/conversation")
        filters = args.get("filters", [])
        for f in filters if isinstance(filters, list) else [filters]:
            if not isinstance(f, dict) or set(f) != {"feature", "op", "value"}:
                self.err(where, f"bad filter {f!r}")
                continue
            if f["op"] not in OPS:
                self.err(where, f"bad op {f['op']!r}")
            if self.feature(where, mid, f["feature"]):
                if self.m.spec[mid][f["feature"]]["type"] != "numeric" and f["op"] not in ("==", "!="):
                    self.err(where, f"op {f['op']} on non-numeric {f['feature']}")
                self.value(where, mid, f["feature"], f["value"])
        if "filters" in args and not args["filters"]:
            self.err(where, "empty filters")
        for key in ("changes", "inputs"):
            if key not in args:
                continue
            if not isinstance(args[key], dict) or not args[key]:
                self.err(where, f"{key} must be a non-empty mapping")
                continue
            for feat, val in args[key].items():
                if not self.feature(where, mid, feat):
                    continue
                if isinstance(val, dict) and key == "changes":
                    if len(val) != 1 or next(iter(val)) not in ("increase", "decrease"):
                        self.err(where, f"change for {feat}: {val!r}")
                    elif self.m.spec[mid][feat]["type"] != "numeric":
                        self.err(where, f"increase/decrease on non-numeric {feat}")
                    else:
                        amount = next(iter(val.values()))
                        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount <= 0:
                            self.err(where, f"{feat}: change amount must be positive: {amount!r}")
                else:
                    self.value(where, mid, feat, val)
        if "feature" in args:
            self.feature(where, mid, args["feature"])
        if "top_k" in args and (isinstance(args["top_k"], bool) or not isinstance(args["top_k"], int)
                                or args["top_k"] < 1):
            self.err(where, f"bad top_k {args['top_k']!r}")
        if "metric" in args and args["metric"] not in METRICS:
            self.err(where, f"bad metric {args['metric']!r}")
        if "doc_type" in args and args["doc_type"] not in DOC_TYPES:
            self.err(where, f"bad doc_type {args['doc_type']!r}")
        if "query" in args and (not isinstance(args["query"], str) or not args["query"].strip()):
            self.err(where, "query must be text")
        for key, allowed_vals in ENUMS.items():
            if key in args and args[key] not in allowed_vals:
                self.err(where, f"bad {key} {args[key]!r}")

    def entry(self, where, e, keys, said):
        if not isinstance(e, dict):
            return self.err(where, "not a mapping")
        for k in set(e) - keys:
            self.err(where, f"unknown key {k!r}")
        if not isinstance(e.get("q"), str) or not e["q"].strip():
            self.err(where, "q must be text")
        if "model" in e and e["model"] not in MODEL_IDS:
            self.err(where, f"unknown UI model {e['model']!r}")
        calls = e.get("calls")
        if not isinstance(calls, list):
            return self.err(where, "calls must be a list")
        flags = [f for f in ("clarify", "out_of_scope", "reset") if e.get(f)]
        for f in ("clarify", "out_of_scope", "reset"):
            if f in e and e[f] is not True:
                self.err(where, f"{f} must be true when present")
        if len(flags) > 1 or (flags and calls) or (not flags and not calls):
            self.err(where, "calls: [] exactly when clarify, out_of_scope or reset")
        for i, c in enumerate(calls):
            self.call(f"{where} call {i + 1}", c, said)


def load(path: Path, ck: Checker):
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        ck.err(path.name, f"does not load: {exc}")
        return []
    if not isinstance(data, list):
        ck.err(path.name, "top level must be a list")
        return []
    return data


def check_security(items, ck: Checker) -> None:
    atlas = yaml.safe_load(ATLAS.read_text(encoding="utf-8"))
    known = {c["id"] for c in atlas.get("case-studies", [])}
    seen = set()
    for n, it in enumerate(items, 1):
        where = f"security #{n}"
        if not isinstance(it, dict) or set(it) != {"q", "cases"}:
            ck.err(where, f"needs exactly q and cases: {it!r}")
            continue
        if re.search(r"incident|case stud|polic", it["q"], re.I):
            ck.err(where, "uses a banned word (incident / case study / policy)")
        if it["q"].lower() in seen:
            ck.err(where, "duplicate")
        seen.add(it["q"].lower())
        if not isinstance(it["cases"], list) or not it["cases"]:
            ck.err(where, "cases must be a non-empty list")
            continue
        for c in it["cases"]:
            if c not in known:
                ck.err(where, f"{c} is not an ATLAS case study")


def tally(title, entries):
    ops, models, kinds = Counter(), Counter(), Counter()
    for e in entries:
        calls = e.get("calls") or []
        ops.update(c["name"] for c in calls)
        for m in {c["arguments"].get("model_id") for c in calls} - {None}:
            models[m] += 1
        for f in ("clarify", "out_of_scope", "reset"):
            kinds[f] += bool(e.get(f))
        kinds["compound (2+ calls)"] += len(calls) > 1
        kinds["id_only"] += "id_only" in (e.get("tags") or [])
        kinds["UI model set"] += bool(e.get("model"))
    print(f"\n{title}: {len(entries)} entries, {sum(ops.values())} calls")
    print("  ops:    " + ", ".join(f"{k} {v}" for k, v in ops.most_common()))
    print("  models: " + ", ".join(f"{k} {v}" for k, v in models.most_common()))
    print("  kinds:  " + ", ".join(f"{k} {v}" for k, v in kinds.items()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=Path, help="a build of the three models (default: build to a temp dir)")
    opts = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = opts.models or Path(tmp)
        build(folder)
        ck = Checker(Models(folder))
    items = load(HERE / "holdout3_single.yaml", ck)
    seen = set()
    for n, it in enumerate(items, 1):
        where = f"single #{n}"
        ck.entry(where, it, ITEM_KEYS, norm(it.get("q", "")) if isinstance(it, dict) else "")
        if not isinstance(it, dict):
            continue
        key = (str(it.get("q", "")).strip().lower(), it.get("model"))
        if key in seen:
            ck.err(where, "duplicate question")
        seen.add(key)
        tags = it.get("tags", [])
        if not isinstance(tags, list) or set(tags) - {"id_only"}:
            ck.err(where, f"bad tags {tags!r}")
        elif "id_only" in tags and ("model" in it or not any(
                "record_id" in c.get("arguments", {}) for c in it.get("calls") or [])):
            ck.err(where, "id_only needs a record_id label and no UI model")
    dialogues = load(HERE / "holdout3_dialogues.yaml", ck)
    ids = set()
    for n, d in enumerate(dialogues, 1):
        where = f"dialogue {d.get('id', n) if isinstance(d, dict) else n}"
        if not isinstance(d, dict) or set(d) - DIALOGUE_KEYS or d.get("id") in ids:
            ck.err(where, "bad keys or duplicate id")
            continue
        ids.add(d.get("id"))
        if "model" in d and d["model"] not in MODEL_IDS:
            ck.err(where, f"unknown UI model {d['model']!r}")
        turns = d.get("turns")
        if not isinstance(turns, list) or not 3 <= len(turns) <= 6:
            ck.err(where, "needs 3-6 turns")
            continue
        said = ""
        for t, turn in enumerate(turns, 1):
            if isinstance(turn, dict) and turn.get("reset"):
                said = ""
                if t == len(turns):
                    ck.err(f"{where} turn {t}", "a reset turn must be followed by a turn")
            said += " " + norm(turn.get("q", "") if isinstance(turn, dict) else "")
            ck.entry(f"{where} turn {t}", turn, TURN_KEYS, said)
    security = load(HERE / "security_holdout3.yaml", ck)
    check_security(security, ck)
    if ck.errors:
        print(f"{len(ck.errors)} error(s):")
        for e in ck.errors:
            print("  " + e)
        return 1
    tally("holdout3_single.yaml", items)
    tally("holdout3_dialogues.yaml (turns)", [t for d in dialogues for t in d["turns"]])
    print(f"\ndialogues: {len(dialogues)}; security questions: {len(security)}")
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
