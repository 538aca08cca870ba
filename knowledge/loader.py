"""Find knowledge files under the given paths and read each into typed documents.

A file that cannot be read is rejected with its path and the reason; the others still load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from knowledge import injection
from knowledge.atlas import AtlasError, looks_like_atlas, parse_atlas
from knowledge.documents import Document, RejectedFile
from knowledge.incidents import looks_like_incidents, parse_incidents
from knowledge.markdown import MarkdownError, parse_markdown

MARKDOWN = {".md", ".markdown"}
YAML = {".yaml", ".yml"}

try:  # libyaml is ~10x faster on the 400 kB ATLAS file
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - pure-Python PyYAML
    _Loader = yaml.SafeLoader


@dataclass
class Source:
    """One ingested root (a folder or a single file) and what was found under it."""

    root: str
    documents: list[Document] = field(default_factory=list)
    rejected: list[RejectedFile] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    files: int = 0
    missing: bool = False


def discover(root: Path) -> list[Path]:
    """Knowledge files under a root, in a stable order, skipping hidden files and folders."""
    if root.is_file():
        return [root]
    files = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            files.append(path)
    return files


def load_source(root: Path) -> Source:
    """Read every knowledge file under one root."""
    root = Path(root).expanduser()
    source = Source(root=str(root.resolve()))
    if not root.exists():
        source.missing = True
        source.rejected.append(RejectedFile(file=str(root), reason="path does not exist"))
        return source
    for path in discover(root):
        rel = path.name if root.is_file() else path.relative_to(root).as_posix()
        suffix = path.suffix.lower()
        if suffix not in MARKDOWN | YAML:
            source.skipped.append(rel)
            continue
        source.files += 1
        docs, rejected = read_file(path, rel=rel, source=source.root)
        source.documents.extend(docs)
        source.rejected.extend(rejected)
    return source


def read_file(path: Path, *, rel: str, source: str = "") -> tuple[list[Document], list[RejectedFile]]:
    """Documents from one file (Markdown, incident YAML or ATLAS), or why it was rejected."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [], [RejectedFile(file=rel, reason="not UTF-8 text")]
    except OSError as exc:
        return [], [RejectedFile(file=rel, reason=f"cannot read: {exc.strerror or exc}")]
    if path.suffix.lower() in MARKDOWN:
        try:
            doc = parse_markdown(text, file=rel, source=source)
        except MarkdownError as exc:
            return [], [RejectedFile(file=rel, reason=str(exc))]
        return [_flag(doc, text)], []
    return _read_yaml(text, path=path, rel=rel, source=source)


def _read_yaml(text: str, *, path: Path, rel: str, source: str) -> tuple[list[Document], list[RejectedFile]]:
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        return [], [RejectedFile(file=rel, reason=f"invalid YAML{where}: {problem}")]
    if data is None:
        return [], [RejectedFile(file=rel, reason="empty file")]
    named_atlas = path.stem.lower().startswith("atlas")
    if looks_like_atlas(data) or (named_atlas and not looks_like_incidents(data)):
        try:
            docs = parse_atlas(data, file=rel, source=source)
        except (AtlasError, KeyError, TypeError) as exc:
            reason = str(exc) if isinstance(exc, AtlasError) else f"unexpected ATLAS structure ({exc!r})"
            return [], [RejectedFile(file=rel, reason=reason)]
        return [_flag(d, d.text) for d in docs], []
    docs, rejected = parse_incidents(data, file=rel, source=source)
    return [_flag(d, d.text) for d in docs], rejected


def _flag(doc: Document, raw: str) -> Document:
    """Attach prompt-injection reasons found anywhere in the raw text (comments included)."""
    reasons = injection.detect(doc.title + "\n" + raw)
    return doc.model_copy(update={"injection_reasons": reasons}) if reasons else doc
