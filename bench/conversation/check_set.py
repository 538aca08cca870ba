"""Validate the conversation evaluation set and print its coverage.

    python bench/conversation/check_set.py [--models DIR]

Checks that single_turn.yaml and dialogues.yaml parse and that every label uses only the
tool names, argument names, models, features, categories, ops, metrics, enums and record-id
ranges the set is written against (declared below, independently of the engine). With
--models DIR, the declared models are also compared with DIR/<model_id>/model.yaml.
Exits 1 on any error.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------
# What the set is written against
# ---------------------------------------------------------------------------
NUM, CAT, BOOL = "numeric", "categorical", "boolean"
REGIONS = ["North", "South", "East", "West"]

MODELS = {
    "credit-default": {
        "ids": ("C-", 10000, 12999),
        "adversarial": False,
        "tiers": ["Low", "Medium", "High"],
        "features": {
            "balance": (NUM,), "income": (NUM,), "credit_limit": (NUM,),
            "missed_payments": (NUM,), "age": (NUM,), "years_with_bank": (NUM,),
            "student": (CAT, ["Yes", "No"]), "region": (CAT, REGIONS),
        },
    },
    "customer-churn": {
        "ids": ("C-", 20000, 22999),
        "adversarial": False,
        "tiers": ["Low", "Medium", "High"],
        "features": {
            "tenure_months": (NUM,), "monthly_charges": (NUM,),
            "contract": (CAT, ["month-to-month", "one-year", "two-year"]),
            "support_calls": (NUM,), "products_held": (NUM,), "paperless_billing": (BOOL,),
            "age": (NUM,), "region": (CAT, REGIONS),
            "payment_method": (CAT, ["card", "bank transfer", "check"]),
        },
    },
    "transaction-fraud": {
        "ids": ("T-", 100000, 109999),
        "adversarial": True,
        "tiers": ["Low", "Elevated", "High", "Critical"],
        "features": {
            "amount": (NUM,),
            "merchant_category": (CAT, ["grocery", "fuel", "restaurants", "electronics",
                                        "travel", "online_gaming", "jewelry"]),
            "channel": (CAT, ["in_store", "online", "phone"]),
            "hour_of_day": (NUM,), "distance_from_home_km": (NUM,), "is_foreign": (BOOL,),
            "card_present": (BOOL,), "txn_count_24h": (NUM,), "account_age_days": (NUM,),
        },
    },
    "claims-hgb": {
        "ids": ("P-", 5000, 5799),
        "adversarial": False,
        "tiers": ["Routine", "Check", "Investigate"],
        "features": {
            "claim_amount": (NUM,), "policy_age_years": (NUM,), "prior_claims": (NUM,),
            "vehicle_type": (CAT, ["sedan", "suv", "truck", "motorbike"]),
            "garaged": (BOOL,),
        },
    },
}

OPS = {"==", "!=", ">", ">=", "<", "<="}
METRICS = {"accuracy", "precision", "recall", "f1", "roc_auc"}
DOC_TYPES = {"model_card", "limitations", "policy", "faq", "runbook", "incident"}
STATUSES = {"open", "investigating", "mitigated", "closed"}
SEVERITIES = {"low", "medium", "high", "critical"}
ATTACK_TYPES = {"poisoning", "extraction", "evasion", "membership_inference", "inversion",
                "prompt_injection", "other"}

# tool -> (allowed argument names, required argument names)
TOOLS = {
    "predict": ({"model_id", "record_id", "filters"}, {"model_id"}),
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
TAGS = {"id_only"}

MIN_SINGLE, MIN_CLAIMS, MIN_DIALOGUES = 320, 40, 35
ID_RE = re.compile(r"\b([CTP])-?(\d{4,6})\b", re.IGNORECASE)


def model_of_record(record_id: str) -> str | None:
    for mid, spec in MODELS.items():
        prefix, lo, hi = spec["ids"]
        if record_id.startswith(prefix) and record_id[len(prefix):].isdigit():
            if lo <= int(record_id[len(prefix):]) <= hi and len(record_id) == len(prefix) + len(str(hi)):
                return mid
    return None


def ids_in_text(text: str) -> set[str]:
    return {f"{p.upper()}-{n}" for p, n in ID_RE.findall(text)}


class Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def err(self, where: str, msg: str) -> None:
        self.errors.append(f"{where}: {msg}")

    # -- values -------------------------------------------------------------
    def check_value(self, where: str, model_id: str, feature: str, value) -> None:
        spec = MODELS[model_id]["features"][feature]
        kind = spec[0]
        if kind == NUM:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.err(where, f"{feature} is numeric, got {value!r}")
        elif kind == BOOL:
            if not isinstance(value, bool):
                self.err(where, f"{feature} is boolean, give true/false, got {value!r}")
        else:
            if value not in spec[1]:
                self.err(where, f"{feature} value {value!r} not among {spec[1]}")

    def check_feature(self, where: str, model_id: str | None, feature) -> bool:
        if model_id not in MODELS:
            self.err(where, f"feature {feature!r} given without a valid model_id")
            return False
        if feature not in MODELS[model_id]["features"]:
            self.err(where, f"{feature!r} is not a feature of {model_id}")
            return False
        return True

    # -- calls --------------------------------------------------------------
    def check_call(self, where: str, call) -> None:
        if not isinstance(call, dict) or set(call) != {"name", "arguments"}:
            self.err(where, f"a call needs exactly name and arguments: {call!r}")
            return
        name, args = call["name"], call["arguments"]
        if name not in TOOLS:
            self.err(where, f"unknown tool {name!r}")
            return
        if not isinstance(args, dict):
            self.err(where, f"{name}: arguments must be a mapping")
            return
        allowed, required = TOOLS[name]
        for k in set(args) - allowed:
            self.err(where, f"{name}: argument {k!r} not allowed")
        for k in required - set(args):
            self.err(where, f"{name}: missing argument {k!r}")
        mid = args.get("model_id")
        if "model_id" in args and mid not in MODELS:
            self.err(where, f"{name}: unknown model_id {mid!r}")
            mid = None
        if mid and MODELS[mid]["adversarial"] and name in ("what_if", "counterfactual"):
            self.err(where, f"{name} on adversarial model {mid} (evasion coaching)")
        if "record_id" in args:
            rid = args["record_id"]
            owner = model_of_record(rid) if isinstance(rid, str) else None
            if owner is None:
                self.err(where, f"record_id {rid!r} is in no model's range")
            elif mid and owner != mid:
                self.err(where, f"record_id {rid} belongs to {owner}, not {mid}")
        if "filters" in args:
            filters = args["filters"]
            if not isinstance(filters, list) or not filters:
                self.err(where, f"{name}: filters must be a non-empty list")
            else:
                for f in filters:
                    if not isinstance(f, dict) or set(f) != {"feature", "op", "value"}:
                        self.err(where, f"filter needs exactly feature, op, value: {f!r}")
                        continue
                    if f["op"] not in OPS:
                        self.err(where, f"bad op {f['op']!r}")
                    if self.check_feature(where, mid, f["feature"]):
                        kind = MODELS[mid]["features"][f["feature"]][0]
                        if kind != NUM and f["op"] not in ("==", "!="):
                            self.err(where, f"op {f['op']} on non-numeric {f['feature']}")
                        self.check_value(where, mid, f["feature"], f["value"])
        if "changes" in args:
            changes = args["changes"]
            if not isinstance(changes, dict) or not changes:
                self.err(where, "changes must be a non-empty mapping")
            else:
                for feat, val in changes.items():
                    if not self.check_feature(where, mid, feat):
                        continue
                    if isinstance(val, dict):
                        if len(val) != 1 or next(iter(val)) not in ("increase", "decrease"):
                            self.err(where, f"change for {feat} must be increase or decrease: {val!r}")
                            continue
                        amount = next(iter(val.values()))
                        if MODELS[mid]["features"][feat][0] != NUM:
                            self.err(where, f"increase/decrease on non-numeric {feat}")
                        elif isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount <= 0:
                            self.err(where, f"{feat} change amount must be a positive number: {amount!r}")
                    else:
                        self.check_value(where, mid, feat, val)
        if "feature" in args:
            self.check_feature(where, mid, args["feature"])
        if "top_k" in args:
            tk = args["top_k"]
            if isinstance(tk, bool) or not isinstance(tk, int) or tk < 1:
                self.err(where, f"top_k must be a positive integer: {tk!r}")
        if "metric" in args and args["metric"] not in METRICS:
            self.err(where, f"bad metric {args['metric']!r}")
        if "query" in args and (not isinstance(args["query"], str) or not args["query"].strip()):
            self.err(where, "query must be non-empty text")
        for key, allowed_vals in (("doc_type", DOC_TYPES), ("status", STATUSES),
                                  ("severity", SEVERITIES), ("attack_type", ATTACK_TYPES)):
            if key in args and args[key] not in allowed_vals:
                self.err(where, f"bad {key} {args[key]!r}")

    # -- an item or a turn ------------------------------------------------------
    def check_entry(self, where: str, entry, keys: set[str]) -> None:
        if not isinstance(entry, dict):
            self.err(where, "not a mapping")
            return
        for k in set(entry) - keys:
            self.err(where, f"unknown key {k!r}")
        q = entry.get("q")
        if not isinstance(q, str) or not q.strip():
            self.err(where, "q must be non-empty text")
        if "model" in entry and entry["model"] not in MODELS:
            self.err(where, f"unknown UI model {entry['model']!r}")
        calls = entry.get("calls")
        if not isinstance(calls, list):
            self.err(where, "calls must be a list (use [] for none)")
            return
        flags = [f for f in ("clarify", "out_of_scope", "reset") if entry.get(f)]
        for f in ("clarify", "out_of_scope", "reset"):
            if f in entry and entry[f] is not True:
                self.err(where, f"{f} must be true when present")
        if len(flags) > 1:
            self.err(where, f"at most one of clarify/out_of_scope/reset: {flags}")
        if flags and calls:
            self.err(where, f"{flags[0]} items must have calls: []")
        if not flags and not calls:
            self.err(where, "calls: [] needs clarify, out_of_scope or reset")
        for i, call in enumerate(calls):
            self.check_call(f"{where} call {i + 1}", call)


def load(path: Path, checker: Checker):
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        checker.err(path.name, f"YAML does not parse: {exc}")
        return []
    if not isinstance(data, list):
        checker.err(path.name, "top level must be a list")
        return []
    return data


def record_ids_in_calls(calls) -> set[str]:
    return {c["arguments"]["record_id"] for c in calls
            if isinstance(c, dict) and isinstance(c.get("arguments"), dict)
            and isinstance(c["arguments"].get("record_id"), str)}


def check_single(items, ck: Checker) -> None:
    seen = set()
    for n, item in enumerate(items, 1):
        where = f"single_turn #{n}"
        ck.check_entry(where, item, ITEM_KEYS)
        if not isinstance(item, dict):
            continue
        key = (str(item.get("q", "")).strip().lower(), item.get("model"))
        if key in seen:
            ck.err(where, f"duplicate question {item.get('q')!r}")
        seen.add(key)
        tags = item.get("tags", [])
        if not isinstance(tags, list) or set(tags) - TAGS:
            ck.err(where, f"bad tags {tags!r}")
            tags = []
        calls = item.get("calls") if isinstance(item.get("calls"), list) else []
        labelled = record_ids_in_calls(calls)
        mentioned = ids_in_text(str(item.get("q", "")))
        if labelled - mentioned:
            ck.err(where, f"record ids {sorted(labelled - mentioned)} not in the question")
        if "id_only" in tags and (not labelled or "model" in item):
            ck.err(where, "id_only items need a record_id label and no UI model")


def check_dialogues(dialogues, ck: Checker) -> None:
    ids = set()
    for n, d in enumerate(dialogues, 1):
        where = f"dialogue #{n}"
        if not isinstance(d, dict):
            ck.err(where, "not a mapping")
            continue
        for k in set(d) - DIALOGUE_KEYS:
            ck.err(where, f"unknown key {k!r}")
        did = d.get("id")
        where = f"dialogue {did}"
        if not isinstance(did, str) or did in ids:
            ck.err(where, "id missing or duplicated")
        ids.add(did)
        if "model" in d and d["model"] not in MODELS:
            ck.err(where, f"unknown UI model {d['model']!r}")
        turns = d.get("turns")
        if not isinstance(turns, list) or not 3 <= len(turns) <= 6:
            ck.err(where, "needs 3-6 turns")
            continue
        said: set[str] = set()
        for t, turn in enumerate(turns, 1):
            tw = f"{where} turn {t}"
            ck.check_entry(tw, turn, TURN_KEYS)
            if not isinstance(turn, dict):
                continue
            if turn.get("reset"):
                said = set()
                if t == len(turns):
                    ck.err(tw, "a reset turn must be followed by a turn that tests it")
            said |= ids_in_text(str(turn.get("q", "")))
            calls = turn.get("calls") if isinstance(turn.get("calls"), list) else []
            missing = record_ids_in_calls(calls) - said
            if missing:
                ck.err(tw, f"record ids {sorted(missing)} never mentioned in this conversation")


def check_models_dir(models_dir: Path, ck: Checker) -> None:
    for mid, spec in MODELS.items():
        path = models_dir / mid / "model.yaml"
        if not path.exists():
            print(f"note: {path} not found, not compared")
            continue
        real = yaml.safe_load(path.read_text(encoding="utf-8"))
        feats = {f["name"]: f for f in real.get("features", [])}
        if set(feats) != set(spec["features"]):
            ck.err(str(path), f"features differ: {sorted(set(feats) ^ set(spec['features']))}")
        for name, f in feats.items():
            mine = spec["features"].get(name)
            if mine and (f.get("type") != mine[0] or (mine[0] == CAT and list(f.get("values", [])) != mine[1])):
                ck.err(str(path), f"feature {name} type/values differ")
        if [t["name"] for t in real.get("risk_tiers", [])] != spec["tiers"]:
            ck.err(str(path), "risk tier names differ")
        if bool(real.get("adversarial", False)) != spec["adversarial"]:
            ck.err(str(path), "adversarial flag differs")


def report(items, dialogues) -> None:
    def tally(entries):
        ops, models, kinds = Counter(), Counter(), Counter()
        for e in entries:
            calls = e.get("calls") or []
            for c in calls:
                ops[c["name"]] += 1
            mids = {c["arguments"].get("model_id") for c in calls} - {None}
            for m in mids:
                models[m] += 1
            if calls and not mids:
                models["(no model)"] += 1
            for f in ("clarify", "out_of_scope", "reset"):
                if e.get(f):
                    kinds[f] += 1
            if len(calls) > 1:
                kinds["compound (2+ calls)"] += 1
            if "id_only" in (e.get("tags") or []):
                kinds["record id only, no model named"] += 1
            if e.get("model"):
                kinds["UI model context set"] += 1
        return ops, models, kinds

    turns = [t for d in dialogues for t in d["turns"]]
    for title, entries in (("single_turn.yaml", items), ("dialogues.yaml (turns)", turns)):
        ops, models, kinds = tally(entries)
        print(f"\n{title}: {len(entries)} entries, {sum(ops.values())} labelled calls")
        print("  calls per operation:")
        for op in TOOLS:
            print(f"    {op:20s} {ops[op]}")
        print("  entries per model (an entry counts once per model it calls):")
        for m in list(MODELS) + ["(no model)"]:
            print(f"    {m:20s} {models[m]}")
        print("  kinds:")
        for k, v in sorted(kinds.items()):
            print(f"    {k:32s} {v}")
    lengths = Counter(len(d["turns"]) for d in dialogues)
    print(f"\ndialogues: {len(dialogues)}, turns: {len(turns)}, "
          f"length histogram: {dict(sorted(lengths.items()))}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=HERE)
    ap.add_argument("--models", type=Path, help="models folder to compare the declared specs with")
    ap.add_argument("--quiet", action="store_true", help="errors only, no coverage report")
    opts = ap.parse_args(argv)

    ck = Checker()
    items = load(opts.dir / "single_turn.yaml", ck)
    dialogues = load(opts.dir / "dialogues.yaml", ck)
    check_single(items, ck)
    check_dialogues(dialogues, ck)
    if opts.models:
        check_models_dir(opts.models, ck)

    # coverage requirements
    ops = Counter(c["name"] for i in items if isinstance(i, dict) for c in (i.get("calls") or [])
                  if isinstance(c, dict))
    for op in TOOLS:
        if not ops[op]:
            ck.err("single_turn.yaml", f"no question for operation {op}")
    labelled = [i for i in items if isinstance(i, dict) and i.get("calls")]
    if len(labelled) < MIN_SINGLE:
        ck.err("single_turn.yaml", f"{len(labelled)} labelled questions, want >= {MIN_SINGLE}")
    claims = [i for i in labelled if any(isinstance(c, dict) and isinstance(c.get("arguments"), dict)
                                         and c["arguments"].get("model_id") == "claims-hgb"
                                         for c in i["calls"])]
    if len(claims) < MIN_CLAIMS:
        ck.err("single_turn.yaml", f"{len(claims)} claims-hgb questions, want >= {MIN_CLAIMS}")
    if len(dialogues) < MIN_DIALOGUES:
        ck.err("dialogues.yaml", f"{len(dialogues)} dialogues, want >= {MIN_DIALOGUES}")

    if ck.errors:
        print(f"{len(ck.errors)} error(s):")
        for e in ck.errors:
            print("  " + e)
        return 1
    if not opts.quiet:
        report(items, dialogues)
    print("\nOK: both files parse and every label is valid.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
