"""KnowledgeBase: the one object the rest of ModelDesk uses to ingest and search documents."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from assistant.errors import AssistantError, BadInput
from knowledge.documents import explain_validation
from knowledge.embedder import Embedder
from knowledge.ingest import IngestReport, ProgressCallback, ingest
from knowledge.retrieval import Mode, Retriever, SearchFilters, SearchResult
from knowledge.store import KnowledgeStore

log = logging.getLogger("modeldesk.knowledge")


class KnowledgeHealth(BaseModel):
    """Whether the knowledge store answers, and what it holds."""

    ok: bool
    backend: Literal["embedded", "server"]
    location: str
    collection: str
    generation: int = 0
    chunks: int = 0
    detail: str = ""


class KnowledgeBase:
    """Documents in, cited passages out.

    `KnowledgeBase(settings)` connects lazily, so constructing one never fails; pass `embedder`
    (and optionally `store`) to share one loaded model between several instances.
    """

    def __init__(self, settings: Any, *, embedder: Embedder | None = None, store: KnowledgeStore | None = None):
        self.settings = settings
        self.embedder = embedder or (store.embedder if store else Embedder(
            settings.embedding_model, runtime=getattr(settings, "encoder_runtime", "onnx"),
            threads=getattr(settings, "torch_threads", 1)))
        self._store = store
        self._retriever: Retriever | None = None
        self._connecting = threading.Lock()

    @property
    def store(self) -> KnowledgeStore:
        """The Chroma-backed store (connects on first use; raises Unavailable when Chroma is down)."""
        if self._store is None:
            # One connection however many threads ask at once (e.g. /readyz polled during a slow start):
            # embedded Chroma keeps one shared client per path, which concurrent constructions corrupt.
            with self._connecting:
                if self._store is None:
                    self._store = KnowledgeStore.from_settings(self.settings, self.embedder)
        return self._store

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            self._retriever = Retriever(self.store)
        return self._retriever

    def ingest(
        self, paths: Iterable[str | Path] | None = None, progress: ProgressCallback | None = None
    ) -> IngestReport:
        """Ingest the given files and folders (default: the configured knowledge paths)."""
        if paths is None:
            paths = self.settings.knowledge_paths
        elif isinstance(paths, (str, Path)):
            paths = [paths]
        return ingest(list(paths), self.store, progress=progress)

    def search(
        self,
        query: str,
        *,
        role: str = "business",
        top_k: int = 5,
        filters: SearchFilters | dict[str, Any] | None = None,
        mode: Mode = "hybrid",
        group: bool = True,
    ) -> list[SearchResult]:
        """Passages that answer `query`, from documents `role` may read, best first.

        `filters`: model_id, doc_type, doc_id, date_from, date_to, attack_type, status, severity,
        atlas_technique. `mode`: hybrid (default), dense or bm25. `group`: one passage per document.
        """
        return self.retriever.search(
            query, role=role, top_k=top_k, filters=self._filters(filters), mode=mode, group=group
        )

    def documents(
        self, *, role: str = "business", filters: SearchFilters | dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """A metadata row per document `role` may read that matches `filters`, newest first
        (e.g. the incidents on a model: doc_id, title, date, attack_type, severity, status, ...)."""
        return self.retriever.list_documents(role=role, filters=self._filters(filters))

    def as_retriever(
        self, *, role: str = "business", top_k: int = 5, filters: dict[str, Any] | None = None, mode: Mode = "hybrid"
    ):
        """A LangChain retriever over this knowledge base, fixed to one role."""
        from knowledge.langchain import KnowledgeRetriever

        return KnowledgeRetriever(knowledge=self, role=role, top_k=top_k, filters=filters or {}, mode=mode)

    def health(self) -> KnowledgeHealth:
        """Never raises: reports what is wrong instead."""
        backend = "server" if self.settings.chroma_url else "embedded"
        location = self.settings.chroma_url or str(Path(self.settings.data_dir) / "chroma")
        base = {"backend": backend, "location": location, "collection": self.settings.collection}
        try:
            store = self.store
            store.heartbeat()
            return KnowledgeHealth(ok=True, generation=store.generation(), chunks=store.count(), **base)
        except AssistantError as exc:
            return KnowledgeHealth(ok=False, detail=exc.message, **base)
        except Exception as exc:  # noqa: BLE001 - e.g. embedded Chroma busy in another process: report, never 500
            log.warning("knowledge health check failed", exc_info=True)
            return KnowledgeHealth(ok=False, detail=f"knowledge base check failed: {type(exc).__name__}: "
                                                    f"{(str(exc).splitlines() or [''])[0][:200]}", **base)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
            self._retriever = None

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _filters(filters: SearchFilters | dict[str, Any] | None) -> SearchFilters | None:
        if filters is None or isinstance(filters, SearchFilters):
            return filters
        try:
            return SearchFilters.model_validate(filters)
        except ValidationError as exc:
            raise BadInput(f"invalid search filters: {explain_validation(exc)}") from None
