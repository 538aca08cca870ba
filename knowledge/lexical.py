"""Lexical (BM25) search over chunks, with a tokenizer that keeps identifiers whole."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rank_bm25 import BM25Okapi

# Words joined by . - _ / stay one token ("aml.t0024.002", "c-10293", "inc-2025-004"). Ids stay
# whole (their parts, like "aml" or "2025", would match everything); plain compounds are also
# split, so "membership-inference" finds "membership inference".
_TOKEN = re.compile(r"[a-z0-9]+(?:[._\-/][a-z0-9]+)*")
_STOPWORDS = frozenset(
    """a about an and are as at be been but by can could did do does for from had has have how i if in into is it
    its me my no not of on or our please should so tell than that the their them then there these they this those
    to was we were what when where which who why will with would you your""".split()
)


def _stem(word: str) -> str:
    """Light plural folding only ("incidents" -> "incident", "policies" -> "policy"); ids untouched."""
    if any(c.isdigit() for c in word) or len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str, *, query: bool = False) -> list[str]:
    """Lower-cased tokens for BM25: identifiers whole, other compounds whole and in parts, stopwords dropped.

    In documents a dotted id also counts as its parent, so the query "AML.T0024" finds
    "AML.T0024.002"; a query's own ids are not widened, so "AML.T0024.002" stays specific.
    """
    tokens: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        word = match.group(0)
        parts = re.split(r"[._\-/]", word)
        if len(parts) == 1:
            if word not in _STOPWORDS:
                tokens.append(_stem(word))
        elif is_identifier(word):
            tokens.append(word)
            if not query and "." in word and len(parts) > 2:
                tokens.append(".".join(parts[:-1]))
        else:
            tokens.append(word)
            tokens.extend(_stem(p) for p in parts if p and p not in _STOPWORDS)
    return tokens


def is_identifier(token: str) -> bool:
    """True for tokens like aml.t0024, c-10293 or inc-2025-004: letters and digits joined up."""
    return bool(re.search(r"[a-z]", token) and re.search(r"\d", token))


def identifiers(text: str) -> list[str]:
    """The identifier tokens in `text` (see `is_identifier`)."""
    return [t for t in tokenize(text, query=True) if is_identifier(t)]


class LexicalIndex:
    """BM25Okapi over a fixed list of texts; `top(query, n, allowed)` ranks only allowed positions."""

    def __init__(self, texts: Sequence[str]):
        self.size = len(texts)
        corpus = [tokenize(t) or ["\x00"] for t in texts]  # BM25 cannot take an empty document
        self._bm25 = BM25Okapi(corpus) if corpus else None

    def top(self, query: str, n: int, allowed: Sequence[bool] | None = None) -> list[tuple[int, float]]:
        """(position, score) of the best `n` texts that contain a query term, best first."""
        terms = tokenize(query, query=True)
        if self._bm25 is None or not terms:
            return []
        scores = self._bm25.get_scores(terms)
        # Rank every text that contains a query term; in a tiny corpus a real match can score 0.
        term_set = set(terms)
        ranked = [
            (i, float(s))
            for i, s in enumerate(scores)
            if (allowed is None or allowed[i]) and not term_set.isdisjoint(self._bm25.doc_freqs[i])
        ]
        ranked.sort(key=lambda pair: (-pair[1], pair[0]))
        return ranked[:n]
