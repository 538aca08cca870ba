"""Exports for BI tools: every stored record of a model with its tier, action and top reasons.

The rows are made by the same code the chat uses (`Model.tier_ranks` over the stored scores,
`explain.record_reasons`), so a dashboard built on an export says what the assistant says. An
export is written in chunks to a temporary file beside the target and renamed into place when
complete, so a failed export never leaves a half-written file where a BI tool would read it.
Bulk scores are what extraction is after: exports are for admins and host operators, and every
one is audited (who, which model, how many rows). They never pass through the guardrails' query
stream, so they are not counted as probing, and never through monitoring, so they do not count
as recent inputs for drift.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel

from assistant.errors import BadInput
from assistant.models.explain import record_reasons
from assistant.models.registry import Model

Format = Literal["csv", "parquet"]
SUFFIXES: dict[str, Format] = {".csv": "csv", ".parquet": "parquet"}
CHUNK_ROWS = 1000  # records scored and explained per chunk; bounds memory on large models
TOP_REASONS = 3
REASON_SEPARATOR = "; "
PROBABILITY_DECIMALS = 4


class ExportResult(BaseModel):
    """What an export wrote."""

    model_id: str
    format: Format
    path: str | None = None
    rows: int
    columns: list[str]
    model_version: str
    scored_at: str
    with_probability: bool = False


def format_for(path: Path | str) -> Format:
    """The format a file name asks for, from its suffix; anything else is a BadInput naming the choices."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise BadInput(f"cannot export to {Path(path).name!r}: the file name must end in .csv or .parquet")
    return SUFFIXES[suffix]


def model_version(model: Model) -> str:
    """The `version` in model.yaml, else the start of the artifact's sha256 (which file scored the rows)."""
    return model.spec.version or f"sha256:{model.fingerprint[:12]}"


def columns(model: Model, with_probability: bool = False) -> list[str]:
    """The export's columns, in order: the id column as named in `records.id_column`, then the rest."""
    id_column = model.spec.records.id_column if model.spec.records else "record_id"
    return [id_column, "tier", "tier_rank", "action", "reasons", *(["probability"] if with_probability else []),
            "model_version", "scored_at"]


def chunks(model: Model, *, with_probability: bool = False, chunk_rows: int = CHUNK_ROWS,
           scored_at: str | None = None) -> Iterator[pd.DataFrame]:
    """The export, `chunk_rows` records at a time, in the stored records' order."""
    if not model.spec.records or not len(model.records):
        raise BadInput(f"model {model.id} has no stored records to export")
    scored_at = scored_at or _now()
    version = model_version(model)
    names = columns(model, with_probability)
    tiers = model.spec.risk_tiers
    records = model.records
    for start in range(0, len(records), chunk_rows):
        rows = records.iloc[start:start + chunk_rows]
        probabilities = model.record_probabilities.loc[rows.index].to_numpy()
        ranks = model.tier_ranks(probabilities)
        reasons = record_reasons(model, start, start + len(rows), TOP_REASONS)
        data = {
            names[0]: rows.index.astype(str).tolist(),
            "tier": [tiers[r - 1].name for r in ranks],
            "tier_rank": [int(r) for r in ranks],
            "action": [tiers[r - 1].action for r in ranks],
            "reasons": [REASON_SEPARATOR.join(c.text for c in found) for found in reasons],
        }
        if with_probability:
            data["probability"] = [round(float(p), PROBABILITY_DECIMALS) for p in probabilities]
        data["model_version"] = [version] * len(rows)
        data["scored_at"] = [scored_at] * len(rows)
        yield pd.DataFrame(data, columns=names)


def write(model: Model, out: Path | str, *, fmt: Format | None = None, with_probability: bool = False,
          chunk_rows: int = CHUNK_ROWS, progress: Callable[[int, int], None] | None = None) -> ExportResult:
    """Write the export to `out` (format from its suffix unless `fmt` is given), chunk by chunk.

    The file appears only when complete (temporary file in the same folder, then renamed); a folder
    that does not exist or cannot be written is a BadInput naming it, and nothing is left behind."""
    out = Path(out)
    fmt = fmt or format_for(out)
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.exists():
        raise BadInput(f"cannot write {out}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise BadInput(f"cannot write {out}: {folder} is a file, not a folder")
    if out.is_dir():
        raise BadInput(f"cannot write {out}: it is a folder; give a file name ending in .{fmt}")
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=folder)
    except OSError as exc:
        raise BadInput(f"cannot write {out}: the folder {folder} is not writable ({exc.strerror})") from None
    os.close(handle)
    temp_path = Path(temp)
    scored_at = _now()
    total = len(model.records) if model.spec.records else 0
    rows = 0
    try:
        writer = _CsvWriter(temp_path) if fmt == "csv" else _ParquetWriter(temp_path)
        with writer:
            for chunk in chunks(model, with_probability=with_probability, chunk_rows=chunk_rows, scored_at=scored_at):
                writer.write(chunk)
                rows += len(chunk)
                if progress is not None:
                    progress(rows, total)
        os.replace(temp_path, out)  # readable by its owner only (mkstemp's 0600): bulk scores are sensitive
    except OSError as exc:
        raise BadInput(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        temp_path.unlink(missing_ok=True)
    return ExportResult(model_id=model.id, format=fmt, path=str(out), rows=rows, columns=columns(model, with_probability),
                        model_version=model_version(model), scored_at=scored_at, with_probability=with_probability)


class _CsvWriter:
    """CSV with a header once, chunks appended (UTF-8, no index)."""

    def __init__(self, path: Path):
        self.path, self.handle, self.header = path, None, True

    def __enter__(self) -> "_CsvWriter":
        self.handle = open(self.path, "w", encoding="utf-8", newline="")
        return self

    def write(self, chunk: pd.DataFrame) -> None:
        chunk.to_csv(self.handle, index=False, header=self.header)
        self.header = False

    def __exit__(self, *exc) -> None:
        self.handle.close()


class _ParquetWriter:
    """Parquet with one row group per chunk (pyarrow), so large models never sit in memory at once."""

    def __init__(self, path: Path):
        self.path, self.writer = path, None

    def __enter__(self) -> "_ParquetWriter":
        return self

    def write(self, chunk: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(chunk, preserve_index=False)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema)
        self.writer.write_table(table)

    def __exit__(self, *exc) -> None:
        if self.writer is not None:
            self.writer.close()


def _now() -> str:
    return dt.datetime.fromtimestamp(time.time(), dt.timezone.utc).isoformat(timespec="seconds")


def export(model: Model, out: Path | str, *, principal, audit=None, fmt: Format | None = None,
           with_probability: bool = False, chunk_rows: int = CHUNK_ROWS,
           progress: Callable[[int, int], None] | None = None) -> ExportResult:
    """`write`, audited: the entry names who exported which model and how many rows (a failed attempt
    is audited too, as an error). `principal` is an `assistant.answer.Principal`; `audit` an audit log."""
    from assistant.errors import AssistantError

    started, ts = time.perf_counter(), time.time()
    fmt = fmt or format_for(out)
    try:
        result = write(model, out, fmt=fmt, with_probability=with_probability, chunk_rows=chunk_rows,
                       progress=progress)
    except AssistantError as exc:
        if audit is not None:
            failed = ExportResult(model_id=model.id, format=fmt, rows=0, columns=[], model_version=model_version(model),
                                  scored_at=_now(), with_probability=with_probability)
            audit.record(audit_entry(principal, failed, latency_ms=(time.perf_counter() - started) * 1000, ts=ts,
                                     error=exc.message))
        raise
    if audit is not None:
        audit.record(audit_entry(principal, result, latency_ms=(time.perf_counter() - started) * 1000, ts=ts))
    return result


def audit_entry(principal, result: ExportResult, *, latency_ms: float, ts: float | None = None,
                error: str | None = None):
    """The audit log's entry for an export: who, which model, how many rows, in what format."""
    from assistant.audit import AuditEntry, AuditToolCall

    what = f"{result.rows:,} rows as {result.format}" + (" with probability" if result.with_probability else "")
    return AuditEntry(ts=time.time() if ts is None else ts, principal=principal.id, role=principal.role,
                      channel=principal.channel, question=f"export {result.model_id}: {what}",
                      model_id=result.model_id, verdict="error" if error else "answered",
                      category="export",
                      tool_calls=[AuditToolCall(name="export", arguments={
                          "model_id": result.model_id, "format": result.format, "rows": result.rows,
                          "with_probability": result.with_probability, "model_version": result.model_version})],
                      latency_ms=latency_ms, detail=error or f"exported {what}, model version {result.model_version}")
