"""The knowledge base as a LangChain retriever, so LLM chains search the same store with the same rules."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever


class KnowledgeRetriever(BaseRetriever):
    """Searches a KnowledgeBase (or Retriever) as one role; flagged passages come back quoted as data."""

    knowledge: Any
    role: str = "business"
    top_k: int = 5
    filters: dict[str, Any] = {}
    mode: str = "hybrid"

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        results = self.knowledge.search(
            query, role=self.role, top_k=self.top_k, filters=self.filters or None, mode=self.mode
        )
        return [
            Document(
                id=r.chunk_id,
                page_content=r.quoted(),
                metadata={
                    **r.metadata,
                    "doc_id": r.doc_id,
                    "chunk_id": r.chunk_id,
                    "title": r.title,
                    "doc_type": r.doc_type,
                    "section": r.section,
                    "snippet": r.snippet,
                    "score": r.score,
                    "flagged": r.flagged,
                },
            )
            for r in results
        ]
