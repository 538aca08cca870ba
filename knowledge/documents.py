"""Typed knowledge documents, their sections and chunks, and files that could not be read."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DocType = Literal["model_card", "limitations", "policy", "faq", "runbook", "incident", "reference"]
Access = Literal["public", "internal", "restricted"]
AttackType = Literal[
    "poisoning", "extraction", "evasion", "membership_inference", "inversion", "prompt_injection", "other"
]
Stage = Literal["training", "deployment", "production"]
Severity = Literal["low", "medium", "high", "critical"]
Status = Literal["open", "investigating", "mitigated", "closed"]

TECHNIQUE_ID = re.compile(r"^AML\.T\d{4}(?:\.\d{3})?$")


def normalise_choice(value: Any) -> Any:
    """Lower-case an enum-like value and turn spaces/hyphens into underscores ("Membership inference")."""
    if isinstance(value, str):
        return re.sub(r"[\s\-]+", "_", value.strip().lower())
    return value


def normalise_techniques(value: Any) -> Any:
    """Accept one id or a list of ATLAS technique ids; reject anything that is not `AML.Tdddd[.ddd]`."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValueError("must be a list of ATLAS technique ids such as AML.T0024")
    ids = []
    for item in value:
        text = str(item).strip().upper()
        if not TECHNIQUE_ID.match(text):
            raise ValueError(f"{item!r} is not an ATLAS technique id (AML.T0000 or AML.T0000.000)")
        ids.append(text)
    return ids


def technique_family(ids: list[str]) -> list[str]:
    """The ids plus their parent techniques, so a filter on AML.T0024 also finds AML.T0024.002."""
    out: list[str] = []
    for tid in ids:
        for candidate in (tid, tid.rsplit(".", 1)[0] if tid.count(".") == 2 else tid):
            if candidate not in out:
                out.append(candidate)
    return out


def explain_validation(exc: ValidationError) -> str:
    """One line naming each bad field and what is wrong with it."""
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "record"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{field}: {msg}")
    return "; ".join(parts)


class Section(BaseModel):
    """A run of text under one heading trail, e.g. ("Limitations", "Small-business accounts")."""

    path: tuple[str, ...] = ()
    text: str


class Document(BaseModel):
    """One knowledge document, whatever file format it came from."""

    model_config = ConfigDict(frozen=True)

    doc_id: str
    title: str
    doc_type: DocType
    access: Access
    model_id: str | None = None
    date: dt.date | None = None
    file: str = Field(description="Path of the source file relative to the ingested root.")
    source: str = Field("", description="The ingested root (folder or file) this document came from.")
    sections: list[Section]
    attack_type: AttackType | None = None
    stage: Stage | None = None
    severity: Severity | None = None
    status: Status | None = None
    atlas_techniques: list[str] = Field(default_factory=list)
    atlas_type: str | None = Field(None, description="technique, mitigation, tactic or case_study for ATLAS.")
    url: str | None = None
    injection_reasons: list[str] = Field(default_factory=list)

    @property
    def text(self) -> str:
        """All section text, for scanning."""
        return "\n\n".join(s.text for s in self.sections)


class ChunkMetadata(BaseModel):
    """What each stored chunk carries besides its text; flat so Chroma can filter on it."""

    doc_id: str
    chunk_id: str
    title: str
    section: str
    doc_type: DocType
    access: Access
    model_id: str | None = None
    date: dt.date | None = None
    file: str
    source: str
    attack_type: AttackType | None = None
    stage: Stage | None = None
    severity: Severity | None = None
    status: Status | None = None
    atlas_techniques: list[str] = Field(default_factory=list)
    atlas_type: str | None = None
    url: str | None = None
    flagged_injection: bool = False
    injection_reasons: list[str] = Field(default_factory=list)

    @field_validator("atlas_techniques", "injection_reasons", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return [] if value is None else value

    def to_chroma(self) -> dict[str, Any]:
        """Chroma metadata: no None values, no empty lists, dates as ISO text plus a sortable number."""
        out: dict[str, Any] = {}
        for key, value in self.model_dump().items():
            if value is None or value == []:
                continue
            if isinstance(value, dt.date):
                out["date_ord"] = value.year * 10000 + value.month * 100 + value.day
                value = value.isoformat()
            out[key] = value
        if self.atlas_techniques:
            out["atlas_match"] = technique_family(self.atlas_techniques)
        return out

    @classmethod
    def from_chroma(cls, meta: dict[str, Any]) -> ChunkMetadata:
        return cls.model_validate({k: v for k, v in meta.items() if k in cls.model_fields})


class Chunk(BaseModel):
    """A piece of a document small enough to embed, with the text that is embedded for it."""

    chunk_id: str
    text: str
    embed_text: str
    metadata: ChunkMetadata


class RejectedFile(BaseModel):
    """A file (or one record in it) that could not be ingested, and why."""

    file: str
    reason: str
