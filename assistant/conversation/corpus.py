"""The operation classifier's training corpus, generated from templates over many schemas.

`data/schemas.yaml` describes ~26 models across credit, insurance, HR, healthcare, marketing,
justice, fraud, churn and more (entity nouns, id shapes, features with types, units, values and
everyday phrases for yes/no inputs, tiers, positive labels); `data/templates.yaml` holds
hand-written phrasings per operation with slots (`{record}`, `{feature}`, `{group}`, `{change}`...),
compound questions that ask for two operations, and follow-ups. Each template is filled from
several schemas, then masked by the same `Vocabulary` the planner uses at run time, so the
classifier learns the shape of a question, not the words of any one model.

Deterministic: the same files give the same corpus (seeded), hence the same classifier.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from assistant.conversation.lexicon import build as build_lexicons
from assistant.conversation.lexicon import normalise
from assistant.conversation.mentions import RecordIds, Vocabulary, classifier_text
from assistant.models.spec import ModelSpec

DATA = Path(__file__).parent / "data"
OPERATIONS = ("predict", "explain", "what_if", "counterfactual", "feature_importance", "performance", "data_summary",
              "model_errors", "define_feature", "describe_model", "risk_tiers", "search_knowledge", "list_incidents",
              "security_posture", "probing_alerts", "none")
_SLOT = re.compile(r"\{(\w+)\}")
_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}


@dataclass
class Example:
    text: str          # as a user would type it
    masked: str        # what the classifier reads
    ops: tuple[str, ...]


class SchemaModel:
    """A schema from `schemas.yaml` posing as a registered model: spec and record ids, no artifact."""

    def __init__(self, raw: dict[str, Any], rng: random.Random):
        self.raw = raw
        features = [{k: v for k, v in f.items() if k not in {"range", "true_phrases", "false_phrases"}}
                    for f in raw["features"]]
        tiers = raw.get("tiers") or ["Low", "Medium", "High"]
        bounds = [round((i + 1) / len(tiers), 4) for i in range(len(tiers))]
        self.spec = ModelSpec(id=raw["id"], name=raw.get("name", raw["id"]), artifact="none", features=features,
                              positive_label=raw.get("positive_label", "positive"),
                              records={"path": "none", "id_column": "id", "entity": raw.get("entity", "record")},
                              risk_tiers=[{"name": t, "max": b} for t, b in zip(tiers, bounds)])
        self.id = self.spec.id
        # "case ###": the id is the number; the word before it is how people say it.
        self.ids = [_make_id(rng.choice(raw.get("id_shapes") or ["####"]), rng) for _ in range(40)]
        self.records = pd.DataFrame(index=pd.Index([re.sub(r"^[a-z #]+ ", "", i) for i in self.ids]))


def _make_id(shape: str, rng: random.Random) -> str:
    out = "".join(str(rng.randint(0, 9)) if c == "#" else chr(rng.randint(65, 90)) if c == "A" else c for c in shape)
    return re.sub(r"^0+(?=\d)", "", out) if out.isdigit() else out


class Filler:
    """Fills one template's slots from one schema."""

    def __init__(self, model: SchemaModel, rng: random.Random):
        self.m, self.rng, self.raw = model, rng, model.raw
        self.numeric = [f for f in self.raw["features"] if f.get("type", "numeric") == "numeric"]
        self.booleans = [f for f in self.raw["features"] if f.get("type") == "boolean"]
        self.categoricals = [f for f in self.raw["features"] if f.get("type") == "categorical"]

    def feature_words(self, f: dict) -> str:
        options = [f["name"].replace("_", " ")] + list(f.get("aliases") or [])
        if f.get("description") and len(f["description"].split()) <= 4:
            options.append(f["description"].lower())
        return self.rng.choice(options)

    def number(self, f: dict | None = None) -> str:
        f = f or (self.rng.choice(self.numeric) if self.numeric else {})
        low, high = (f.get("range") or [1, 100])[:2]
        value = self.rng.uniform(float(low), float(high))
        value = round(value, -2) if high > 5000 else round(value) if high > 20 else round(value, 1 if high < 3 else 0)
        value = int(value) if float(value).is_integer() else value
        unit = (f.get("unit") or "").lower()
        if unit in {"usd", "$"}:
            return self.rng.choice([f"${value:,}", f"{value} dollars", f"${value / 1000:g}k" if value >= 1000 else f"${value}"])
        if unit in {"eur", "gbp"}:
            return self.rng.choice([f"{value} {unit}", f"€{value:,}" if unit == "eur" else f"£{value:,}"])
        if unit and unit not in {"count", "score", "index", "ratio"}:
            return self.rng.choice([f"{value} {unit}", str(value)])
        return str(value)

    def group(self) -> str:
        r = self.rng
        entities = self.raw.get("people") if self.raw.get("people") and r.random() < 0.3 else self.raw.get("entity_plural", self.m.spec.entity + "s")
        parts = []
        for _ in range(1 if r.random() < 0.7 else 2):
            kind = r.choice(["bool", "num", "cat"])
            if kind == "bool" and self.booleans:
                f = r.choice(self.booleans)
                phrases = (f.get("true_phrases") if r.random() < 0.6 else f.get("false_phrases")) or [f["name"].replace("_", " ")]
                parts.append(r.choice(phrases))
            elif kind == "cat" and self.categoricals:
                f = r.choice(self.categoricals)
                value = str(r.choice(f["values"]))
                parts.append(r.choice([f"{value} {entities}", f"{entities} in {value}", f"{entities} with {self.feature_words(f)} {value}"]))
            elif self.numeric:
                f = r.choice(self.numeric)
                op = r.choice(["over", "under", "above", "below", "more than", "less than", "at least"])
                parts.append(r.choice([f"{entities} with {self.feature_words(f)} {op} {self.number(f)}",
                                       f"{entities} whose {self.feature_words(f)} is {op} {self.number(f)}",
                                       f"{self.feature_words(f)} {op} {self.number(f)}"]))
        return " and ".join(parts) if parts else entities

    def change(self) -> str:
        r = self.rng
        who = r.choice(["her", "his", "their", "its", "the"])
        kind = r.choice(["num", "num", "bool", "cat"])
        if kind == "bool" and self.booleans:
            f = r.choice(self.booleans)
            name = f["name"].replace("_", " ")
            return r.choice([f"{name} were {r.choice(['yes', 'no', '1', '0', 'true', 'false'])}",
                             f"{who} {name} flag was {'on' if r.random() < .5 else 'off'}",
                             f"{'they were' if r.random() < .5 else 'it was'} {r.choice(f.get('true_phrases') or [name])}",
                             f"{r.choice(f.get('false_phrases') or ['not ' + name])} instead"])
        if kind == "cat" and self.categoricals:
            f = r.choice(self.categoricals)
            return r.choice([f"{who} {self.feature_words(f)} were {r.choice(f['values'])}",
                             f"{self.feature_words(f)} changed to {r.choice(f['values'])}",
                             f"it was {r.choice(f['values'])} instead"])
        if not self.numeric:
            return "it were different"
        f = r.choice(self.numeric)
        w, n = self.feature_words(f), self.number(f)
        return r.choice([f"{who} {w} were {n} lower", f"{who} {w} were {n} higher", f"{w} went up by {n}",
                         f"{w} dropped by {n}", f"{w} was {n}", f"{who} {w} were {n}", f"we cut {w} to {n}",
                         f"{w} doubled", f"{w} increased by {n}", f"{w} were {n} less"])

    def fill(self, template: str) -> str:
        r, raw = self.rng, self.raw
        tiers = list(raw.get("tiers") or ["Low", "Medium", "High"])
        names = [raw.get("name", raw["id"]).lower(), raw["id"], f"{raw.get('domain', '')} model".strip(),
                 f"{normalise(raw.get('positive_label', 'risk'))} model"]
        records, tier_pool = r.sample(self.m.ids, 4), r.sample(tiers, len(tiers))
        # Slots that belong together: a value is the named feature's, a number is the named feature's.
        main = None
        if "{value}" in template and self.categoricals:
            main = r.choice(self.categoricals)
        elif "{number}" in template and self.numeric:
            main = r.choice(self.numeric)
        picked: dict[str, str] = {}

        def slot(m: re.Match) -> str:
            key = m.group(1)
            if key == "record":
                return records.pop() if records else r.choice(self.m.ids)
            if key == "entity":
                return raw.get("entity", "record")
            if key == "entities":
                return raw.get("entity_plural") or raw.get("entity", "record") + "s"
            if key == "label":
                verbs = list(raw.get("label_verbs") or [])
                if verbs and re.search(r"\bto\s*$", template[:m.start()]):
                    return r.choice(verbs)  # "likely to {label}": the verb form
                return raw.get("positive_label", "positive")
            if key == "model":
                return r.choice(["the " + r.choice(names), r.choice(names), "the model"])
            if key == "tier":
                return tier_pool.pop() if tier_pool else r.choice(tiers)
            if key in {"feature", "feature2"}:
                f = main if key == "feature" and main is not None else r.choice(raw["features"])
                if key == "feature2" and len(raw["features"]) > 1:
                    while f["name"] == picked.get("feature"):
                        f = r.choice(raw["features"])
                picked[key] = f["name"]
                return self.feature_words(f)
            if key == "value":
                owner = main or (r.choice(self.categoricals) if self.categoricals else None)
                return str(r.choice(owner["values"])) if owner else "other"
            if key == "number":
                return self.number(main if main in self.numeric else None)
            if key == "group":
                return self.group()
            if key == "change":
                return self.change()
            if key == "n":
                k = r.randint(2, 5)
                return _WORDS[k] if r.random() < 0.3 else str(k)
            return m.group(0)

        return _SLOT.sub(slot, template)


def load_templates(path: Path | None = None) -> dict[str, Any]:
    """The template files (`data/templates*.yaml`, each written by a different hand), merged."""
    merged: dict[str, Any] = {}
    for file in [path] if path else sorted(DATA.glob("templates*.yaml")):
        for key, value in (yaml.safe_load(file.read_text(encoding="utf-8")) or {}).items():
            if isinstance(value, dict):
                for op, lines in value.items():
                    merged.setdefault(key, {}).setdefault(op, []).extend(lines or [])
            else:
                merged.setdefault(key, []).extend(value or [])
    return merged


def load_schemas(path: Path | None = None) -> list[dict[str, Any]]:
    return yaml.safe_load((path or DATA / "schemas.yaml").read_text(encoding="utf-8"))


def _items(templates: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    items: list[tuple[str, tuple[str, ...]]] = []
    for op in OPERATIONS:
        for t in templates.get(op) or []:
            items.append((t, (op,)))
    for entry in templates.get("compound") or []:
        ops = tuple(o for o in entry["ops"] if o in OPERATIONS)
        if ops:
            items.append((entry["t"], ops))
    followups = {op: set(lines or []) for op, lines in (templates.get("followups") or {}).items() if op in OPERATIONS}
    for op, lines in followups.items():
        # A follow-up listed under several operations means what the previous turn meant: no label of its own.
        items += [(t, (op,)) for t in sorted(lines) if not any(t in other for o, other in followups.items() if o != op)]
    return items


def generate(templates: dict[str, Any] | None = None, schemas: list[dict[str, Any]] | None = None, *,
             fills: int = 10, seed: int = 0, miss_rate: float = 0.15) -> list[Example]:
    """Every template filled `fills` times from random schemas, masked as the planner would mask it.

    `miss_rate`: the share of fills in which feature and value mentions are left unmasked, as when a
    user names an input in words the lexicon does not know.
    """
    rng = random.Random(seed)
    templates = templates if templates is not None else load_templates()
    schemas = schemas if schemas is not None else load_schemas()
    models = [SchemaModel(s, rng) for s in schemas]
    lexicons = build_lexicons(models)
    vocabularies = {m.id: Vocabulary([m]) for m in models}
    records = {m.id: RecordIds([m]) for m in models}
    out: list[Example] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for template, ops in _items(templates):
        # Compound questions are fewer and harder: filled three times as often.
        for _ in range((fills * (3 if len(ops) > 1 else 1)) if _SLOT.search(template) else 2):
            model = rng.choice(models)
            text = Filler(model, rng).fill(template)
            masked = mask_for(text, lexicons[model.id], vocabularies[model.id], records[model.id],
                              unmask_features=rng.random() < miss_rate)
            key = (masked, ops)
            if key in seen:
                continue
            seen.add(key)
            out.append(Example(text, masked, ops))
    return out


def mask_for(text: str, lexicon, vocabulary: Vocabulary, records: RecordIds, *, unmask_features: bool = False) -> str:
    """The classifier's reading of one question against one model (as the planner reads it)."""
    norm = normalise(text)
    found = records.find(norm)
    features = [] if unmask_features else lexicon.find_features(norm)
    values = [] if unmask_features else lexicon.find_values(norm)
    return classifier_text(vocabulary.mask(norm, features, values, found))
