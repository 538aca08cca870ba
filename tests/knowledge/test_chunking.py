"""Chunks follow headings, stay under the size limit, and carry the metadata retrieval filters on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from knowledge.chunking import MAX_CHARS, chunk_document, split_text
from knowledge.ingest import content_hash
from knowledge.loader import load_source
from knowledge.markdown import parse_markdown

from .conftest import CREDIT_CARD, FEATURE_LINES


def _credit(features: str = FEATURE_LINES, **replace: str):
    text = CREDIT_CARD.format(features=features)
    for old, new in replace.items():
        text = text.replace(old, new)
    return parse_markdown(text, file="model_cards/credit-default.md", source="/corpus")


def test_chunk_metadata_for_markdown():
    chunks = chunk_document(_credit())
    first = chunks[0]
    assert first.chunk_id == "model_cards/credit-default.md#overview/0"
    meta = first.metadata
    assert (meta.doc_id, meta.title, meta.section) == (
        "model_cards/credit-default.md",
        "Credit card default risk model card",
        "Overview",
    )
    assert (meta.doc_type, meta.model_id, meta.access, meta.date) == (
        "model_card",
        "credit-default",
        "internal",
        dt.date(2026, 3, 1),
    )
    assert (meta.file, meta.source, meta.flagged_injection) == ("model_cards/credit-default.md", "/corpus", False)
    # what is embedded starts with the title and the section trail
    assert first.embed_text.startswith("Credit card default risk model card\nOverview\n\n")
    stored = meta.to_chroma()
    assert stored["date"] == "2026-03-01" and stored["date_ord"] == 20260301
    assert "attack_type" not in stored  # no None values reach Chroma


def test_long_sections_split_by_paragraph_under_the_limit():
    chunks = [c for c in chunk_document(_credit()) if c.metadata.section == "Features"]
    assert len(chunks) >= 2
    assert all(len(c.text) <= MAX_CHARS for c in chunks)
    assert [c.chunk_id.rsplit("/", 1)[1] for c in chunks] == [str(i) for i in range(len(chunks))]
    assert all(c.text.startswith("**") for c in chunks)  # split between paragraphs, not inside one
    assert "".join(c.text for c in chunks).count("**") == FEATURE_LINES.count("**")


def test_oversized_paragraph_is_split_by_sentences_and_words():
    paragraph = " ".join(f"Sentence number {i} talks about balances and limits." for i in range(60))
    pieces = split_text(paragraph + "\n\n" + "x" * 2500)
    assert all(len(p) <= MAX_CHARS for p in pieces)
    assert pieces[0].startswith("Sentence number 0") and pieces[0].endswith(".")


def test_editing_one_section_changes_only_its_chunks():
    before = {c.chunk_id: content_hash(c) for c in chunk_document(_credit())}
    after = {c.chunk_id: content_hash(c) for c in chunk_document(_credit(**{"AUC 0.87": "AUC 0.86"}))}
    assert set(before) == set(after)
    changed = [cid for cid in before if before[cid] != after[cid]]
    assert changed == ["model_cards/credit-default.md#performance/0"]


def test_incident_chunks_carry_incident_fields(corpus: Path):
    docs = {d.doc_id: d for d in load_source(corpus / "incidents").documents}
    chunks = chunk_document(docs["incident:INC-2025-004"])
    assert [c.metadata.section for c in chunks] == ["Summary", "Impact", "Mitigation"]
    meta = chunks[0].metadata
    assert (meta.attack_type, meta.severity, meta.status, meta.stage) == (
        "extraction",
        "high",
        "mitigated",
        "production",
    )
    assert meta.atlas_techniques == ["AML.T0024.002", "AML.T0040"]
    assert meta.access == "restricted" and meta.model_id == "transaction-fraud"
    # sub-techniques also match their parent in filters
    assert meta.to_chroma()["atlas_match"] == ["AML.T0024.002", "AML.T0024", "AML.T0040"]


def test_repeated_headings_get_distinct_chunk_ids():
    doc = parse_markdown("---\ntitle: T\ndoc_type: faq\n---\n## Q\n\nOne.\n\n## Q\n\nTwo.\n", file="f.md")
    assert [c.chunk_id for c in chunk_document(doc)] == ["f.md#q/0", "f.md#q-2/0"]
