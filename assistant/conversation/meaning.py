"""Inputs named in other words, found by meaning.

The lexicon (`lexicon.py`) knows a feature by its name, aliases and short description. People
also say "asked for 10k less" for the amount requested, "brought in a co-signer" for a
co-applicant flag, "work from home" for a remote-work flag. When a question carries a number, a
what-if or a described case that no known word explains, the short phrases of the question that
are still unexplained are compared, with the same local sentence model retrieval uses, against
what `model.yaml` says of each input (its name, each alias, its description). A phrase close
enough to one input, and clearly closer to it than to any other, names that input.

Nothing here is written per model, and the two cut-offs are not tuned on any question set: they
come from `bench/conversation/meaning_calibration.py`, which holds out each alias and everyday
phrase of the ~26 hand-written training schemas (`data/schemas.yaml`) and measures how phrases
that name an input and phrases that name none (the question templates' own words) score.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import Any, Iterable

import numpy as np

from assistant.conversation.lexicon import Mention, normalise

# From `python -m bench.conversation.meaning_calibration` (2026-12-05): a phrase names an input
# when its best cosine is >= MIN_SIMILARITY and beats the next input's by >= MIN_MARGIN. At these
# values 66.6% of the training schemas' held-out aliases and phrases are read as their input, 2.8%
# as another input, and 1.3% of the templates' phrases that name nothing are taken for an input.
MIN_SIMILARITY = 0.50
MIN_MARGIN = 0.10
MAX_WORDS = 4          # most content words in a phrase compared
MAX_SPAN = 7           # most words in all ("citrus hill had been on special": four content words in six)
MAX_PHRASES = 24       # phrases compared per clause (one encoder batch)

# Words that carry the question's shape, never an input: asked about, not named.
_FUNCTION = set("""
a an the this that these those it its it's their his her them they he she we our you your my me i us
what what's whats which who whom whose why how when where would could should will can may might must do does did
is are was were be been being am has have had if then than so and or but of to for in on at by with from as
about into onto over under up down out off per via vs versus instead still just only also too very really
any some all each every no not none either neither both other another more less most least much many few
get gets got getting make makes made let lets say said says suppose assume imagine happen happens happened
tell show give list explain change changed changes tier tiers risk risky score scores scoring model models
prediction predictions predict result outcome chance likely likelihood probability please pls thanks
recordid entityname tiername positivelabel featurename valuename model num one case record records
like e.g. eg etc okay ok now then there here yes yeah someone somebody anyone new hypothetical
""".split())
_TOKEN = re.compile(r"[$£€]?\d[\d,.]*\s?(?:k|m|%)?(?![\w])|[a-z][a-z'-]*")


class FeatureMeaning:
    """Finds inputs named in other words in one model's questions (see the module docstring)."""

    def __init__(self, embedder: Any):
        self.embedder = embedder
        self._glosses: dict[str, tuple[list[str], np.ndarray]] = {}   # model id -> (feature per row, vectors)
        self._phrases: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def glosses(spec: Any) -> list[tuple[str, str]]:
        """(feature, text) pairs: what the model's `model.yaml` says each input is."""
        out: list[tuple[str, str]] = []
        for f in spec.features:
            texts = {normalise(f.name), *(normalise(a) for a in f.aliases or [])}
            if f.description:
                description = normalise(f.description)
                texts.add(description)
                head = re.split(r"\s*[(:,;]\s*", description, maxsplit=1)[0]
                if head and head != description and len(head.split()) >= 1:
                    texts.add(head)   # "area of the largest nuclei (mean of the three largest)" → the first part
            out += [(f.name, t) for t in sorted(texts) if t]
        return out

    def prepare(self, specs: Iterable[Any]) -> None:
        """Embed what each model says of its inputs, all models in one batch (once; new models later)."""
        todo = [(spec.id, self.glosses(spec)) for spec in specs if spec.id not in self._glosses]
        texts = [t for _, pairs in todo for _, t in pairs]
        vectors = np.asarray(self.embedder.embed(texts), dtype=np.float32) if texts else np.zeros((0, 0))
        at = 0
        for model_id, pairs in todo:
            self._glosses[model_id] = ([f for f, _ in pairs], vectors[at:at + len(pairs)])
            at += len(pairs)

    def _model_vectors(self, spec: Any) -> tuple[list[str], np.ndarray]:
        if spec.id not in self._glosses:
            self.prepare([spec])
        return self._glosses[spec.id]

    def _vectors(self, phrases: list[str]) -> np.ndarray:
        with self._lock:
            missing = [p for p in dict.fromkeys(phrases) if p not in self._phrases]
        if missing:
            fresh = self.embedder.embed(missing)
            with self._lock:
                for p, v in zip(missing, fresh):
                    self._phrases[p] = np.asarray(v, dtype=np.float32)
                while len(self._phrases) > 8192:
                    self._phrases.popitem(last=False)
        with self._lock:
            return np.vstack([self._phrases[p] for p in phrases])

    def score(self, spec: Any, phrases: list[str]) -> list[list[tuple[str, float]]]:
        """Per phrase, every input with its best cosine, best first."""
        if not phrases:
            return []
        features, glosses = self._model_vectors(spec)
        sims = self._vectors(phrases) @ glosses.T
        out = []
        for row in sims:
            best: dict[str, float] = {}
            for feature, s in zip(features, row):
                if s > best.get(feature, -1.0):
                    best[feature] = float(s)
            out.append(sorted(best.items(), key=lambda kv: -kv[1]))
        return out

    def find(self, text: str, spec: Any, taken: Iterable[tuple[int, int]] = (), *,
             exclude: Iterable[str] = (), near: Iterable[tuple[int, int]] | None = None) -> list[Mention]:
        """Inputs named by meaning in `text` (normalised), outside the `taken` spans and other than `exclude`;
        with `near` (spans of unexplained numbers), only phrases within a few words of one of them."""
        spans = candidate_phrases(text, list(taken))
        if near is not None:
            near = list(near)
            spans = [p for p in spans if any(p[1] - 30 <= e and p[2] + 30 >= b for b, e in near)]
        if not spans:
            return []
        excluded = set(exclude)
        scored = self.score(spec, [p for p, _, _ in spans])
        picks = []
        for (phrase, start, end), ranked in zip(spans, scored):
            ranked = [(f, s) for f, s in ranked if f not in excluded]
            if not ranked:
                continue
            (feature, best), second = ranked[0], (ranked[1][1] if len(ranked) > 1 else 0.0)
            if best >= MIN_SIMILARITY and best - second >= MIN_MARGIN:
                picks.append((best, feature, start, end, phrase))
        chosen: list[Mention] = []
        named: set[str] = set()
        for best, feature, start, end, phrase in sorted(picks, key=lambda p: -p[0]):
            if feature in named or any(start < m.end and end > m.start for m in chosen):
                continue
            named.add(feature)
            chosen.append(Mention(feature, start, end, phrase))
        return sorted(chosen, key=lambda m: m.start)


def candidate_phrases(text: str, taken: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
    """Short runs of the question's unexplained words: (phrase, start, end), at most MAX_PHRASES.

    A run stops at punctuation and at an already-explained span. A phrase has at most MAX_WORDS
    content words (MAX_SPAN words in all), starts and ends on a content word or a number, and names something (a content word);
    numbers stay in the phrase ("asked for 10k less" is money), but the span reported is that of its
    words, so the number is still read as the input's value.
    """
    tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    runs: list[list[tuple[str, int, int]]] = [[]]
    for i, (word, start, end) in enumerate(tokens):
        prev_end = tokens[i - 1][2] if i else 0
        if any(start < e and end > b for b, e in taken):
            runs.append([])
            continue
        if re.search(r"[,;:.!?()\"]", text[prev_end:start]):
            runs.append([])
        runs[-1].append((word, start, end))
    out: list[tuple[str, int, int]] = []
    for run in runs:
        edges = [i for i, (w, _, _) in enumerate(run) if w not in _FUNCTION and (len(w) >= 3 or w[0] in _DIGITS)]
        for a in edges:
            for b in edges:
                if b < a or b - a + 1 > MAX_SPAN or sum(a <= e <= b for e in edges) > MAX_WORDS:
                    continue
                words = [t for t in run[a:b + 1] if t[0] not in _FUNCTION and t[0][0] not in _DIGITS and len(t[0]) >= 3]
                if words:
                    out.append((" ".join(w for w, _, _ in run[a:b + 1]), words[0][1], words[-1][2]))
    # Longer phrases first (they carry more meaning), then by position; capped for one encoder batch.
    out.sort(key=lambda p: (-len(p[0].split()), p[1]))
    return out[:MAX_PHRASES]


_DIGITS = set("$£€0123456789")
