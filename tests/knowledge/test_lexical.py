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
