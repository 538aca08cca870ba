"""Lexical (BM25) search over chunks, with a tokenizer that keeps identifiers whole."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import numpy as np
from rank_bm25 import BM25Okapi

from knowledge.ranking import top_positions

# Words joined by . - _ / stay one token ("aml.t0024.002", "c-10293", "inc-2025-004"). Ids stay
# whole (their parts, like "aml" or "2025", would match everything); plain compounds are also
# split, so "membership-inference" finds "membership inference".
_TOKEN = re.compile(r"[a-z0-9]+(?:[._\-/][a-z0-9]+)*")
_STOPWORDS = frozenset(
    """a about an and are as at be been but by can could did do does for from had has have how i if in into is it
    its me my no not of on or our please should so tell than that the their them then there these they this those
    to was we were what when where which who why will with would you your""".split()
)
_JOINERS = re.compile(r"[._\-/]")


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
    return [token for word in _TOKEN.findall(text.lower()) for token in _word_tokens(word, query)]


@functools.lru_cache(maxsize=1 << 16)
def _word_tokens(word: str, query: bool) -> tuple[str, ...]:
    """The tokens of one matched word (memoised: the same words recur in every text and snippet)."""
    parts = _JOINERS.split(word)
    if len(parts) == 1:
        return () if word in _STOPWORDS else (_stem(word),)
    if is_identifier(word):
        if not query and "." in word and len(parts) > 2:
            return (word, ".".join(parts[:-1]))
        return (word,)
    return (word, *(_stem(p) for p in parts if p and p not in _STOPWORDS))


def is_identifier(token: str) -> bool:
    """True for tokens like aml.t0024, c-10293 or inc-2025-004: letters and digits joined up."""
    return bool(re.search(r"[a-z]", token) and re.search(r"\d", token))


def identifiers(text: str) -> list[str]:
    """The identifier tokens in `text` (see `is_identifier`)."""
    return [t for t in tokenize(text, query=True) if is_identifier(t)]


class LexicalIndex:
    """BM25 over a fixed list of texts; `top(query, n, allowed)` ranks only allowed positions.

    Scores are rank_bm25's BM25Okapi (k1=1.5, b=0.75, idf floored at 0.25 x the mean idf), to the
    bit: BM25Okapi computes the idf and lengths once, and each (term, text) weight is then stored in
    a term-by-text sparse matrix (CSC layout: one slice of text positions and weights per term), so
    a query adds up a few slices instead of looping over every text for every term.
    """

    def __init__(self, texts: Sequence[str]):
        self.size = len(texts)
        self._columns: dict[str, int] = {}
        self._starts = np.zeros(1, dtype=np.int64)
        self._rows = np.zeros(0, dtype=np.int64)
        self._weights = np.zeros(0, dtype=np.float64)
        if not texts:
            return
        corpus = [tokenize(t) or ["\x00"] for t in texts]  # BM25 cannot take an empty document
        bm25 = BM25Okapi(corpus)
        k1, b = bm25.k1, bm25.b
        norm = k1 * (1 - b + b * np.array(bm25.doc_len) / bm25.avgdl)  # as BM25Okapi.get_scores has it
        rows: list[int] = []
        cols: list[int] = []
        freqs: list[int] = []
        for row, counts in enumerate(bm25.doc_freqs):
            for term, count in counts.items():
                rows.append(row)
                cols.append(self._columns.setdefault(term, len(self._columns)))
                freqs.append(count)
        row_arr, col_arr, tf = np.array(rows), np.array(cols), np.array(freqs)
        idf = np.array([bm25.idf[term] for term in self._columns])  # insertion order = column order
        weights = idf[col_arr] * (tf * (k1 + 1) / (tf + norm[row_arr]))
        order = np.argsort(col_arr, kind="stable")
        self._rows, self._weights = row_arr[order], weights[order]
        self._starts = np.concatenate(([0], np.cumsum(np.bincount(col_arr, minlength=len(self._columns)))))

    def scores(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """BM25 score of every text for `query`, and which texts contain at least one query term."""
        scores = np.zeros(self.size)
        matched = np.zeros(self.size, dtype=bool)
        for term in tokenize(query, query=True):  # a repeated query term counts again, as in BM25Okapi
            col = self._columns.get(term)
            if col is None:
                continue
            lo, hi = self._starts[col], self._starts[col + 1]
            rows = self._rows[lo:hi]
            scores[rows] += self._weights[lo:hi]
            matched[rows] = True
        return scores, matched

    def top(self, query: str, n: int, allowed: Sequence[bool] | np.ndarray | None = None) -> list[tuple[int, float]]:
        """(position, score) of the best `n` allowed texts that contain a query term, best first."""
        if not self.size:
            return []
        scores, matched = self.scores(query)
        # Rank every text that contains a query term; in a tiny corpus a real match can score 0.
        if allowed is not None:
            matched &= np.asarray(allowed, dtype=bool)
        return [(i, float(scores[i])) for i in top_positions(scores, n, np.flatnonzero(matched))]
