"""Chroma in client/server mode, and what users see when Chroma is down."""

from __future__ import annotations

import uuid

import pytest

from assistant.errors import Unavailable

from .conftest import free_port, make_kb, start_chroma_server, stop


def test_ingest_and_search_through_a_chroma_server(tmp_path, corpus, embedder, chroma_server):
    kb = make_kb(tmp_path / "data", embedder, chroma_url=chroma_server, collection=f"srv-{uuid.uuid4().hex[:8]}")
    try:
        report = kb.ingest([corpus])
        assert report.added == report.chunks > 0
        assert not (tmp_path / "data" / "chroma").exists()  # nothing embedded on disk in server mode
        assert kb.search("what does a Medium tier mean", role="business", top_k=1)[0].doc_id == "policies/risk-tiers.md"
        assert kb.search("BLUE HERON", role="business", top_k=20, mode="bm25") == []
        health = kb.health()
        assert health.ok and health.backend == "server" and health.chunks == report.chunks
        assert health.generation == report.generation == 1
        assert kb.ingest([corpus]).unchanged == report.chunks
    finally:
        kb.close()


def test_unreachable_chroma_is_unavailable(tmp_path, embedder):
    kb = make_kb(tmp_path / "data", embedder, chroma_url=f"http://127.0.0.1:{free_port()}")
    health = kb.health()
    assert not health.ok and health.detail.startswith("knowledge base unavailable:")
    with pytest.raises(Unavailable, match="knowledge base unavailable"):
        kb.search("risk tiers", role="business")
    with pytest.raises(Unavailable, match="knowledge base unavailable"):
        kb.ingest([tmp_path])


def test_chroma_going_down_mid_session_is_unavailable(tmp_path, embedder):
    proc, url = start_chroma_server(tmp_path / "db")
    kb = make_kb(tmp_path / "data", embedder, chroma_url=url)
    try:
        doc = tmp_path / "docs" / "faq.md"
        doc.parent.mkdir()
        doc.write_text("---\ntitle: FAQ\ndoc_type: faq\naccess: public\n---\n\n## Tiers\n\nTiers rank risk.\n")
        kb.ingest([doc.parent])
        assert kb.search("tiers", role="business")[0].doc_id == "faq.md"
        stop(proc)
        with pytest.raises(Unavailable, match="knowledge base unavailable"):
            kb.search("tiers", role="business", mode="dense")
        assert not kb.health().ok
    finally:
        stop(proc)
        kb.close()


def test_embedded_health(kb, corpus):
    assert kb.health().ok and kb.health().chunks == 0
    report = kb.ingest([corpus])
    health = kb.health()
    assert health.ok and health.backend == "embedded" and health.chunks == report.chunks
    assert health.location.endswith("chroma")
