"""Mentions: which words of a question name a record, a model, a feature, a value or a tier.

Everything here is read from the registry (each `model.yaml` and its records file), so a model
registered tomorrow is understood without a code change. Two products:

- `RecordIds.find(text)`: record ids whatever their shape ("C-10293", "E-2024-0193", "HH-00012",
  plain integers such as "applicant 4471", "row 88", "case #300"), each with the models holding it;
- `Vocabulary.mask(text, features, values)`: the question with its specifics replaced by typed
  placeholders (`recordid`, `featurename`, `valuename`, `tiername`, `entityname`, `positivelabel`,
  `model`, `num`), the form the operation classifier reads.

The same `Vocabulary` masks the generated training corpus (`corpus.py`), so the classifier learns
on exactly what it sees at run time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from assistant.conversation.lexicon import normalise

# Nouns that introduce an id in any domain ("applicant 4471", "data point 12", "case #300").
GENERIC_ID_NOUNS = ("id", "ids", "number", "no", "nr", "num", "#", "row", "rows", "case", "cases", "record", "records",
                    "data point", "datapoint", "point", "instance", "sample", "example", "entry", "item", "observation",
                    "applicant", "patient", "customer", "client", "account", "member", "person", "user", "employee",
                    "student", "application", "ref", "reference", "file", "index", "idx", "pt", "acct", "cust", "emp",
                    "app", "appl", "applicant no", "loan", "policy", "claim", "ticket", "order", "purchase")
_TOKEN = re.compile(r"(?<![\w$£€.#-])(#\s?)?([A-Za-z0-9][A-Za-z0-9_/-]*[A-Za-z0-9]|\d)(?![\w-]|\.\d|%|,\d)")
_UNIT_AFTER = re.compile(r"^\s*(?:%|k\b|m\b|bn\b|years?|yrs?|months?|weeks?|days?|hours?|mins?|minutes?|km|miles?|kg|"
                         r"percent|pct|usd|eur|gbp|dollars?|euros?|pounds?|times|x\b|or (?:more|less|fewer|older|younger)|\+|"
                         r"reasons?|factors?|features?|drivers?|inputs?|things|segments?|variables?|most|main|biggest|top)")


@dataclass
class RecordMention:
    raw: str            # as typed
    record_id: str      # as stored
    models: list[str]
    start: int
    end: int


class RecordIds:
    """Every stored record id of every model, looked up in questions."""

    def __init__(self, models: Iterable):
        self.index: dict[str, dict[str, str]] = {}   # normalised id -> {model_id: stored id}
        self.loose: dict[str, dict[str, str]] = {}   # letters and digits only -> ids typed with other separators
        self.entity_nouns: set[str] = set()
        self.integer_models: set[str] = set()
        for model in models:
            records = getattr(model, "records", None)
            ids = [] if records is None else list(records.index)
            for record_id in ids:
                stored = str(record_id)
                self.index.setdefault(_key(stored), {})[model.id] = stored
                if _SEPARATED.search(stored):
                    self.loose.setdefault(_loose(stored), {})[model.id] = stored
            if ids and all(str(i).isdigit() for i in ids[:50]):
                self.integer_models.add(model.id)
            entity = normalise(model.spec.entity)
            self.entity_nouns |= {entity, entity + "s", entity.split()[-1]}
        nouns = sorted({*GENERIC_ID_NOUNS, *self.entity_nouns}, key=len, reverse=True)
        self._noun_before = re.compile(rf"(?:^|\b)(?:{'|'.join(re.escape(n) for n in nouns)})\.?\s*(?:(?:id|number|no\.?|nr\.?|#)\s*)?(?:#\s*)?$")

    def __contains__(self, raw: str) -> bool:
        return _key(raw) in self.index

    def find(self, text: str) -> list[RecordMention]:
        """Record ids in `text` (as typed, any case), with the models that hold each."""
        out: list[RecordMention] = []
        lowered = text.lower()
        for m in _TOKEN.finditer(text):
            hashed, raw = bool(m.group(1)), m.group(2)
            holders = self.index.get(_key(raw))
            if holders is None and not raw.isdigit() and "-" not in raw:
                # "C10321" for a stored "C-10321"
                holders = self.index.get(_key(re.sub(r"^([A-Za-z]+)(\d)", r"\1-\2", raw)))
            if not holders:
                continue
            if raw.isdigit() and not hashed and not self._noun_before.search(lowered[max(0, m.start() - 24):m.start()]):
                # A bare integer is an id only where nothing makes it a quantity.
                listed = bool(out) and bool(set(out[-1].models) & set(holders))  # "1203 and 1877", same model
                if not _bare_id(lowered[:m.start()], lowered[m.end():m.end() + 14], listed):
                    continue
            out.append(RecordMention(raw, next(iter(holders.values())), sorted(holders), m.start(), m.end()))
        if self.loose:
            out = sorted(out + self._loosely(text, out), key=lambda r: r.start)
        return out

    def _loosely(self, text: str, found: list[RecordMention]) -> list[RecordMention]:
        """Ids typed with other separators than stored: "TRB A7 0003" or "trb a7-0003" for "TRB-A7-0003"."""
        words = list(re.finditer(r"[A-Za-z0-9]+", text))
        out: list[RecordMention] = []
        i = 0
        while i < len(words):
            for n in (4, 3, 2):
                run = words[i:i + n]
                if len(run) < n or any(text[a.end():b.start()] not in {" ", "-", "/", "_", ".", " - "}
                                       for a, b in zip(run, run[1:])):
                    continue
                start, end = run[0].start(), run[-1].end()
                if any(start < r.end and end > r.start for r in found + out):
                    continue
                holders = self.loose.get(_loose(text[start:end]))
                if holders:
                    out.append(RecordMention(text[start:end], next(iter(holders.values())), sorted(holders), start, end))
                    i += n - 1
                    break
            i += 1
        return out

    def stored(self, raw: str, model_id: str) -> str | None:
        return self.index.get(_key(raw), {}).get(model_id)


_ID_BEFORE = {"for", "about", "compare", "score", "check", "explain", "predict", "on", "vs", "versus", "of"}
_LIST_BEFORE = {"and", "or", "vs", "versus"}
_QUANTITY_WORDS = {"over", "above", "under", "below", "than", "least", "most", "by", "between", "from", "at", "about",
                   "around", "exactly", "only", "just", "top", "first", "last", "within", "past", "next", "aged", "age"}


def _bare_id(before: str, after: str, listed: bool) -> bool:
    """ "reasons for 77", "compare 1203 and 1877", "why is 4471 high?": a bare integer naming a record."""
    if _UNIT_AFTER.match(after) or re.search(r"[$£€<>=+-]\s*$", before):
        return False
    words = re.findall(r"[a-z#]+|\d+", before)
    if not words:
        return True   # the message starts with it: "4471?"
    prev = words[-1]
    if any(w in _QUANTITY_WORDS for w in words[-3:-1]) and prev not in {"for", "compare"}:
        return False
    if prev in _LIST_BEFORE:
        return listed   # "1203 and 1877" once the first is an id; "between 10 and 20" is not
    if prev in _ID_BEFORE - {"of"} or (prev == "of" and len(words) <= 6):
        return True
    return prev in {"is", "was", "does", "did", "has", "if", "could", "would", "should", "can", "will"} and len(words) <= 5


_SEPARATED = re.compile(r"[A-Za-z].*[-/_. ].*\d|\d.*[-/_. ].*[A-Za-z]")  # letters and digits, with separators


def _loose(raw: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", str(raw)).upper()


def _key(raw: str) -> str:
    return re.sub(r"[\s_]", "", str(raw).strip().lstrip("#").upper())


_NUMBER = re.compile(r"(?<![\w-])[-+]?[$£€]?\d[\d,]*(?:\.\d+)?\s*(?:k|m|bn|%)?(?![\w-])")


class Vocabulary:
    """The words that name tiers, entities, positive labels and models across the registry."""

    def __init__(self, models: Iterable):
        models = list(models)
        self.tier_names = sorted({normalise(t.name) for m in models for t in m.spec.risk_tiers}, key=len, reverse=True)
        self.entity_words: set[str] = set()
        for m in models:
            self.entity_words |= variants_simple(normalise(m.spec.entity))
        self.labels = sorted({normalise(m.spec.positive_label) for m in models}, key=len, reverse=True)
        self.model_ids = sorted({m.id.lower() for m in models}, key=len, reverse=True)
        words = {"positivelabel", "risk"}
        for m in models:
            words |= set(re.findall(r"[a-z]+", normalise(f"{m.spec.name} {m.spec.id} {m.spec.positive_label}")))
        words -= {"the", "of", "a", "an", "and", "for", "model", "in", "on", "to", "by", "with", "is"}
        self._name_words = "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))
        # Short tier names ("A", "B") only count right after a tier word; longer ones anywhere.
        long = [re.escape(t) for t in self.tier_names if len(t) >= 3]
        short = [re.escape(t) for t in self.tier_names if len(t) < 3]
        self._tiers = re.compile(rf"(?<![\w-])(?:{'|'.join(long)})(?![\w-])") if long else None
        self._short_tiers = re.compile(rf"\b(tier|band|grade|class|level|rating) (?:{'|'.join(short)})(?![\w-])") \
            if short else None
        entity = "|".join(sorted((re.escape(w) for w in self.entity_words), key=len, reverse=True))
        # "policy on sharing scores" is a document, "policies over $5k" are records
        self._entities = re.compile(rf"(?<![\w-])(?:{entity})(?![\w-])(?!\s+(?:on|for|about|regarding|says?)\b)") \
            if entity else None
        self._labels = [re.compile(rf"\b{re.escape(label)}\w*") for label in self.labels]
        self._ids = [re.compile(rf"(?<![\w-]){re.escape(i)}(?![\w-])") for i in self.model_ids]
        self._named_model = re.compile(rf"\b(?:(?:{self._name_words})\s+)+(?:risk\s+)?(?:model|one)\b") if words else None

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where `text` names a tier, an entity, a positive label or a model: words that are no input."""
        out: list[tuple[int, int]] = []
        for rx in [self._tiers, self._short_tiers, self._entities, *self._labels, *self._ids, self._named_model]:
            if rx is not None:
                out += [(m.start(), m.end()) for m in rx.finditer(text)]
        return out

    def mask(self, text: str, features=(), values=(), records=()) -> str:
        """`text` (normalised) with mentions replaced by placeholders; spans index into `text`."""
        spans = [(r.start, r.end, " recordid ") for r in records] + \
            [(f.start, f.end, " featurename ") for f in features] + [(v.start, v.end, " valuename ") for v in values]
        out = text
        taken: list[tuple[int, int]] = []
        for start, end, token in sorted(spans, key=lambda s: -s[0]):
            if any(start < e and end > b for b, e in taken) or end <= start:
                continue
            taken.append((start, end))
            out = out[:start] + token + out[end:]
        if self._tiers is not None:
            out = self._tiers.sub(" tiername ", out)
        if self._short_tiers is not None:
            out = self._short_tiers.sub(r"\1 tiername ", out)
        if self._entities is not None:
            out = self._entities.sub(" entityname ", out)
        for rx in self._labels:
            out = rx.sub(" positivelabel ", out)
        for rx in self._ids:
            out = rx.sub(" model ", out)
        if self._named_model is not None:
            # "the transaction fraud model" → "the model": which model is settled already
            out = self._named_model.sub("model", out)
        out = re.sub(r"\b(?:model\s+)+model\b", "model", out)
        return re.sub(r"\s+", " ", out).strip()


def classifier_text(masked: str) -> str:
    """What the operation classifier reads: the masked question with numbers as `num`."""
    out = _NUMBER.sub(" num ", masked)
    return re.sub(r"\s+", " ", out).strip()


def variants_simple(word: str) -> set[str]:
    """A noun and its plural (or singular): "policy" → {"policy", "policies"}."""
    out = {word}
    if word.endswith("y"):
        out.add(word[:-1] + "ies")
    elif word.endswith("s"):
        out.add(word[:-1])
    else:
        out.add(word + "s")
    return out
