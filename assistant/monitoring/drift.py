"""Input drift: recent inputs against the model's reference data, feature by feature.

Two measures per feature: the population stability index (PSI: how much the distribution moved,
in a size that does not grow with the sample) and a two-sample test (Kolmogorov–Smirnov for
numbers, chi-squared for categories: whether the move is more than chance). A feature drifts when
both say so — the test at 1% after a Bonferroni correction over the features, and PSI above 0.1
(Watch) or 0.25 (At risk), the thresholds credit-risk teams have used for decades. Fewer than
200 recent inputs are not judged: at that size PSI moves by chance alone.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel
from scipy import stats

from assistant.models.features import format_value
from assistant.models.registry import Model
from assistant.monitoring import encoding
from assistant.monitoring.window import Window, iso

Level = Literal["stable", "watch", "drift"]
PSI_WATCH = 0.10
PSI_DRIFT = 0.25
ALPHA = 0.01
MIN_ROWS = 200
BINS = 10


class FeatureDrift(BaseModel):
    feature: str
    label: str
    type: str
    psi: float
    test: Literal["ks", "chi2"]
    statistic: float
    p_value: float
    level: Level
    reference: str  # the reference distribution in a few words
    recent: str  # the recent one, in the same words
    shift_std: float | None = None  # change of the average, in reference standard deviations (numbers)


class DriftReport(BaseModel):
    model_id: str
    rows: int
    min_rows: int = MIN_ROWS
    judged: bool
    level: Level
    drifting: list[str]  # feature names, worst first
    features: list[FeatureDrift]  # worst first
    since: str | None = None  # oldest input in the window (ISO time)
    until: str | None = None
    thresholds: dict[str, float] = {"psi_watch": PSI_WATCH, "psi_drift": PSI_DRIFT, "alpha": ALPHA}


def _baseline(model: Model) -> dict[str, dict]:
    """Per feature: bin edges (numbers) or categories, and the reference counts — computed once."""

    def build() -> dict[str, dict]:
        ref = model.reference
        out = {}
        for feature in model.spec.features:
            if feature.type == "numeric":
                values = encoding.numeric(ref[feature.name])
                values = values[~np.isnan(values)]
                unique = np.unique(values)
                if len(unique) <= BINS:  # few distinct values (counts): one bin per value
                    inner = (unique[1:] + unique[:-1]) / 2
                else:
                    inner = np.unique(np.quantile(values, np.linspace(0, 1, BINS + 1))[1:-1])
                edges = np.concatenate([[-np.inf], inner, [np.inf]])
                counts = np.histogram(values, edges)[0]
                out[feature.name] = {"edges": edges, "counts": counts, "values": values}
            else:
                choices = encoding.categories(feature)
                values = encoding.as_categories(feature, ref[feature.name])
                out[feature.name] = {"choices": choices,
                                     "counts": values.value_counts().reindex(choices, fill_value=0).to_numpy()}
        return out

    return model.memo("monitoring:drift-baseline", build)


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two count vectors over the same bins (half-count smoothing,
    so an empty bin in a small window does not count as an infinite change)."""
    e = (expected + 0.5) / (expected.sum() + 0.5 * len(expected))
    a = (actual + 0.5) / (actual.sum() + 0.5 * len(actual))
    return float(np.sum((a - e) * np.log(a / e)))


def _describe_numeric(feature, values: np.ndarray) -> str:
    return f"average {format_value(feature, float(np.mean(values)))}" if len(values) else "no values"


def _describe_categories(feature, shares: pd.Series) -> str:
    top = shares.sort_values(ascending=False).head(3)
    return ", ".join(f"{format_value(feature, k) if k != encoding.OTHER else k} {v:.0%}" for k, v in top.items())


def _feature_drift(model: Model, feature, base: dict, frame: pd.DataFrame, alpha: float) -> FeatureDrift:
    if feature.type == "numeric":
        values = encoding.numeric(frame[feature.name])
        values = values[~np.isnan(values)]
        counts = np.histogram(values, base["edges"])[0]
        result = stats.ks_2samp(base["values"], values) if len(values) else None
        sd = float(np.std(base["values"])) or 1.0
        shift = float((np.mean(values) - np.mean(base["values"])) / sd) if len(values) else None
        drift = FeatureDrift(feature=feature.name, label=feature.label, type=feature.type,
                             psi=psi(base["counts"], counts), test="ks",
                             statistic=float(result.statistic) if result else 0.0,
                             p_value=float(result.pvalue) if result else 1.0, level="stable",
                             reference=_describe_numeric(feature, base["values"]),
                             recent=_describe_numeric(feature, values), shift_std=shift)
    else:
        recent = encoding.as_categories(feature, frame[feature.name])
        counts = recent.value_counts().reindex(base["choices"], fill_value=0).to_numpy()
        table = np.vstack([base["counts"], counts])
        table = table[:, table.sum(axis=0) > 0]
        if table.shape[1] > 1 and counts.sum():
            chi2, p, _, _ = stats.chi2_contingency(table)
        else:
            chi2, p = 0.0, 1.0
        ref_shares = pd.Series(base["counts"] / max(base["counts"].sum(), 1), index=base["choices"])
        new_shares = pd.Series(counts / max(counts.sum(), 1), index=base["choices"])
        drift = FeatureDrift(feature=feature.name, label=feature.label, type=feature.type,
                             psi=psi(base["counts"], counts), test="chi2", statistic=float(chi2), p_value=float(p),
                             level="stable", reference=_describe_categories(feature, ref_shares),
                             recent=_describe_categories(feature, new_shares))
    significant = drift.p_value < alpha
    if significant and drift.psi > PSI_DRIFT:
        drift.level = "drift"
    elif significant and drift.psi > PSI_WATCH:
        drift.level = "watch"
    return drift


def compare(model: Model, window: Window, min_rows: int = MIN_ROWS) -> DriftReport:
    """Per-feature drift of the window against the reference data, worst first."""
    baseline = _baseline(model)
    alpha = ALPHA / max(1, len(model.spec.features))
    features = []
    if window.rows:
        features = [_feature_drift(model, f, baseline[f.name], window.frame, alpha) for f in model.spec.features]
    judged = window.rows >= min_rows
    if not judged:
        for f in features:
            f.level = "stable"
    order = {"drift": 0, "watch": 1, "stable": 2}
    features.sort(key=lambda f: (order[f.level], -f.psi))
    drifting = [f.feature for f in features if f.level != "stable"]
    level: Level = "drift" if any(f.level == "drift" for f in features) else "watch" if drifting else "stable"
    return DriftReport(model_id=model.id, rows=window.rows, min_rows=min_rows, judged=judged, level=level,
                       drifting=drifting, features=features, since=iso(window.since), until=iso(window.until))
