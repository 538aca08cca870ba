"""Security incident records in YAML: one record per file, a list, or `{incidents: [...]}`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from knowledge.documents import (
    Access,
    AttackType,
    Document,
    RejectedFile,
    Section,
    Severity,
    Stage,
    Status,
    explain_validation,
    normalise_choice,
    normalise_techniques,
)


class IncidentRecord(BaseModel):
    """One incident as written in YAML."""

    model_config = ConfigDict(extra="ignore")

    id: str
    title: str
    model_id: str | None = None
    date: dt.date | None = None
    attack_type: AttackType
    stage: Stage | None = None
    severity: Severity
    status: Status
    summary: str
    impact: str | None = None
    mitigation: str | None = None
    access: Access = "restricted"
    atlas_techniques: list[str] = []

    @field_validator("attack_type", "stage", "severity", "status", "access", mode="before")
    @classmethod
    def _choice(cls, value: Any) -> Any:
        return normalise_choice(value)

    @field_validator("atlas_techniques", mode="before")
    @classmethod
    def _techniques(cls, value: Any) -> Any:
        return normalise_techniques(value)

    @field_validator("id", "title", "summary", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValueError("must not be empty")
        return str(value).strip()

    @field_validator("model_id", "impact", "mitigation", mode="before")
    @classmethod
    def _optional_text(cls, value: Any) -> Any:
        return None if value is None else (str(value).strip() or None)

    def to_document(self, *, file: str, source: str = "") -> Document:
        facts = [f"Incident {self.id}."]
        if self.model_id:
            facts.append(f"Model: {self.model_id}.")
        facts.append(f"Attack type: {self.attack_type.replace('_', ' ')}.")
        if self.stage:
            facts.append(f"Stage: {self.stage}.")
        facts.append(f"Severity: {self.severity}. Status: {self.status}.")
        if self.date:
            facts.append(f"Date: {self.date.isoformat()}.")
        if self.atlas_techniques:
            facts.append("MITRE ATLAS techniques: " + ", ".join(self.atlas_techniques) + ".")
        parts = [Section(path=("Summary",), text=" ".join(facts) + "\n\n" + self.summary)]
        if self.impact:
            parts.append(Section(path=("Impact",), text=self.impact))
        if self.mitigation:
            parts.append(Section(path=("Mitigation",), text=self.mitigation))
        return Document(
            doc_id=f"incident:{self.id}",
            title=self.title,
            doc_type="incident",
            access=self.access,
            model_id=self.model_id,
            date=self.date,
            file=file,
            source=source,
            sections=parts,
            attack_type=self.attack_type,
            stage=self.stage,
            severity=self.severity,
            status=self.status,
            atlas_techniques=self.atlas_techniques,
        )


def looks_like_incidents(data: Any) -> bool:
    """True when parsed YAML has the shape of incident records."""
    records = _records(data)
    return records is not None and any(isinstance(r, dict) and "id" in r and "attack_type" in r for r in records)


def parse_incidents(data: Any, *, file: str, source: str = "") -> tuple[list[Document], list[RejectedFile]]:
    """Documents for the valid records; each invalid record is rejected on its own, naming it."""
    records = _records(data)
    if records is None:
        return [], [
            RejectedFile(file=file, reason="expected an incident record, a list of them, or {incidents: [...]}")
        ]
    docs: list[Document] = []
    rejected: list[RejectedFile] = []
    single = isinstance(data, dict) and "incidents" not in data
    for index, record in enumerate(records, start=1):
        where = "" if single else f"record {index}"
        if not isinstance(record, dict):
            rejected.append(RejectedFile(file=file, reason=f"{where or 'record'}: not a mapping of fields"))
            continue
        try:
            incident = IncidentRecord.model_validate(record)
        except ValidationError as exc:
            label = (
                f"{where} ({record.get('id')})" if record.get("id") and where else where or str(record.get("id") or "")
            )
            prefix = f"{label}: " if label else ""
            rejected.append(RejectedFile(file=file, reason=prefix + explain_validation(exc)))
            continue
        docs.append(incident.to_document(file=file, source=source))
    return docs, rejected


def _records(data: Any) -> list[Any] | None:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        if isinstance(data.get("incidents"), list):
            return data["incidents"]
        return [data]
    return None
