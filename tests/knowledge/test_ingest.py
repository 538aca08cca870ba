"""Ingestion is idempotent and incremental: stable ids, content hashes, scoped deletion."""

from __future__ import annotations

import shutil
import time

from knowledge.ingest import IngestProgress

from .conftest import INCIDENT_004, make_kb, write_small_atlas


def _live(kb, **where):
    store = kb.store
    clause = {k: v for k, v in where.items()}
    if len(clause) > 1:
        clause = {"$and": [{k: v} for k, v in clause.items()]}
    return store.live_records(store.generation(), clause or None, documents=True)


def test_first_ingest_reports_counts_progress_and_rejections(kb, corpus):
    events: list[IngestProgress] = []

    def progress(done: int, total: int, event: IngestProgress) -> None:
        assert (done, total) == (event.done, event.total)
        events.append(event)

    report = kb.ingest([corpus], progress=progress)

    assert report.documents == 10
    assert report.chunks == report.added == report.embedded > 10
    assert (report.updated, report.unchanged, report.deleted) == (0, 0, 0)
    assert report.rejected == 4
    assert {r.file for r in report.rejected_files} == {
        "broken/no-front-matter.md",
        "broken/bad-doc-type.md",
        "broken/bad-severity.yaml",
        "broken/not-yaml.yaml",
    }
    assert report.skipped_files == ["images/diagram.png"]
    assert report.flagged_documents == ["faq/vendor.md"]
    assert report.generation == 1
    assert "rejected" in report.summary()

    stages = [e.stage for e in events]
    assert stages[0] == "load" and stages[-1] == "done" and "commit" in stages
    embeds = [e for e in events if e.stage == "embed"]
    assert embeds[-1].done == embeds[-1].total == report.embedded
    assert kb.store.count() == report.chunks


def test_stored_chunks_carry_their_metadata(kb, corpus):
    kb.ingest([corpus])
    [summary] = [r for r in _live(kb, doc_id="incident:INC-2025-004") if r.metadata["section"] == "Summary"]
    meta = summary.metadata
    assert meta["chunk_id"] == "incident:INC-2025-004#summary/0"
    assert (meta["attack_type"], meta["severity"], meta["status"], meta["stage"]) == (
        "extraction",
        "high",
        "mitigated",
        "production",
    )
    assert meta["atlas_techniques"] == ["AML.T0024.002", "AML.T0040"]
    assert (meta["access"], meta["model_id"], meta["date"]) == ("restricted", "transaction-fraud", "2025-09-14")
    assert meta["source"] == str(corpus.resolve()) and meta["file"] == "incidents/inc-2025-004.yaml"
    assert len(meta["hash"]) == 64
    vendor = _live(kb, doc_id="faq/vendor.md")
    assert vendor and all(r.metadata["flagged_injection"] is True for r in vendor)
    assert any("hidden directive" in reason for reason in vendor[0].metadata["injection_reasons"])


def test_reingesting_an_unchanged_corpus_changes_nothing_and_is_10x_faster(kb, corpus, embedder):
    started = time.perf_counter()
    first = kb.ingest([corpus])
    first_seconds = time.perf_counter() - started
    embedded_before = embedder.texts_embedded

    started = time.perf_counter()
    again = kb.ingest([corpus])
    again_seconds = time.perf_counter() - started

    assert (again.added, again.updated, again.deleted, again.embedded) == (0, 0, 0, 0)
    assert again.unchanged == first.chunks
    assert embedder.texts_embedded == embedded_before  # not one text went through the model
    assert again.generation == first.generation  # nothing to switch
    assert first_seconds / again_seconds >= 10, (first_seconds, again_seconds)


def test_editing_a_document_reembeds_only_its_changed_chunks(kb, corpus, embedder):
    first = kb.ingest([corpus])
    card = corpus / "model_cards/credit-default.md"
    card.write_text(
        card.read_text().replace("AUC 0.87", "AUC 0.86") + "\n## Owners\n\nRisk Analytics owns the model.\n"
    )

    before = embedder.texts_embedded
    report = kb.ingest([corpus])
    assert (report.updated, report.added, report.deleted) == (1, 1, 0)
    assert report.unchanged == first.chunks - 1
    assert report.embedded == 2 and embedder.texts_embedded - before == 2

    performance = [
        r for r in _live(kb, doc_id="model_cards/credit-default.md") if r.metadata["section"] == "Performance"
    ]
    assert [("AUC 0.86" in r.text) for r in performance] == [True]
    # superseded records are gone from Chroma, not just hidden
    assert kb.store.count() == len(_live(kb)) == report.chunks


def test_metadata_only_change_reuses_stored_vectors(kb, corpus, embedder):
    kb.ingest([corpus])
    limits = corpus / "limitations/customer-churn.md"
    limits.write_text(limits.read_text().replace("date: 2026-02-10", "date: 2026-02-10\naccess: public"))
    chunks = len(_live(kb, doc_id="limitations/customer-churn.md"))

    before = embedder.texts_embedded
    report = kb.ingest([corpus])
    assert report.updated == chunks and report.embedded == 0 and embedder.texts_embedded == before
    assert {r.metadata["access"] for r in _live(kb, doc_id="limitations/customer-churn.md")} == {"public"}


def test_deleting_a_document_removes_its_chunks(kb, corpus):
    kb.ingest([corpus])
    doomed = len(_live(kb, doc_id="runbooks/probing-triage.md"))
    assert doomed == 2
    (corpus / "runbooks/probing-triage.md").unlink()

    report = kb.ingest([corpus])
    assert (report.deleted, report.added, report.updated) == (doomed, 0, 0)
    assert kb.store.records({"doc_id": "runbooks/probing-triage.md"}) == []  # purged, not only hidden
    hits = kb.search("BLUE HERON probing detector escalation codename", role="security", top_k=10)
    assert "runbooks/probing-triage.md" not in {h.doc_id for h in hits}


def test_a_file_that_breaks_keeps_its_last_good_version(kb, corpus):
    kb.ingest([corpus])
    card = corpus / "model_cards/credit-default.md"
    card.write_text(card.read_text().replace("doc_type: model_card", "doc_type: brochure"))

    report = kb.ingest([corpus])
    assert report.deleted == 0
    assert any(r.file == "model_cards/credit-default.md" and "doc_type" in r.reason for r in report.rejected_files)
    hits = kb.search("small-business commercial cards out of scope", role="analyst", top_k=3)
    assert hits[0].doc_id == "model_cards/credit-default.md"


def test_a_missing_path_is_reported_and_deletes_nothing(kb, corpus, tmp_path):
    first = kb.ingest([corpus])
    moved = tmp_path / "moved"
    shutil.move(corpus, moved)

    report = kb.ingest([corpus])
    assert report.rejected_files[0].reason == "path does not exist"
    assert report.deleted == 0 and kb.store.count() == first.chunks


def test_other_sources_are_not_deleted(kb, corpus, tmp_path):
    """Ingesting ATLAS on its own leaves the corpus alone, and the other way round."""
    atlas = write_small_atlas(tmp_path / "atlas" / "ATLAS.yaml")
    corpus_report = kb.ingest([corpus])
    atlas_report = kb.ingest([atlas])
    assert atlas_report.deleted == 0 and atlas_report.added == atlas_report.chunks > 0

    again = kb.ingest([corpus])
    assert (again.deleted, again.added, again.unchanged) == (0, 0, corpus_report.chunks)
    assert kb.store.count() == corpus_report.chunks + atlas_report.chunks

    studies = kb.documents(role="business", filters={"doc_type": "incident", "doc_id": ["atlas:AML.CS0056"]})
    assert [d["doc_id"] for d in studies] == ["atlas:AML.CS0056"]
    techniques = kb.search(
        "extract a functional copy of a private model", role="business", top_k=3, filters={"doc_type": "reference"}
    )
    assert "atlas:AML.T0024.002" in [t.doc_id for t in techniques]


def test_duplicate_document_ids_are_rejected(kb, corpus):
    (corpus / "incidents/copy.yaml").write_text(INCIDENT_004)
    report = kb.ingest([corpus])
    dupes = [r for r in report.rejected_files if "duplicate document id" in r.reason]
    assert [r.file for r in dupes] == ["incidents/inc-2025-004.yaml"] or [r.file for r in dupes] == [
        "incidents/copy.yaml"
    ]


def test_settings_knowledge_path_is_the_default(tmp_path, corpus, embedder):
    base = make_kb(tmp_path / "data2", embedder, knowledge_path=str(corpus))
    try:
        report = base.ingest()
        assert report.documents == 10
    finally:
        base.close()


def test_a_fresh_base_asked_from_many_threads_at_once_connects_once_and_answers(tmp_path, corpus, embedder):
    """A server's first requests (e.g. /readyz polled while a worker starts) reach a base that has not
    connected yet from several threads together; every one must get a working store, the same one."""
    from concurrent.futures import ThreadPoolExecutor

    with make_kb(tmp_path / "data", embedder) as first:
        first.ingest([corpus])
    with make_kb(tmp_path / "data", embedder) as fresh, ThreadPoolExecutor(8) as pool:
        seen = list(pool.map(lambda _: (fresh.health(), id(fresh.store)), range(16)))
        assert all(h.ok and h.chunks > 0 for h, _ in seen), [h.detail for h, _ in seen if not h.ok]
        assert len({store for _, store in seen}) == 1
        assert fresh.search("credit default model features")
