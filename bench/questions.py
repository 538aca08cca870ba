"""New questions for the load, scale and profile benchmarks: every message differs from the last.

Repeated questions flatter a server: the guard judge and the query embedding remember recent
messages, so "Why?" asked a thousand times is embedded once. These generators draw a random real
record of a named model and, for what-ifs, a random amount, so each message is new text — the
shape of the outside check in issue 19 (tier, reasons or a what-if on a random real account, the
model named). Documents questions are drawn from a pool of topics and phrasings per model.

    from bench.questions import Questions
    q = Questions.from_models_dir(path, seed=1)
    q.draw("tier")      # 'What is the risk tier for customer C-11872 in the credit default model?'
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from pathlib import Path

import yaml

KINDS = ("tier", "reasons", "what_if", "cohort", "documents")
PREDICTION_KINDS = ("tier", "reasons", "what_if")

# Per demo model: how a person names it, the record noun, and a numeric input a what-if moves
# (its name as said, a unit prefix, and the range of a plausible change).
MODELS = {
    "credit-default": {"said": "credit default model", "entity": "customer", "pronoun": "her",
                       "what_if": [("balance", "$", 100, 2000), ("income", "$", 1000, 20000),
                                   ("credit limit", "$", 500, 5000)]},
    "customer-churn": {"said": "churn model", "entity": "customer", "pronoun": "his",
                       "what_if": [("monthly bill", "$", 5, 60), ("support calls", "", 1, 4)]},
    "transaction-fraud": {"said": "fraud model", "entity": "transaction", "pronoun": "its",
                          "what_if": []},  # an adversarial model: what-ifs are declined by design
}

TIER = ["What is the risk tier for {entity} {rid} in the {said}?",
        "What tier is {entity} {rid} in on the {said}?",
        "Risk tier of {entity} {rid} ({said})?"]
REASONS = ["Why is {entity} {rid} in its tier on the {said}?",
           "What are the top reasons for {entity} {rid}'s tier in the {said}?",
           "What drives the risk tier of {entity} {rid} in the {said}?"]
WHAT_IF = ["What if {entity} {rid}'s {feature} were {unit}{amount:,} {direction} on the {said}?",
           "On the {said}, what would {entity} {rid}'s tier be if the {feature} were {unit}{amount:,} {direction}?"]
COHORT = ["How many customers in the {region} region are high risk of default?",
          "How many {region} customers are likely to churn?",
          "How many customers in the {region} region are high risk of default, only students?"]
DOCUMENTS = ["What are the limitations of the {said}?", "Is the {said} safe to rely on right now?",
             "How accurate is the {said}?", "Can I use the {said} for small-business accounts?",
             "Who owns the {said} and when was it last reviewed?", "What data was the {said} trained on?",
             "Has the {said} had any security incidents?", "What should I do when the {said} says High?"]
REGIONS = ["North", "South", "East", "West"]

# Per-principal budgets raised (MODELDESK_GUARD_BUDGETS) so that a client asking hundreds of questions
# a minute is measured rather than locked out; every guard check still runs on every message.
ROLE_BUDGETS = {"synthetic": [10**6] * 3, "synthetic_day": [10**6] * 3, "sweep": [10**6] * 3,
                "records": [10**6] * 3, "records_day": [10**6] * 3}
# The cross-account limits too: a load generator is one party looking up thousands of records an hour.
MODEL_BUDGET = {"coarsen": 10**6, "wide": 10**6, "sweep": 10**6, "records": 10**6, "harvest_min": 10**6,
                "harvest": 10**6}
RAISED_BUDGETS = json.dumps({**{role: {**{k: dict(zip(("warn", "refuse", "lock"), v)) for k, v in ROLE_BUDGETS.items()},
                                       "prada_min_queries": 10**6} for role in ("business", "analyst")},
                             "model": MODEL_BUDGET})


@dataclass
class Questions:
    """Random record ids per model and a seeded generator of new questions."""

    ids: dict[str, list[str]]
    rng: random.Random

    @classmethod
    def from_models_dir(cls, folder: Path, seed: int = 0) -> "Questions":
        """Record ids read from each demo model's records file under `folder`."""
        ids: dict[str, list[str]] = {}
        for model_id in MODELS:
            spec_path = Path(folder) / model_id / "model.yaml"
            if not spec_path.exists():
                continue
            spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
            records = spec["records"]
            with (spec_path.parent / records["path"]).open(newline="", encoding="utf-8") as f:
                ids[model_id] = [row[records["id_column"]] for row in csv.DictReader(f)]
        if not ids:
            raise SystemExit(f"no demo models under {folder}")
        return cls(ids, random.Random(seed))

    def draw(self, kind: str) -> str:
        rng = self.rng
        models = sorted(m for m in self.ids if kind != "what_if" or MODELS[m]["what_if"])
        model_id = rng.choice(models)
        m = MODELS[model_id]
        fields = {"entity": m["entity"], "said": m["said"], "rid": rng.choice(self.ids[model_id])}
        if kind == "tier":
            return rng.choice(TIER).format(**fields)
        if kind == "reasons":
            return rng.choice(REASONS).format(**fields)
        if kind == "what_if":
            feature, unit, low, high = rng.choice(m["what_if"])
            return rng.choice(WHAT_IF).format(**fields, feature=feature, unit=unit, amount=rng.randint(low, high),
                                              direction=rng.choice(["lower", "higher"]))
        if kind == "cohort":
            return rng.choice(COHORT).format(region=rng.choice(REGIONS))
        if kind == "documents":
            return rng.choice(DOCUMENTS).format(**fields)
        raise ValueError(f"unknown question kind {kind!r}; one of {', '.join(KINDS)}")

    def mixed(self, kinds: tuple[str, ...] = PREDICTION_KINDS) -> tuple[str, str]:
        kind = self.rng.choice(kinds)
        return kind, self.draw(kind)


def encoder_p50(embedder, questions: "Questions", n: int) -> float:
    """p50 (ms) of one sentence-model pass over a new question: the unit of the one-question-at-a-time goal."""
    import time

    from bench.common import pct

    times = []
    for _ in range(n):
        text = questions.draw("reasons")
        started = time.perf_counter()
        embedder.embed([text])
        times.append((time.perf_counter() - started) * 1000)
    return pct(times, 50)
