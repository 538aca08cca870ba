"""The knowledge base: document formats, ingestion, the Chroma store and retrieval.

Start from `knowledge.base.KnowledgeBase`; the modules underneath are usable on their own
(`knowledge.injection` is shared with the guardrails).
"""
