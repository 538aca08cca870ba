"""Issue acceptance: over the whole retrieval evaluation set, a business user never receives a
restricted chunk, whatever the question (here against the real demo corpus)."""

from __future__ import annotations

from pathlib import Path

import yaml

QUESTIONS = Path(__file__).resolve().parents[2] / "bench" / "retrieval" / "questions.yaml"


def test_no_restricted_chunk_reaches_business_for_any_evaluation_question(demo_knowledge):
    items = yaml.safe_load(QUESTIONS.read_text())
    questions = [item["q"] for item in (items["questions"] if isinstance(items, dict) else items)]
    assert len(questions) >= 150
    restricted_docs = {d["doc_id"] for d in demo_knowledge.documents(role="security") if d.get("access") == "restricted"}
    assert restricted_docs, "the demo corpus has restricted documents to protect"
    for question in questions:
        for mode in ("hybrid", "bm25"):
            results = demo_knowledge.search(question, role="business", top_k=10, mode=mode, group=False)
            leaked = [r.doc_id for r in results if r.metadata.get("access") == "restricted" or r.doc_id in restricted_docs]
            assert not leaked, (question, leaked)
