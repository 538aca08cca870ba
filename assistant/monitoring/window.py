"""The monitoring window: the newest scored inputs of a model, as a frame of its features."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from assistant.errors import BadInput
from assistant.models.registry import Model
from assistant.monitoring.store import MonitoringStore, Observation


@dataclass
class Window:
    """Recent inputs of one model: the rows, and the time span they cover (epoch seconds)."""

    model_id: str
    frame: pd.DataFrame
    since: float | None = None
    until: float | None = None

    @property
    def rows(self) -> int:
        return len(self.frame)


def from_store(model: Model, store: MonitoringStore, size: int) -> Window:
    """The newest `size` inputs of `model`. A stored record scored again counts once (its latest
    scoring): asking about C-10293 ten times is one customer, not ten, for drift."""
    # Read more than `size` so that repeats of the same record still leave a full window.
    observations = store.recent(model.id, size * 3)
    seen: set[str] = set()
    kept: list[Observation] = []
    for o in reversed(observations):
        if o.record_id is not None and o.source == "record":
            if o.record_id in seen:
                continue
            seen.add(o.record_id)
        kept.append(o)
        if len(kept) == size:
            break
    kept.reverse()
    names = model.spec.feature_names
    frame = pd.DataFrame([{n: o.row.get(n) for n in names} for o in kept], columns=names)
    return Window(model.id, frame.dropna(how="any").reset_index(drop=True),
                  since=kept[0].ts if kept else None, until=kept[-1].ts if kept else None)


def from_frame(model: Model, frame: pd.DataFrame, where: str = "the batch") -> Window:
    """A window from a batch of rows (e.g. a CSV); missing feature columns are a BadInput naming them."""
    missing = [n for n in model.spec.feature_names if n not in frame.columns]
    if missing:
        raise BadInput(f"{where} is missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                       f"needed by model {model.id}")
    frame = frame[model.spec.feature_names].copy()
    for feature in model.spec.features:
        if feature.type == "numeric":
            values = pd.to_numeric(frame[feature.name], errors="coerce")
            bad = values.isna() & frame[feature.name].notna()
            if bad.any():
                row = int(bad.to_numpy().nonzero()[0][0])
                raise BadInput(f"{where}: column {feature.name} must be numeric; row {row + 1} has "
                               f"{frame[feature.name].iloc[row]!r}")
            frame[feature.name] = values
    if frame.isna().any().any():
        column = frame.columns[frame.isna().any()].tolist()[0]
        raise BadInput(f"{where}: column {column} has empty values")
    return Window(model.id, frame.reset_index(drop=True))


def read_batch(model: Model, path: Path) -> Window:
    """A CSV batch of inputs for offline monitoring."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"batch file {path} not found")
    try:
        frame = pd.read_csv(path)
    except Exception as exc:  # an unreadable or empty file
        raise BadInput(f"batch file {path} cannot be read as CSV ({exc})") from None
    if frame.empty:
        raise BadInput(f"batch file {path} has no rows")
    return from_frame(model, frame, where=f"batch file {path.name}")


def iso(ts: float | None) -> str | None:
    return None if ts is None else dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="seconds")
