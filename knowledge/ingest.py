"""Ingest knowledge files into the store: idempotent, incremental and safe to kill.

Each chunk has a stable id and a content hash (sha256 of its embedded text and metadata). A run
embeds only new or changed chunks, writes them under a new generation, marks what they replace,
switches the live generation in one write, and only then deletes superseded records (see
`knowledge.store`). Documents that disappeared from an ingested path are deleted; documents from
other paths are left alone, because every chunk records the root (`source`) it came from.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from knowledge.chunking import chunk_document
from knowledge.documents import Chunk, RejectedFile
from knowledge.loader import Source, load_source
from knowledge.store import FOREVER, KnowledgeStore, NewRecord, StoredRecord

EMBED_BATCH = 64


@dataclass(frozen=True)
class IngestProgress:
    """A progress event: `stage` is load, embed, commit or done; `done` of `total` units in that stage."""

    stage: Literal["load", "embed", "commit", "done"]
    done: int
    total: int
    detail: str = ""


# Called as progress(done, total, event): the two numbers drive a progress bar as they are, the
# typed event says which stage they count (load: paths, embed: chunks, commit, done).
ProgressCallback = Callable[[int, int, IngestProgress], None]


class IngestReport(BaseModel):
    """What an ingest run did, counted in chunks, plus the files it could not read."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejected: int = 0
    rejected_files: list[RejectedFile] = Field(default_factory=list)
    skipped_files: list[str] = Field(default_factory=list, description="Files of an unsupported type, ignored.")
    documents: int = 0
    chunks: int = 0
    embedded: int = Field(0, description="Chunks whose text was embedded in this run.")
    flagged_documents: list[str] = Field(
        default_factory=list, description="Doc ids flagged as possible prompt injection."
    )
    generation: int = 0
    recovered: int = Field(0, description="Records left by an interrupted earlier run and cleaned up.")
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deleted)

    def summary(self) -> str:
        """One line for a terminal or a log."""
        line = (
            f"{self.documents} documents, {self.chunks} chunks: {self.added} added, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.deleted} deleted, {self.rejected} rejected "
            f"({self.embedded} embedded, {self.seconds:.1f}s)"
        )
        if self.flagged_documents:
            line += f"; {len(self.flagged_documents)} flagged as possible prompt injection"
        return line


def content_hash(chunk: Chunk) -> str:
    """sha256 of what is embedded and everything stored with it; equal hashes mean nothing to do."""
    meta = json.dumps(chunk.metadata.to_chroma(), sort_keys=True, default=str)
    return hashlib.sha256(f"{chunk.embed_text}\n\x1e{meta}".encode()).hexdigest()


def text_hash(chunk: Chunk) -> str:
    """sha256 of the embedded text alone: equal means the stored vector can be reused."""
    return hashlib.sha256(chunk.embed_text.encode()).hexdigest()


def ingest(
    paths: Iterable[str | Path] | str | Path,
    store: KnowledgeStore,
    *,
    progress: ProgressCallback | None = None,
) -> IngestReport:
    """Bring the store in line with the documents under `paths` (folders or files).

    A malformed file is reported in `rejected_files` and keeps whatever version of it was
    ingested before; a path that does not exist is reported and deletes nothing.
    """
    started = time.perf_counter()

    def notify(event: IngestProgress) -> None:
        if progress is not None:
            progress(event.done, event.total, event)

    roots = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]

    with store.lock():
        removed, restored = store.recover()
        report = IngestReport(recovered=removed + restored)

        sources = []
        for number, root in enumerate(roots, start=1):
            sources.append(load_source(root))
            notify(IngestProgress("load", number, len(roots), str(root)))
        wanted, kept_files = _plan(sources, report)

        active = store.generation()
        generation = active + 1
        live = {r.chunk_id: r for r in store.live_records(active)}
        scope = {s.root for s in sources if not s.missing}
        work = _diff(wanted, live, scope=scope, kept_files=kept_files, generation=generation, report=report)

        if work.to_embed or work.to_copy or work.retire:
            _write(store, work, notify)
            store.retire(work.retire, generation)
            notify(IngestProgress("commit", 0, 1, f"switching to generation {generation}"))
            store.commit(generation)  # the atomic switch: before it, readers see the old index
            store.purge(generation)
            notify(IngestProgress("commit", 1, 1, f"generation {generation} is live"))
            report.generation = generation
        else:
            report.generation = active

    report.embedded = len(work.to_embed)
    report.seconds = round(time.perf_counter() - started, 3)
    notify(IngestProgress("done", 1, 1, report.summary()))
    return report


@dataclass
class _Work:
    """What one run must write: chunks to embed, chunks whose vector is reused, records to retire."""

    to_embed: list[tuple[Chunk, NewRecord]] = field(default_factory=list)
    to_copy: list[tuple[NewRecord, str]] = field(default_factory=list)  # (record, record whose vector it reuses)
    retire: list[str] = field(default_factory=list)


def _diff(
    wanted: dict[str, Chunk],
    live: dict[str, StoredRecord],
    *,
    scope: set[str],
    kept_files: set[tuple[str, str]],
    generation: int,
    report: IngestReport,
) -> _Work:
    """Compare the chunks the files produce with the live ones, by chunk id and content hash."""
    work = _Work()
    for chunk_id, chunk in wanted.items():
        digest, tdigest = content_hash(chunk), text_hash(chunk)
        old = live.get(chunk_id)
        if old is not None and old.metadata.get("hash") == digest:
            report.unchanged += 1
            continue
        record = NewRecord(
            record_id=f"{chunk_id}@{generation}",
            text=chunk.text,
            metadata={
                **chunk.metadata.to_chroma(),
                "hash": digest,
                "text_hash": tdigest,
                "gen_from": generation,
                "gen_to": FOREVER,
            },
            embedding=[],
        )
        if old is None:
            report.added += 1
        else:
            report.updated += 1
            work.retire.append(old.record_id)
        if old is not None and old.metadata.get("text_hash") == tdigest:
            work.to_copy.append((record, old.record_id))  # only metadata changed (e.g. access)
        else:
            work.to_embed.append((chunk, record))
    for chunk_id, old in live.items():
        if chunk_id in wanted or old.metadata.get("source") not in scope:
            continue  # still wanted, or from a path this run did not ingest
        if (old.metadata.get("source"), old.metadata.get("file")) in kept_files:
            continue  # its file is malformed now: keep the last good version
        report.deleted += 1
        work.retire.append(old.record_id)
    return work


def _plan(sources: list[Source], report: IngestReport) -> tuple[dict[str, Chunk], set[tuple[str, str]]]:
    """The chunks the sources should produce, and the (source, file) pairs whose old chunks stay."""
    wanted: dict[str, Chunk] = {}
    owner: dict[str, str] = {}
    kept_files: set[tuple[str, str]] = set()
    for source in sources:
        for rejected in source.rejected:
            kept_files.add((source.root, rejected.file))
        report.rejected_files.extend(source.rejected)
        report.skipped_files.extend(source.skipped)
        for doc in source.documents:
            if doc.doc_id in owner:
                report.rejected_files.append(
                    RejectedFile(
                        file=doc.file, reason=f"duplicate document id {doc.doc_id!r} (also in {owner[doc.doc_id]})"
                    )
                )
                kept_files.add((source.root, doc.file))
                continue
            owner[doc.doc_id] = doc.file
            report.documents += 1
            if doc.injection_reasons:
                report.flagged_documents.append(doc.doc_id)
            for chunk in chunk_document(doc):
                wanted[chunk.chunk_id] = chunk
    report.rejected = len(report.rejected_files)
    report.chunks = len(wanted)
    return wanted, kept_files


def _write(store: KnowledgeStore, work: _Work, notify: Callable[[IngestProgress], None]) -> None:
    """Add the new generation's records: reused vectors first, then freshly embedded batches."""
    to_embed, to_copy = work.to_embed, work.to_copy
    if to_copy:
        vectors = store.embeddings([old for _, old in to_copy])
        for record, old in to_copy:
            record.embedding = vectors[old]
        store.add([record for record, _ in to_copy])
    total = len(to_embed)
    notify(IngestProgress("embed", 0, total))
    for start in range(0, total, EMBED_BATCH):
        batch = to_embed[start : start + EMBED_BATCH]
        vectors = store.embedder.embed([chunk.embed_text for chunk, _ in batch])
        for (_, record), vector in zip(batch, vectors):
            record.embedding = vector
        store.add([record for _, record in batch])
        notify(IngestProgress("embed", min(start + EMBED_BATCH, total), total))
