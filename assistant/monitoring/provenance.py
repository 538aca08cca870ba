"""Provenance: sha256 of a model's artifact and reference data, recorded the first time the model
is seen, and compared on every check. A changed artifact under the same `version` is a finding:
nobody should replace what the model computes without saying so (ATLAS AML.T0010, supply chain)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from assistant.models.registry import Model
from assistant.monitoring.store import MonitoringStore
from assistant.monitoring.window import iso

Status = Literal["recorded", "unchanged", "new_version", "artifact_changed", "reference_changed"]


class Provenance(BaseModel):
    model_id: str
    version: str | None
    artifact_sha256: str
    reference_sha256: str | None
    registered_at: str  # when this version was first seen (ISO time)
    registered_version: str | None
    recorded_artifact_sha256: str
    recorded_reference_sha256: str | None
    status: Status
    findings: list[str] = []


class Hasher:
    """sha256 of files, recomputed only when a file's size or modification time changes."""

    def __init__(self) -> None:
        self._seen: dict[Path, tuple[tuple[int, int], str]] = {}

    def __call__(self, path: Path) -> str:
        stat = path.stat()
        key = (stat.st_size, stat.st_mtime_ns)
        cached = self._seen.get(path)
        if cached and cached[0] == key:
            return cached[1]
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        self._seen[path] = (key, digest.hexdigest())
        return self._seen[path][1]


def check(model: Model, store: MonitoringStore, hasher: Hasher, now: float | None = None) -> Provenance:
    """Record the model's hashes on first sight (or on a new version); report any change since."""
    now = time.time() if now is None else now
    artifact = hasher(model.path(model.spec.artifact))
    reference = hasher(model.path(model.spec.reference)) if model.spec.reference else None
    version = model.spec.version
    key = f"provenance:{model.id}"
    record = store.get(key)
    status: Status = "unchanged"
    if record is None or record.get("version") != version:
        status = "recorded" if record is None else "new_version"
        record = {"version": version, "artifact_sha256": artifact, "reference_sha256": reference, "registered_at": now}
        store.put(key, record)
    findings = []
    if record["artifact_sha256"] != artifact:
        status = "artifact_changed"
        findings.append(f"the model file changed since version {version or '(none)'} was registered, without a new "
                        "version: it may not be the model that was validated")
    elif record.get("reference_sha256") != reference:
        status = "reference_changed"
        findings.append(f"the reference data changed since version {version or '(none)'} was registered, without a "
                        "new version: measurements may not match the validation")
    return Provenance(model_id=model.id, version=version, artifact_sha256=artifact, reference_sha256=reference,
                      registered_at=iso(float(record["registered_at"])) or "", registered_version=record.get("version"),
                      recorded_artifact_sha256=record["artifact_sha256"],
                      recorded_reference_sha256=record.get("reference_sha256"), status=status, findings=findings)
