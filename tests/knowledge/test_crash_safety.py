"""A real ingest process killed with SIGKILL part-way leaves the previous index answering the same."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from .conftest import make_kb

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import os, sys, time
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
root, data_dir, corpus, stop_at, chroma_url, collection = sys.argv[1:7]
sys.path.insert(0, root)
from assistant.config import Settings
from knowledge.base import KnowledgeBase

def progress(done, total, event):
    print(event.stage, done, total, flush=True)
    # Hold still at the chosen point so the parent's SIGKILL lands there, mid-ingest.
    if (stop_at == "embed" and event.stage == "embed" and event.done > 0) or (
        stop_at == "commit" and event.stage == "commit" and event.done == 0
    ):
        print("PAUSED", flush=True)
        time.sleep(600)

settings = Settings(data_dir=data_dir, chroma_url=chroma_url, collection=collection)
KnowledgeBase(settings).ingest([corpus], progress=progress)
print("FINISHED", flush=True)
"""

QUERIES = [
    "AUC holdout performance of the credit model",
    "what is the risk tier for customer C-10293",
    "exact probability behind a tier",
    "fee waiver policy for students",
    "BLUE HERON",
    "query budget fraud extraction incident",
]


def _answers(kb) -> list:
    out = []
    for query in QUERIES:
        for mode in ("hybrid", "dense", "bm25"):
            hits = kb.search(query, role="security", top_k=5, mode=mode, group=False)
            out.append([(h.chunk_id, h.text, round(h.score, 5)) for h in hits])
    return out


def _edit_corpus(corpus: Path) -> None:
    """Version 2: one section edited, one document deleted, several new documents."""
    card = corpus / "model_cards/credit-default.md"
    card.write_text(card.read_text().replace("AUC 0.87", "AUC 0.80"))
    (corpus / "faq/business.md").unlink()
    for n in range(2):
        sections = "\n\n".join(
            f"## Rule {k}\n\nStudents on plan {n} get fee waiver rule {k}: the annual fee is waived while "
            f"the balance stays under {1000 + 100 * k} dollars and payments are made on time for {k + 3} months."
            for k in range(3)
        )
        (corpus / f"policies/fee-waiver-{n}.md").write_text(
            f"---\ntitle: Fee waiver policy {n} for students\ndoc_type: policy\naccess: internal\n---\n\n{sections}\n"
        )


def _run_child(data_dir: Path, corpus: Path, stop_at: str, chroma_url: str, collection: str) -> tuple[int, list[str]]:
    """Run a real ingest in another process; with `stop_at`, SIGKILL it when it reaches that point."""
    script = data_dir.parent / "child_ingest.py"
    script.write_text(CHILD)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(ROOT), str(data_dir), str(corpus), stop_at, chroma_url, collection],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    watchdog = threading.Timer(180, proc.kill)
    watchdog.start()
    lines: list[str] = []
    try:
        for line in proc.stdout:
            lines.append(line.strip())
            if line.strip() == "PAUSED":
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        watchdog.cancel()
        proc.wait(timeout=30)
    return proc.returncode, lines


@pytest.mark.parametrize(
    "backend, stop_at",
    # Killed with new records half written (embed), or with everything written but the switch (commit).
    [("embedded", "commit"), ("server", "embed")],
)
def test_sigkill_mid_ingest_leaves_the_previous_index_answering(
    tmp_path, corpus, embedder, chroma_server, backend, stop_at
):
    chroma_url = chroma_server if backend == "server" else ""
    collection = f"crash-{uuid.uuid4().hex[:8]}"
    data_dir = tmp_path / "data"
    serving = make_kb(data_dir, embedder, chroma_url=chroma_url, collection=collection)
    first = serving.ingest([corpus])
    before = _answers(serving)

    _edit_corpus(corpus)
    code, lines = _run_child(data_dir, corpus, stop_at, chroma_url, collection)
    assert code == -signal.SIGKILL and "FINISHED" not in lines, lines
    assert any(line.startswith("embed") for line in lines)

    # A process that was serving all along answers exactly as before...
    assert _answers(serving) == before
    serving.close()
    # ...and so does one that opens the store afresh, although the dead run left records behind.
    kb = make_kb(data_dir, embedder, chroma_url=chroma_url, collection=collection)
    try:
        store = kb.store
        live = store.live_records(store.generation())
        assert store.generation() == first.generation and len(live) == first.chunks
        assert store.count() > len(live), "the child was killed before it wrote anything"
        assert _answers(kb) == before

        # The next run cleans up after the dead one and finishes the job. With embedded Chroma it
        # runs in another process, like `modeldesk ingest` beside `modeldesk serve`: the open
        # knowledge base must see the new generation as soon as it is switched on.
        if backend == "embedded":
            code, lines = _run_child(data_dir, corpus, "none", chroma_url, collection)
            assert code == 0 and lines[-1] == "FINISHED", lines
        else:
            assert kb.ingest([corpus]).recovered > 0
        assert store.generation() == first.generation + 1
        assert store.count() == len(store.live_records(store.generation()))
        for mode in ("hybrid", "dense", "bm25"):
            hits = kb.search("fee waiver policy for students", role="security", top_k=10, mode=mode)
            assert "policies/fee-waiver-0.md" in {h.doc_id for h in hits}, mode
        assert kb.documents(role="security", filters={"doc_id": "faq/business.md"}) == []
        assert kb.ingest([corpus]).changed is False
    finally:
        kb.close()
