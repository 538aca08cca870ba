"""What words refer to which model, feature and category, built from each model's `model.yaml`.

Nothing here is written per model: names, aliases, descriptions, units and category values are
all a new model needs to be understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.errors import _edit_distance
from assistant.models.registry import Model, Registry
from assistant.models.spec import Feature

_MEASURE_WORDS = {"usd", "km", "days", "day", "months", "month", "years", "year", "hours", "hour", "pct", "percent",
                  "24h", "count", "number", "num", "amount", "flag", "is", "has", "in"}
_GENERIC = {"risk", "model", "the", "of", "a", "an", "and", "for", "card", "customer", "score", "scoring",
            "prediction", "predictor", "classifier", "rate", "probability", "likelihood", "propensity"}


# Words every model's users say; they never name one model.
GENERIC_WORDS = _GENERIC | {"scores", "rating", "ratings", "tier", "tiers", "band", "bands", "rate", "rates", "level",
                            "grade", "status", "flag", "flags", "amount", "number", "total", "type", "value"}

_BRITISH = {"cheque": "check", "cheques": "checks", "jewellery": "jewelry", "jewellers": "jewelry", "jeweller": "jewelry",
            "behaviour": "behavior", "analyse": "analyze", "organisation": "organization", "licence": "license",
            "favour": "favor", "colour": "color", "summarise": "summarize", "modelling": "modeling"}
_UNITS = {"zero": 0, "nil": 0, "none": 0, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
          "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
          "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
          "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "a hundred": 100, "a thousand": 1000,
          "a dozen": 12, "dozen": 12}
_AFTER_ONE = r"(?:more|fewer|less|extra|additional|prior|previous|missed|late|support|product|claim|call|payment|month|year|day)"


# One pattern for every written number, longest first ("a hundred" before "hundred"), compiled once.
_UNIT_WORDS = re.compile(rf"(?<![\w-])({'|'.join(sorted(map(re.escape, _UNITS), key=len, reverse=True))})(?![\w-])"
                         r"(?!\s+of (?:the|them|those|these)\b)")


def _numbers_in_words(text: str) -> str:
    """ "twelve" → 12, "half a grand" → 500, "2 grand" → 2000, "one more" → 1 (but "one-year" and "that one" stay)."""
    text = re.sub(r"\bhalf a grand\b", "500", text)
    text = re.sub(r"\b(\d+(?:\.\d+)?)\s*grand\b", lambda m: str(int(float(m.group(1)) * 1000)), text)
    text = re.sub(r"\ba grand\b", "1000", text)
    text = _UNIT_WORDS.sub(lambda m: str(_UNITS[m.group(1)]), text)
    text = re.sub(rf"(?<![\w-])one(?=\s+{_AFTER_ONE})", "1", text)
    text = re.sub(r"\b(at least|at most|more than|less than|fewer than|over|under|exactly|only|just|than) one\b(?!-)", r"\1 1", text)
    return text


def normalise(text: str) -> str:
    """Lower case, unify dashes, quotes, spelling and written numbers: the form all matching works on."""
    text = text.lower().replace("’", "'").replace("–", "-").replace("—", "-")
    # Codes joined by slashes or underscores with a digit in them ("ten/2024/0009", "adm_2025_13") are
    # ids: kept whole, never split or read as words ("ten" → 10). Other slashes separate words.
    kept: list[str] = []

    def keep(m: re.Match) -> str:
        parts = re.split(r"[/_]", m.group())
        if len(parts) < 3 and not all(re.search(r"\d", p) for p in parts):
            return m.group()  # "$500/month", "km/h": a rate, not a code
        kept.append(m.group())
        return f"\x00{len(kept) - 1}\x00"

    text = _CODE.sub(keep, text)
    text = re.sub(r"[_/]", " ", text)
    text = re.sub(r"[a-z]+", lambda m: _BRITISH.get(m.group(), m.group()), text)
    text = _numbers_in_words(text)
    text = re.sub(r"\b(\d{1,2}) ?(?:cents?|c)\b", lambda m: f"{int(m.group(1)) / 100:g}", text)  # "20 cents" → 0.2
    text = re.sub(r"\b(over|under)-(\d+)s\b", r"\1 \2", text)  # "the over-50s" → "the over 50"
    text = re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], text)
    return re.sub(r"\s+", " ", text).strip()


_CODE = re.compile(r"(?<![\w/])(?=[\w/]*\d)[a-z0-9]+(?:[/_][a-z0-9]+)+(?![\w/])")


def _variants(phrase: str) -> set[str]:
    phrase = normalise(phrase)
    out = {phrase, phrase.replace("-", " "), phrase.replace(" ", "-")}
    for p in list(out):
        if p.endswith("y") and len(p) > 3 and p[-2] not in "aeiou":
            out.add(p[:-1] + "ies")
        if p.endswith("ies"):
            out.add(p[:-3] + "y")
        elif p.endswith("s") and not p.endswith("ss") and len(p) > 4:
            out.add(p[:-1])
        elif not p.endswith("s"):
            out.add(p + "s")
    return {p for p in out if p}


@dataclass
class Mention:
    feature: str
    start: int
    end: int
    surface: str
    negated: bool = False


@dataclass
class ValueMention:
    feature: str
    value: object
    start: int
    end: int
    negated: bool = False


@dataclass
class ModelLexicon:
    model: Model
    feature_forms: dict[str, set[str]] = field(default_factory=dict)
    value_forms: dict[str, list[tuple[str, object]]] = field(default_factory=dict)
    name_tokens: set[str] = field(default_factory=set)
    negated_forms: dict[str, set[str]] = field(default_factory=dict)  # words meaning a flag is off
    _patterns: list | None = field(default=None, repr=False)
    _value_patterns: list | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        return self.model.id

    def _feature_patterns(self) -> list[tuple[str, str, re.Pattern, re.Pattern | None, re.Pattern]]:
        """Compiled once per lexicon: (feature, form, as written, "card-not-present" reading, negated reading:
        "non-" before the form, or an everyday opposite such as "the women" for `male`)."""
        if self._patterns is None:
            out = []
            for name, forms in self.feature_forms.items():
                for form in sorted(forms):
                    # "years with bank" also reads "years with the bank"
                    # "student-faculty ratio" is "student faculty ratio"
                    pattern = r"(?:\s+|-)(?:the\s+|a\s+|an\s+)?".join(re.escape(w) for w in form.split(" "))
                    split = None
                    if " " in form:  # "card not present", "card-not-present"
                        first, rest = form.split(" ", 1)
                        split = re.compile(rf"(?<![\w-]){re.escape(first)}[ -]not[ -]{re.escape(rest)}(?![\w-])")
                    out.append((name, form, re.compile(rf"(?<![\w-]){pattern}(?![\w-])"), split,
                                re.compile(rf"(?<![\w-])non[ -]?{pattern}(?![\w-])")))
            for name, forms in self.negated_forms.items():
                for form in sorted(forms):
                    out.append((name, form, None, None, re.compile(rf"(?<![\w-]){re.escape(form)}(?![\w-])")))
            self._patterns = out
        return self._patterns

    def find_features(self, text: str) -> list[Mention]:
        """Feature mentions in normalised text, longest first, without overlaps."""
        hits: list[Mention] = []
        for name, form, rx, split, non in self._feature_patterns():
            if form.split(" ", 1)[0] not in text:
                continue  # cheap pre-check: the form's first word is not even in the text
            for m in rx.finditer(text) if rx is not None else ():
                hits.append(Mention(name, m.start(), m.end(), form))
            if split is not None:
                for m in split.finditer(text):
                    hits.append(Mention(name, m.start(), m.end(), form, negated=True))
            # "non-smokers", "non smoker": the feature's negation
            for m in non.finditer(text):
                hits.append(Mention(name, m.start(), m.end(), form, negated=True))
        if not hits:
            hits = self._fuzzy(text)
        hits.sort(key=lambda h: (-(h.end - h.start), h.start))
        chosen: list[Mention] = []
        for h in hits:
            if all(h.end <= c.start or h.start >= c.end for c in chosen):
                chosen.append(h)
        return sorted(chosen, key=lambda h: h.start)

    def _fuzzy(self, text: str) -> list[Mention]:
        """One-typo matches of single-word feature forms ("balence")."""
        out = []
        for m in re.finditer(r"[a-z][a-z]{4,}", text):
            word = m.group()
            for name, forms in self.feature_forms.items():
                for form in forms:
                    if " " not in form and len(form) >= 5 and word != form and _edit_distance(word, form, 1) <= 1:
                        out.append(Mention(name, m.start(), m.end(), form))
        return out

    def find_values(self, text: str) -> list[ValueMention]:
        """Category values named in the text ("West", "month-to-month", "online")."""
        if self._value_patterns is None:
            self._value_patterns = [(name, form, value, re.compile(rf"(?<![\w-]){re.escape(form)}(?![\w-])"))
                                    for name, forms in self.value_forms.items() for form, value in forms]
        out: list[ValueMention] = []
        for name, form, value, rx in self._value_patterns:
            if form not in text:
                continue
            for m in rx.finditer(text):
                before = text[max(0, m.start() - 12):m.start()]
                negated = bool(_NEGATED_VALUE.search(before))
                out.append(ValueMention(name, value, m.start(), m.end(), negated))
        out.sort(key=lambda v: (-(v.end - v.start), v.start))
        chosen: list[ValueMention] = []
        for v in out:
            if all(v.end <= c.start or v.start >= c.end for c in chosen):
                chosen.append(v)
        return sorted(chosen, key=lambda v: v.start)


_NEGATED_VALUE = re.compile(r"\b(not|non|no|never|isn't|aren't|without|outside|except|excluding|other than|not in|apart from)\s*-?\s*(the |a |an )?$")
# Everyday opposites of yes/no inputs: "the women" for `male`, "public colleges" for `is_private`.
_OPPOSITES = {"male": ("women", "woman", "female", "females"), "female": ("men", "man", "male", "males"),
              "private": ("public",), "public": ("private",), "married": ("single", "unmarried"),
              "employed": ("unemployed", "jobless"), "unemployed": ("employed",), "remote": ("on-site", "onsite", "in-office"),
              "foreign": ("domestic",), "domestic": ("foreign", "international"), "online": ("offline", "in-store"),
              "urban": ("rural",), "rural": ("urban",), "owner": ("renter", "renters", "tenant", "tenants"),
              "homeowner": ("renter", "renters", "tenant", "tenants")}
_GROUP_NOUNS = {"male": ("men", "man", "males"), "female": ("women", "woman", "females"),
                "married": ("married people",), "single": ("singles",)}
_SYNONYMS = {"prior": ("previous", "past", "earlier"), "number": ("count",), "amount": ("size", "value")}


def _feature_forms(feature: Feature, reserved: set[str]) -> set[str]:
    forms: set[str] = set()
    words = normalise(feature.name).split()
    forms |= _variants(" ".join(words))
    trimmed = [w for w in words if w not in _MEASURE_WORDS]
    if trimmed and trimmed != words:
        # "tenure months" is also "tenure"; but "claim amount" is not "claims" when that names a model
        forms |= {f for f in _variants(" ".join(trimmed)) if f not in reserved}
    for alias in feature.aliases:
        forms |= _variants(alias)
    if feature.description and len(feature.description.split()) <= 3:
        forms |= _variants(feature.description)
    if _is_flag(feature):
        for word in list(forms):  # a yes/no input about a person is also its group's noun: "male" → "the men"
            forms |= set(_GROUP_NOUNS.get(word, ()))
    for form in list(forms):  # "prior claims" also reads "previous claims"
        for word, alternatives in _SYNONYMS.items():
            if re.search(rf"\b{word}\b", form) and " " in form:
                forms |= {re.sub(rf"\b{word}\b", alt, form) for alt in alternatives}
    return {f for f in forms if len(f) >= 3}


def _is_flag(feature: Feature) -> bool:
    """A yes/no input: boolean, or a categorical whose values are yes/no, true/false or 1/0."""
    return feature.type == "boolean" or bool(feature.values) and \
        {str(v).lower() for v in feature.values} <= {"yes", "no", "true", "false", "y", "n", "0", "1"}


def _value_forms(feature: Feature) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    if feature.type != "categorical":
        return out
    values = [str(v) for v in feature.values or []]
    yes_no = {v.lower() for v in values} <= {"yes", "no", "true", "false", "y", "n"}
    if yes_no:
        return out  # "Yes"/"No" alone carry no meaning; the feature's own name does (see planner)
    for value, original in zip(values, feature.values or []):
        for form in _variants(value):
            if len(form) >= 2:
                out.append((form, original))
    return out


def build(registry: Registry) -> dict[str, ModelLexicon]:
    """A lexicon per registered model."""
    lexicons: dict[str, ModelLexicon] = {}
    name_counts: dict[str, int] = {}
    token_sets = {}
    for model in registry:
        spec = model.spec
        tokens = set(re.findall(r"[a-z]+", normalise(f"{spec.name} {spec.id} {spec.positive_label}")))
        tokens -= _GENERIC
        token_sets[spec.id] = tokens
        for t in tokens:
            name_counts[t] = name_counts.get(t, 0) + 1
    reserved = set(name_counts)
    for model in registry:
        reserved |= _variants(model.spec.entity) | set(re.findall(r"[a-z]+", normalise(model.spec.id)))
    for model in registry:
        lex = ModelLexicon(model)
        for feature in model.spec.features:
            lex.feature_forms[feature.name] = _feature_forms(feature, reserved)
            if _is_flag(feature):
                words = {w for form in lex.feature_forms[feature.name] for w in form.split()}
                opposite = {o for w in words for o in _OPPOSITES.get(w, ())} - words
                if opposite:
                    lex.negated_forms[feature.name] = opposite
            forms = _value_forms(feature)
            if forms:
                lex.value_forms[feature.name] = forms
        lex.name_tokens = {t for t in token_sets[model.id] if name_counts[t] == 1 and len(t) >= 4}
        lexicons[model.id] = lex
    return lexicons
