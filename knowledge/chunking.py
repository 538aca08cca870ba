"""Split documents into chunks along their sections, with stable ids and the text to embed."""

from __future__ import annotations

import re

from knowledge.documents import Chunk, ChunkMetadata, Document

MAX_CHARS = 1000


def chunk_document(doc: Document, *, max_chars: int = MAX_CHARS) -> list[Chunk]:
    """Chunks for a document: one per section, long sections split by paragraphs to `max_chars`.

    A chunk id is `<doc_id>#<section slug>/<n>`, so editing one section changes only its chunks.
    The embedded text starts with the title and the section trail, so a chunk is findable by both.
    """
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for section in doc.sections:
        slug = "/".join(_slug(p) for p in section.path) or "intro"
        seen[slug] = seen.get(slug, 0) + 1
        if seen[slug] > 1:  # the same heading twice in one document
            slug = f"{slug}-{seen[slug]}"
        trail = " > ".join(section.path)
        for n, piece in enumerate(split_text(section.text, max_chars)):
            chunk_id = f"{doc.doc_id}#{slug}/{n}"
            meta = ChunkMetadata(
                doc_id=doc.doc_id,
                chunk_id=chunk_id,
                title=doc.title,
                section=trail,
                doc_type=doc.doc_type,
                access=doc.access,
                model_id=doc.model_id,
                date=doc.date,
                file=doc.file,
                source=doc.source,
                attack_type=doc.attack_type,
                stage=doc.stage,
                severity=doc.severity,
                status=doc.status,
                atlas_techniques=doc.atlas_techniques,
                atlas_type=doc.atlas_type,
                url=doc.url,
                flagged_injection=bool(doc.injection_reasons),
                injection_reasons=doc.injection_reasons,
            )
            chunks.append(
                Chunk(chunk_id=chunk_id, text=piece, embed_text=embed_text(doc.title, trail, piece), metadata=meta)
            )
    return chunks


def embed_text(title: str, section: str, text: str) -> str:
    """What is embedded (and indexed for BM25) for a chunk: title, section trail, then the text."""
    head = f"{title}\n{section}" if section else title
    return f"{head}\n\n{text}"


def split_text(text: str, max_chars: int = MAX_CHARS) -> list[str]:
    """Pack paragraphs into pieces of at most `max_chars`; an oversized paragraph is split by sentences."""
    pieces: list[str] = []
    current = ""
    for para in _units(text, max_chars):
        candidate = f"{current}\n\n{para}" if current else para
        if len(candidate) <= max_chars:
            current = candidate
        else:
            if current:
                pieces.append(current)
            current = para
    if current:
        pieces.append(current)
    return pieces


def _units(text: str, max_chars: int) -> list[str]:
    """Paragraphs; one longer than `max_chars` is broken at lines, then sentences, then words."""
    out: list[str] = []
    for para in re.split(r"\n\s*\n", text.strip()):
        para = para.strip()
        if not para:
            continue
        if len(para) <= max_chars:
            out.append(para)
            continue
        parts: list[tuple[str, str]] = []  # (text, joiner placed before it)
        for line in para.split("\n"):
            sentences = [line] if len(line) <= max_chars else re.split(r"(?<=[.!?])\s+", line)
            for i, sentence in enumerate(sentences):
                for j, run in enumerate(_hard_wrap(sentence.strip(), max_chars)):
                    parts.append((run, "\n" if i == 0 and j == 0 else " "))
        buf = ""
        for run, joiner in parts:
            joined = f"{buf}{joiner}{run}" if buf else run
            if len(joined) <= max_chars:
                buf = joined
            else:
                out.append(buf)
                buf = run
        if buf:
            out.append(buf)
    return out


def _hard_wrap(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence] if sentence else []
    runs, buf = [], ""
    for word in sentence.split():
        while len(word) > max_chars:  # a single enormous token (a blob): cut it
            if buf:
                runs.append(buf)
                buf = ""
            runs.append(word[:max_chars])
            word = word[max_chars:]
        joined = f"{buf} {word}" if buf else word
        if len(joined) <= max_chars:
            buf = joined
        else:
            runs.append(buf)
            buf = word
    if buf:
        runs.append(buf)
    return runs


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "section"
