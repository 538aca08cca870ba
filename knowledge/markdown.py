"""Markdown documents with YAML front matter, split into sections along their headings."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from knowledge.documents import (
    Access,
    AttackType,
    DocType,
    Document,
    Section,
    Severity,
    Stage,
    Status,
    explain_validation,
    normalise_choice,
    normalise_techniques,
)

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


class MarkdownError(ValueError):
    """The file is not a valid knowledge document; the message says why."""


class FrontMatter(BaseModel):
    """The YAML block at the top of a Markdown knowledge document."""

    model_config = ConfigDict(extra="ignore")

    title: str
    doc_type: DocType
    model_id: str | None = None
    access: Access = "internal"
    date: dt.date | None = None
    # Optional incident fields, for incidents written up as Markdown.
    attack_type: AttackType | None = None
    stage: Stage | None = None
    severity: Severity | None = None
    status: Status | None = None
    atlas_techniques: list[str] = []

    @field_validator("doc_type", "access", "attack_type", "stage", "severity", "status", mode="before")
    @classmethod
    def _choice(cls, value: Any) -> Any:
        return normalise_choice(value)

    @field_validator("atlas_techniques", mode="before")
    @classmethod
    def _techniques(cls, value: Any) -> Any:
        return normalise_techniques(value)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @field_validator("model_id", mode="before")
    @classmethod
    def _model_id(cls, value: Any) -> Any:
        return str(value).strip() or None if value is not None else None


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """The parsed front matter and the body after it."""
    m = _FRONT_MATTER.match(text)
    if not m:
        raise MarkdownError("no YAML front matter (the file must start with a '---' block holding title and doc_type)")
    try:
        meta = yaml.safe_load(m.group(1))
    except yaml.YAMLError as exc:
        raise MarkdownError(f"front matter is not valid YAML: {_yaml_problem(exc)}") from None
    if not isinstance(meta, dict):
        raise MarkdownError("front matter must be a YAML mapping of fields (title, doc_type, ...)")
    return meta, text[m.end() :]


def sections(body: str, title: str) -> list[Section]:
    """Split a Markdown body at its headings; each section keeps its heading trail.

    A leading `# Title` that repeats the document title is dropped from the trail, and headings
    inside fenced code blocks are ignored.
    """
    out: list[Section] = []
    trail: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False

    def flush() -> None:
        text = "\n".join(lines).strip()
        if text:
            out.append(Section(path=tuple(h for _, h in trail), text=text))
        lines.clear()

    for line in body.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        m = None if in_fence else _HEADING.match(line)
        if not m:
            lines.append(line)
            continue
        flush()
        level, heading = len(m.group(1)), _plain(m.group(2))
        if level == 1 and not out and not trail and heading.casefold() == title.casefold():
            continue  # the title repeated as the first heading
        while trail and trail[-1][0] >= level:
            trail.pop()
        trail.append((level, heading))
    flush()
    return out


def parse_markdown(text: str, *, file: str, source: str = "") -> Document:
    """A Document from Markdown text; raises MarkdownError naming what is wrong."""
    meta, body = split_front_matter(text)
    try:
        front = FrontMatter.model_validate(meta)
    except ValidationError as exc:
        raise MarkdownError(f"front matter: {explain_validation(exc)}") from None
    parts = sections(body, front.title)
    if not parts:
        raise MarkdownError("the document has no text after its front matter")
    return Document(
        doc_id=file,
        title=front.title,
        doc_type=front.doc_type,
        access=front.access,
        model_id=front.model_id,
        date=front.date,
        file=file,
        source=source,
        sections=parts,
        attack_type=front.attack_type,
        stage=front.stage,
        severity=front.severity,
        status=front.status,
        atlas_techniques=front.atlas_techniques,
    )


def _plain(heading: str) -> str:
    """Heading text without Markdown emphasis or links."""
    heading = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", heading)
    return re.sub(r"[*_`]+", "", heading).strip()


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{problem} (line {mark.line + 2})" if mark else str(problem)
