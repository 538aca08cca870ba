"""The BM25 tokenizer keeps identifiers whole, and the index ranks only what it is allowed to."""

from __future__ import annotations

from knowledge.lexical import LexicalIndex, tokenize


def test_identifiers_are_single_tokens():
    tokens = tokenize("Customer C-10293 hit AML.T0024.002 (see INC-2025-004).")
    assert "c-10293" in tokens and "inc-2025-004" in tokens
    assert "aml.t0024.002" in tokens and "aml.t0024" in tokens  # a sub-technique also counts as its parent
    assert "aml" not in tokens and "2025" not in tokens  # id fragments would match everything


def test_words_are_lowercased_stripped_and_plurals_folded():
    assert tokenize("The Policies, the incidents; membership-inference!") == [
        "policy",
        "incident",
        "membership-inference",
        "membership",
        "inference",
    ]


def test_index_ranks_matches_and_respects_the_allowed_mask():
    index = LexicalIndex(["credit card default risk", "churn of subscribers", "C-10293 is a credit customer"])
    assert sorted(i for i, _ in index.top("credit", 5)) == [0, 2]
    assert [i for i, _ in index.top("credit", 5, allowed=[False, True, True])] == [2]
    assert index.top("c-10293", 5)[0][0] == 2
    assert index.top("nothing matches this", 5) == []
    assert LexicalIndex([]).top("x", 5) == []


def test_scores_are_exactly_rank_bm25_okapi():
    from rank_bm25 import BM25Okapi

    texts = [
        "credit card default risk model card; the default model ranks credit risk",
        "churn of subscribers in January after renewals",
        "C-10293 is a credit customer with a high balance",
        "",  # an empty text is indexed and never matches
        "membership-inference attacks against the churn model, and model extraction",
        "risk tiers: a High tier asks for action; a Medium tier for review",
    ]
    reference = BM25Okapi([tokenize(t) or ["\x00"] for t in texts])
    index = LexicalIndex(texts)
    # repeated terms, unknown terms, a term in most texts (its idf is floored), compounds and ids
    for query in ("credit risk", "model model churn", "unknown words only", "the membership-inference", "C-10293 risk"):
        scores, matched = index.scores(query)
        assert scores.tolist() == reference.get_scores(tokenize(query, query=True)).tolist(), query
        terms = set(tokenize(query, query=True))
        assert matched.tolist() == [bool(terms & set(tokenize(t))) for t in texts], query


def test_ties_keep_index_order_and_the_cut_is_exact():
    index = LexicalIndex(["alpha beta", "alpha beta", "alpha gamma", "alpha beta"])
    assert [i for i, _ in index.top("beta", 2)] == [0, 1]
    assert [i for i, _ in index.top("beta", 10)] == [0, 1, 3]
