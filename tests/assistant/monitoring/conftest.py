"""Monitoring fixtures: the demo models, a monitor over a temporary SQLite store, shifted inputs."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assistant.config import load_settings
from assistant.models.registry import Model, Registry
from assistant.monitoring import Monitor


@pytest.fixture(scope="session")
def demo_registry(demo_models: Path) -> Registry:
    return Registry([demo_models])


@pytest.fixture()
def make_monitor(tmp_path: Path):
    """`make_monitor(registry)` → a Monitor whose state lives in this test's temporary directory."""

    def make(registry: Registry, **kwargs) -> Monitor:
        return Monitor(load_settings(data_dir=tmp_path / "data"), registry, **kwargs)

    return make


def sample_inputs(model: Model, n: int, seed: int) -> pd.DataFrame:
    """Inputs as production sends them: real records of the model, sampled."""
    return model.records.sample(n, random_state=seed, replace=n > len(model.records))[model.spec.feature_names].reset_index(drop=True)


def shift(model: Model, frame: pd.DataFrame, numeric: list[str], categorical: str | None, seed: int = 0) -> pd.DataFrame:
    """Numbers moved up by one reference standard deviation; a category's mix tilted towards its rarest value."""
    out = frame.copy()
    for name in numeric:
        out[name] = out[name] + float(model.reference[name].std())
    if categorical:
        rarest = model.reference[categorical].astype(str).value_counts().index[-1]
        rng = np.random.default_rng(seed)
        out.loc[rng.random(len(out)) < 0.5, categorical] = rarest
    return out


def record(monitor: Monitor, model: Model, frame: pd.DataFrame, days_ago: float = 8.0) -> None:
    monitor.record(model.id, frame.to_dict("records"), ts=time.time() - days_ago * 86400)


def shifted_features(model: Model) -> tuple[list[str], str]:
    numeric = [f.name for f in model.spec.features if f.type == "numeric"][:2]
    categorical = next(f.name for f in model.spec.features if f.type == "categorical")
    return numeric, categorical
