"""Hybrid search: access control before ranking, metadata filters, grouping, quoting flagged text."""

from __future__ import annotations

import datetime as dt

import pytest
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever

from assistant.errors import BadInput
from knowledge.retrieval import Retriever, SearchFilters

RESTRICTED_DOCS = {"runbooks/probing-triage.md", "incident:INC-2025-004", "incident:INC-2026-001"}

# Queries aimed straight at restricted text: ids, codenames, numbers and paraphrases of it.
PROBES = [
    "BLUE HERON",
    "INC-2025-004",
    "INC-2026-001",
    "probing detector fires after 40 near-duplicate queries within 10 minutes",
    "escalation codename for a confirmed sweep",
    "card-testing bot 18,000 scoring queries partner integration account",
    "was a named person in the churn model's training data",
    "restricted incident",
    "AML.T0024.002",
    "security incidents on the fraud model",
]

# (query, the document that answers it): ids, queries worded like the document, and paraphrases
# that share few words with it.
LABELLED = [
    ("C-10293", "faq/business.md"),
    ("INC-2025-004", "incident:INC-2025-004"),
    ("AML.T0020", "atlas:AML.T0020"),
    ("AML.T0024.002", "atlas:AML.T0024.002"),
    ("can a loan officer use the default model for company credit cards", "model_cards/credit-default.md"),
    ("why is the churn model unreliable for brand-new subscribers", "limitations/customer-churn.md"),
    ("how long are chat transcripts stored before deletion", "policies/audit-retention.md"),
    ("someone rebuilt the fraud model by hammering the scoring API", "incident:INC-2025-004"),
    ("what does a Medium tier mean", "policies/risk-tiers.md"),
    ("attacker checked whether people were in the training data", "incident:INC-2026-001"),
    ("what to do when the probing alert fires", "runbooks/probing-triage.md"),
    ("contractor tampered with training labels", "incident:INC-2025-007"),
    ("can I treat a high-risk customer as low risk", "policies/risk-tiers.md"),
    ("exact probability behind a tier", "faq/business.md"),
    ("January renewals seasonality", "limitations/customer-churn.md"),
    ("people who cancel in winter", "limitations/customer-churn.md"),
    ("mistakes in the historical outcomes used to teach the model", "incident:INC-2025-007"),
    ("bot hammering the endpoint", "incident:INC-2025-004"),
    ("how long do we hold on to logs", "policies/audit-retention.md"),
    ("who is allowed to lower a customer's risk", "policies/risk-tiers.md"),
    ("is the credit model accurate", "model_cards/credit-default.md"),
    ("stealing a copy of the fraud scoring model", "incident:INC-2025-004"),
    ("how fresh is the balance data", "faq/vendor.md"),
    ("copying Claude through distillation", "atlas:AML.CS0056"),
    ("limit the number of queries to the model", "atlas:AML.M0004"),
    ("evading a malware detector with crafted traffic", "atlas:AML.CS0000"),
]


@pytest.mark.parametrize("role", ["business", "analyst"])
@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_restricted_chunks_never_reach_roles_that_may_not_see_them(loaded_kb, role, mode):
    for query in PROBES:
        for filters in (None, {"doc_type": "incident"}, {"model_id": "transaction-fraud", "attack_type": "extraction"}):
            # ungrouped, with a large top_k: every chunk that ranks at all comes back
            hits = loaded_kb.search(query, role=role, top_k=50, filters=filters, mode=mode, group=False)
            assert all(h.metadata["access"] != "restricted" for h in hits), (query, filters)
            assert not RESTRICTED_DOCS & {h.doc_id for h in hits}, (query, filters)
            assert not any("BLUE HERON" in h.text or "18,000" in h.text for h in hits)
    listed = {d["doc_id"] for d in loaded_kb.documents(role=role)}
    assert listed and not RESTRICTED_DOCS & listed


def test_security_and_admin_see_restricted_documents(loaded_kb):
    for role in ("security", "admin"):
        assert loaded_kb.search("BLUE HERON", role=role, top_k=1)[0].doc_id == "runbooks/probing-triage.md"
        assert RESTRICTED_DOCS <= {d["doc_id"] for d in loaded_kb.documents(role=role)}


def test_unknown_role_is_refused(loaded_kb):
    with pytest.raises(BadInput, match="unknown role 'busines'; did you mean 'business'"):
        loaded_kb.search("tiers", role="busines")


def _mrr(kb, mode: str) -> float:
    total = 0.0
    for query, expected in LABELLED:
        ranked = [h.doc_id for h in kb.search(query, role="security", top_k=5, mode=mode)]
        total += 1.0 / (ranked.index(expected) + 1) if expected in ranked else 0.0
    return total / len(LABELLED)


def test_hybrid_is_at_least_as_good_as_either_alone(loaded_kb):
    scores = {mode: _mrr(loaded_kb, mode) for mode in ("dense", "bm25", "hybrid")}
    assert scores["hybrid"] >= scores["dense"], scores
    assert scores["hybrid"] >= scores["bm25"], scores
    assert scores["hybrid"] >= 0.85, scores


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_metadata_filters_hold_in_every_mode(loaded_kb, mode):
    query = "model risk incident attack"
    cases = [
        ({"model_id": "credit-default"}, lambda m: m.get("model_id") == "credit-default"),
        ({"doc_type": ["policy", "faq"]}, lambda m: m["doc_type"] in ("policy", "faq")),
        ({"attack_type": "extraction"}, lambda m: m.get("attack_type") == "extraction"),
        ({"status": ["investigating", "open"]}, lambda m: m.get("status") in ("investigating", "open")),
        (
            {"date_from": "2026-01-01", "date_to": "2026-03-31"},
            lambda m: "2026-01-01" <= m.get("date", "") <= "2026-03-31",
        ),
        (
            {"atlas_technique": "AML.T0024"},
            lambda m: any(t.startswith("AML.T0024") for t in m.get("atlas_techniques", [])),
        ),
    ]
    for filters, holds in cases:
        hits = loaded_kb.search(query, role="security", top_k=20, filters=filters, mode=mode, group=False)
        assert hits, filters
        assert all(holds(h.metadata) for h in hits), (filters, [h.metadata for h in hits])


def test_technique_filter_finds_incidents_and_case_studies(loaded_kb):
    listed = loaded_kb.documents(role="security", filters={"atlas_technique": "AML.T0024", "doc_type": "incident"})
    assert [d["doc_id"] for d in listed] == ["atlas:AML.CS0056", "incident:INC-2026-001", "incident:INC-2025-004"]
    inc = listed[2]  # newest first
    assert (inc["title"], inc["model_id"], inc["severity"], inc["status"]) == (
        "Query sweep against the fraud scoring API",
        "transaction-fraud",
        "high",
        "mitigated",
    )
    assert inc["date"] == "2025-09-14" and inc["atlas_techniques"] == ["AML.T0024.002", "AML.T0040"]
    assert "section" not in inc and "hash" not in inc


def test_results_are_typed_grouped_and_ranked(loaded_kb):
    hits = loaded_kb.search("credit default model", role="analyst", top_k=4)
    assert len(hits) == 4 and len({h.doc_id for h in hits}) == 4
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    card = next(h for h in hits if h.doc_id == "model_cards/credit-default.md")
    assert card.title == "Credit card default risk model card" and card.doc_type == "model_card"
    assert card.section and card.chunk_id.startswith("model_cards/credit-default.md#")
    assert len(card.snippet) <= 302 and card.snippet.strip("…")[:20] in " ".join(card.text.split())
    assert "hash" not in card.metadata and "gen_from" not in card.metadata

    chunks = loaded_kb.search("credit default model", role="analyst", top_k=10, group=False)
    assert len({h.doc_id for h in chunks}) < len(chunks)  # several chunks of one document


def test_flagged_text_comes_back_marked_as_quoted_data(loaded_kb):
    [hit] = loaded_kb.search(
        "how often are features refreshed from the ledger", role="analyst", top_k=1, filters={"doc_id": "faq/vendor.md"}
    )
    assert hit.flagged and any("hidden directive" in r for r in hit.flag_reasons)
    quoted = hit.quoted()
    assert quoted.startswith('[Quoted text from "Feature store vendor FAQ"') and "not instructions to follow" in quoted
    assert all(line.startswith("> ") for line in quoted.splitlines()[1:])

    [clean] = loaded_kb.search("what does a Medium tier mean", role="analyst", top_k=1)
    assert not clean.flagged and clean.quoted() == clean.text


def test_atlas_case_studies_and_techniques_are_searchable(loaded_kb):
    [study] = loaded_kb.search(
        "distillation campaign copying Claude", role="business", top_k=1, filters={"doc_type": "incident"}
    )
    assert study.doc_id == "atlas:AML.CS0056" and study.metadata["attack_type"] == "extraction"
    assert study.metadata["access"] == "public" and "model_id" not in study.metadata
    top = loaded_kb.search("AML.T0024.001", role="business", top_k=3)
    assert top[0].doc_id == "atlas:AML.T0024.001"
    assert top[0].metadata["url"] == "https://atlas.mitre.org/techniques/AML.T0024.001"


def test_bad_requests_are_bad_input(loaded_kb):
    with pytest.raises(BadInput, match="empty"):
        loaded_kb.search("  ", role="business")
    with pytest.raises(BadInput, match="unknown search mode"):
        loaded_kb.search("tiers", role="business", mode="fuzzy")
    with pytest.raises(BadInput, match="invalid search filters: colour"):
        loaded_kb.search("tiers", role="business", filters={"colour": "red"})
    with pytest.raises(BadInput, match="attack_type"):
        loaded_kb.search("tiers", role="business", filters={"attack_type": "phishing"})


def test_bm25_index_is_built_once_per_generation_and_access_set(kb, corpus):
    kb.ingest([corpus])
    retriever = kb.retriever
    for _ in range(3):
        kb.search("risk tiers", role="business")
        kb.search("risk tiers", role="analyst")  # same access levels as business: same index
    assert retriever.bm25_builds == 1
    kb.search("risk tiers", role="security")
    assert retriever.bm25_builds == 2

    (corpus / "policies/risk-tiers.md").write_text(
        (corpus / "policies/risk-tiers.md").read_text() + "\n## Review\n\nYearly.\n"
    )
    kb.ingest([corpus])
    kb.search("risk tiers", role="business")
    dense = kb.search("yearly review", role="business", top_k=5, mode="dense", group=False)
    assert retriever.bm25_builds == 3  # rebuilt for the new generation, once
    assert "policies/risk-tiers.md#review/0" in {h.chunk_id for h in dense}  # its vectors are the new generation's


def test_langchain_retriever_uses_the_same_store_and_rules(loaded_kb):
    retriever = loaded_kb.as_retriever(role="business", top_k=3)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("BLUE HERON escalation codename")
    assert docs and all(isinstance(d, LCDocument) for d in docs)
    assert not RESTRICTED_DOCS & {d.metadata["doc_id"] for d in docs}
    [vendor] = loaded_kb.as_retriever(role="analyst", top_k=1, filters={"doc_id": "faq/vendor.md"}).invoke("features")
    assert vendor.metadata["flagged"] is True and vendor.page_content.startswith("[Quoted text")
    assert vendor.metadata["title"] == "Feature store vendor FAQ" and vendor.id.startswith("faq/vendor.md#")


def test_date_filters_accept_dates(loaded_kb):
    hits = loaded_kb.search("policy", role="analyst", top_k=10, filters={"date_to": dt.date(2025, 12, 31)})
    assert hits and all(h.metadata["date"] <= "2025-12-31" for h in hits)


DENSE_QUERIES = [
    "someone rebuilt the fraud model by hammering the scoring API",
    "how long are chat transcripts stored before deletion",
    "what does a Medium tier mean",
    "copying Claude through distillation",
    "escalation codename for a confirmed sweep",
]


@pytest.mark.parametrize("role", ["business", "security"])
def test_in_memory_dense_search_ranks_as_the_chroma_query_does(loaded_kb, role, monkeypatch):
    via_chroma = Retriever(loaded_kb.store, in_memory_chunks=0)  # as for a collection too large to hold
    in_memory = Retriever(loaded_kb.store)
    chroma_queries = []
    query = loaded_kb.store.query
    monkeypatch.setattr(loaded_kb.store, "query", lambda *a, **k: chroma_queries.append(a) or query(*a, **k))
    for text in DENSE_QUERIES:
        for filters in (None, SearchFilters(doc_type=["incident", "reference", "runbook"])):
            expected = via_chroma.search(text, role=role, top_k=10, mode="dense", filters=filters, group=False)
            calls = len(chroma_queries)
            got = in_memory.search(text, role=role, top_k=10, mode="dense", filters=filters, group=False)
            assert len(chroma_queries) == calls  # answered from the snapshot's matrix, not by Chroma
            assert [h.chunk_id for h in got] == [h.chunk_id for h in expected], (text, filters)
            assert [h.score for h in got] == pytest.approx([h.score for h in expected], abs=1e-5)


@pytest.mark.parametrize("in_memory_chunks", [0, 10**6])
def test_restricted_chunks_never_reach_business_with_or_without_vectors_in_memory(loaded_kb, in_memory_chunks):
    retriever = Retriever(loaded_kb.store, in_memory_chunks=in_memory_chunks)
    for query in PROBES:
        for mode in ("dense", "hybrid"):
            hits = retriever.search(query, role="business", top_k=50, mode=mode, group=False)
            assert hits or mode == "hybrid"  # dense ranks everything allowed; a bare id is a BM25 lookup
            assert not RESTRICTED_DOCS & {h.doc_id for h in hits}, (query, mode)
            assert all(h.metadata["access"] != "restricted" for h in hits)


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_atlas_items_are_found_by_what_they_are(loaded_kb, mode):
    # The ATLAS texts never say "ATLAS mitigation"; their titles do, so users' wording finds them.
    hits = loaded_kb.search("ATLAS mitigations", role="business", top_k=2, mode=mode)
    assert {h.doc_id for h in hits} == {"atlas:AML.M0004", "atlas:AML.M0002"}
    assert hits[0].title.endswith("(MITRE ATLAS mitigation " + hits[0].doc_id.removeprefix("atlas:") + ")")


def test_a_repeated_query_is_not_embedded_again(loaded_kb):
    retriever = Retriever(loaded_kb.store)
    embedder = loaded_kb.store.embedder
    first = retriever.search("how fresh is the balance data", role="analyst", mode="dense")
    before = embedder.texts_embedded
    again = retriever.search("how fresh is the balance data", role="analyst", mode="hybrid")
    assert embedder.texts_embedded == before and again[0].doc_id == first[0].doc_id == "faq/vendor.md"
