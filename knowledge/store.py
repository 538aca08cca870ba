"""The Chroma collection that holds knowledge chunks, versioned by generation.

Every record carries `gen_from` (the ingest generation that wrote it) and `gen_to` (the first
generation in which it is no longer live). The collection's metadata holds `active_generation`,
and queries only see records with `gen_from <= active < gen_to`. An ingest writes its new records
under `active + 1`, marks the records it replaces with `gen_to = active + 1` (still live for the
active generation), then switches the pointer in one metadata write. A run killed before the
switch changes nothing anyone can see; `recover()` later drops its leftovers.

Keeping the pointer in Chroma itself, not in a local file, means every API replica talking to the
same Chroma server agrees on which generation is live.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from assistant.errors import ConfigError, Unavailable
from knowledge.embedder import Embedder

FOREVER = 10**15  # gen_to of a record no later generation has replaced
SCHEMA = 1


@dataclass
class StoredRecord:
    """A chunk as stored: Chroma id, metadata, and (when asked for) its text and vector."""

    record_id: str
    metadata: dict[str, Any]
    text: str | None = None
    embedding: np.ndarray | None = None

    @property
    def chunk_id(self) -> str:
        return self.metadata["chunk_id"]


@dataclass
class NewRecord:
    """A chunk to write under a new generation."""

    record_id: str
    text: str
    metadata: dict[str, Any]
    embedding: list[float]


_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, OSError)
try:  # the HTTP client's transport errors
    import httpx

    _CONNECTION_ERRORS += (httpx.TransportError,)
except ImportError:  # pragma: no cover
    pass


def _is_outage(exc: BaseException) -> bool:
    if isinstance(exc, _CONNECTION_ERRORS):
        return True
    text = str(exc).lower()
    return any(s in text for s in ("could not connect", "connection refused", "connecterror", "failed to connect"))


@contextlib.contextmanager
def _outage_as_unavailable() -> Iterator[None]:
    """Turn "Chroma is not there" into Unavailable; let programming errors through unchanged."""
    try:
        yield
    except Unavailable:
        raise
    except Exception as exc:
        if _is_outage(exc):
            raise Unavailable(f"knowledge base unavailable: {_short(exc)}") from exc
        raise


def _short(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


class KnowledgeStore:
    """Chunks in a Chroma collection (cosine space, our own embeddings), with generation bookkeeping."""

    def __init__(
        self,
        client: Any,
        *,
        collection: str,
        embedder: Embedder,
        backend: str = "embedded",
        location: str = "",
        lock_path: Path | None = None,
        reconnect: Callable[[], Any] | None = None,
    ):
        self.client = client
        self.name = collection
        self.embedder = embedder
        self.backend = backend
        self.location = location
        self.lock_path = lock_path
        self._reconnect = reconnect
        self._seen_generation: int | None = None
        self._reopen_lock = threading.Lock()
        from chromadb.errors import InvalidArgumentError

        try:
            with _outage_as_unavailable():
                self._collection = client.get_or_create_collection(
                    collection,
                    embedding_function=None,  # never Chroma's default: it downloads a model
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata={"active_generation": 0, "schema": SCHEMA, "embedding_model": embedder.name},
                )
        except InvalidArgumentError as exc:
            raise ConfigError(f"MODELDESK_COLLECTION: {_short(exc)}") from None
        built_with = (self._collection.metadata or {}).get("embedding_model")
        if built_with and built_with != embedder.name:
            raise ConfigError(
                f"MODELDESK_COLLECTION: collection {collection!r} was built with embedding model {built_with!r}, "
                f"not {embedder.name!r}; use another collection name or re-create it"
            )

    @classmethod
    def from_settings(cls, settings: Any, embedder: Embedder) -> KnowledgeStore:
        """Embedded Chroma under `data_dir/chroma`, or the server at `chroma_url` when one is set."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        data_dir = Path(settings.data_dir)
        with _outage_as_unavailable():
            if settings.chroma_url:
                url = urlparse(settings.chroma_url)
                if not url.hostname:
                    raise ConfigError(f"MODELDESK_CHROMA_URL: no host in {settings.chroma_url!r}")
                ssl = url.scheme == "https"
                port = url.port or (443 if ssl else 8000)
                client = chromadb.HttpClient(host=url.hostname, port=port, ssl=ssl, settings=chroma_settings)
                backend, location = "server", f"{url.scheme}://{url.hostname}:{port}"
            else:
                path = data_dir / "chroma"
                path.mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
                backend, location = "embedded", str(path)

                def reconnect() -> Any:
                    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        return cls(
            client,
            collection=settings.collection,
            embedder=embedder,
            backend=backend,
            location=location,
            lock_path=data_dir / f"{settings.collection}.ingest.lock",
            reconnect=None if settings.chroma_url else reconnect,
        )

    # -- generations -------------------------------------------------------------------------

    def generation(self) -> int:
        """The live generation, read fresh from Chroma (another process may have switched it)."""
        with _outage_as_unavailable():
            meta = self.client.get_collection(self.name).metadata or {}
        generation = int(meta.get("active_generation", 0))
        if self._seen_generation is not None and generation != self._seen_generation:
            # Another process ingested. Embedded Chroma keeps its vector index in memory per
            # process, so reload it from disk before querying the new generation's records.
            self.reopen()
        self._seen_generation = generation
        return generation

    def commit(self, generation: int) -> None:
        """Make `generation` the live one: a single metadata write, so readers see all of it or none."""
        with _outage_as_unavailable():
            current = dict(self.client.get_collection(self.name).metadata or {})
            current.update(active_generation=generation, schema=SCHEMA, embedding_model=self.embedder.name)
            self._collection.modify(metadata=current)
        self._seen_generation = generation

    def reopen(self) -> None:
        """Reconnect an embedded client so it sees what other processes wrote (no-op for a server)."""
        if self._reconnect is None:
            return
        with self._reopen_lock, _outage_as_unavailable():
            with contextlib.suppress(Exception):
                self.client.close()
            self.client = self._reconnect()
            self._collection = self.client.get_collection(self.name, embedding_function=None)

    @staticmethod
    def live(generation: int, where: dict[str, Any] | None = None) -> dict[str, Any]:
        """A Chroma `where` for records live in `generation`, and-ed with `where`."""
        clauses: list[dict[str, Any]] = [{"gen_from": {"$lte": generation}}, {"gen_to": {"$gt": generation}}]
        if where:
            clauses.extend(where["$and"] if set(where) == {"$and"} else [where])
        return {"$and": clauses}

    def recover(self) -> tuple[int, int]:
        """Undo what an interrupted ingest left: records above the live generation are deleted, and
        records it marked as replaced become live-forever again. Also purges records a completed
        switch left behind. Returns (records removed, records restored)."""
        active = self.generation()
        uncommitted = self.records({"gen_from": {"$gt": active}})
        stale = self.records({"gen_to": {"$lte": active}})
        pending = self.records({"$and": [{"gen_to": {"$gt": active}}, {"gen_to": {"$lt": FOREVER}}]})
        self.delete([r.record_id for r in uncommitted + stale])
        self.retire([r.record_id for r in pending], FOREVER)
        return len(uncommitted) + len(stale), len(pending)

    def purge(self, generation: int) -> int:
        """Delete records that are no longer live in `generation` or later."""
        dead = self.records({"gen_to": {"$lte": generation}})
        self.delete([r.record_id for r in dead])
        return len(dead)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """One ingest at a time on this machine (a process that dies releases it)."""
        if self.lock_path is None:
            yield
            return
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.write(str(os.getpid()))
                handle.flush()
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- records -----------------------------------------------------------------------------

    def records(
        self, where: dict[str, Any] | None = None, *, documents: bool = False, embeddings: bool = False
    ) -> list[StoredRecord]:
        """All records matching `where` (paged through Chroma); `embeddings` adds each stored vector (float32)."""
        include = ["metadatas"] + (["documents"] if documents else []) + (["embeddings"] if embeddings else [])
        out: list[StoredRecord] = []
        page = 5000
        offset = 0
        with _outage_as_unavailable():
            while True:
                got = self._collection.get(where=where, include=include, limit=page, offset=offset)
                ids = got["ids"]
                texts = got.get("documents") if documents else None
                vectors = np.asarray(got["embeddings"], dtype=np.float32) if embeddings and ids else None
                for n, (rid, meta) in enumerate(zip(ids, got["metadatas"])):
                    out.append(
                        StoredRecord(
                            record_id=rid,
                            metadata=dict(meta or {}),
                            text=texts[n] if texts is not None else None,
                            embedding=vectors[n] if vectors is not None else None,
                        )
                    )
                if len(ids) < page:
                    return out
                offset += page

    def live_records(
        self, generation: int, where: dict[str, Any] | None = None, *, documents: bool = False, embeddings: bool = False
    ) -> list[StoredRecord]:
        """Records live in `generation` that match `where`."""
        return self.records(self.live(generation, where), documents=documents, embeddings=embeddings)

    def embeddings(self, record_ids: Sequence[str]) -> dict[str, list[float]]:
        """Stored vectors by record id (used to carry a vector over when only metadata changed)."""
        if not record_ids:
            return {}
        with _outage_as_unavailable():
            got = self._collection.get(ids=list(record_ids), include=["embeddings"])
        return {rid: list(map(float, vec)) for rid, vec in zip(got["ids"], got["embeddings"])}

    def add(self, records: Sequence[NewRecord]) -> None:
        if not records:
            return
        with _outage_as_unavailable():
            batch = max(1, min(1000, self.client.get_max_batch_size()))
            for start in range(0, len(records), batch):
                part = records[start : start + batch]
                self._collection.add(
                    ids=[r.record_id for r in part],
                    embeddings=[r.embedding for r in part],
                    documents=[r.text for r in part],
                    metadatas=[r.metadata for r in part],
                )

    def retire(self, record_ids: Sequence[str], generation: int) -> None:
        """Set `gen_to` on records: they stop being live from `generation` on."""
        with _outage_as_unavailable():
            for start in range(0, len(record_ids), 1000):
                part = list(record_ids[start : start + 1000])
                self._collection.update(ids=part, metadatas=[{"gen_to": generation}] * len(part))

    def delete(self, record_ids: Sequence[str]) -> None:
        with _outage_as_unavailable():
            for start in range(0, len(record_ids), 1000):
                self._collection.delete(ids=list(record_ids[start : start + 1000]))

    def query(self, embedding: list[float], n: int, where: dict[str, Any]) -> list[tuple[StoredRecord, float]]:
        """Nearest records to `embedding` among those matching `where`, with cosine similarity."""
        from chromadb.errors import InternalError

        def run() -> Any:
            return self._collection.query(
                query_embeddings=[embedding], n_results=n, where=where, include=["metadatas", "documents", "distances"]
            )

        with _outage_as_unavailable():
            try:
                got = run()
            except InternalError:
                if self._reconnect is None:
                    raise
                self.reopen()  # a stale in-memory index (see `generation`): reload once and retry
                got = run()
        rows = zip(got["ids"][0], got["metadatas"][0], got["documents"][0], got["distances"][0])
        return [(StoredRecord(rid, dict(meta or {}), text), 1.0 - float(dist)) for rid, meta, text, dist in rows]

    def count(self) -> int:
        with _outage_as_unavailable():
            return self._collection.count()

    def heartbeat(self) -> None:
        """Raise Unavailable when Chroma does not answer."""
        with _outage_as_unavailable():
            self.client.heartbeat()

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if callable(close):
            with contextlib.suppress(Exception):
                close()
