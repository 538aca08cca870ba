"""Model features as numbers, the same way for drift, the outlier detector and the data audit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from assistant.models.registry import Model
from assistant.models.spec import Feature

OTHER = "(other)"
_TRUE = {"1", "1.0", "true", "yes", "y", "t"}


def booleans(column: pd.Series) -> np.ndarray:
    return column.astype(str).str.strip().str.lower().isin(_TRUE).to_numpy(dtype=float)


def categories(feature: Feature) -> list[str]:
    """The values a categorical or boolean feature may take, as strings, plus one bucket for the rest."""
    if feature.type == "boolean":
        return ["0", "1"]
    return [str(v) for v in feature.values or []] + [OTHER]


def as_categories(feature: Feature, column: pd.Series) -> pd.Series:
    if feature.type == "boolean":
        return pd.Series(booleans(column).astype(int).astype(str), index=column.index)
    known = set(categories(feature))
    text = column.astype(str)
    return text.where(text.isin(known), OTHER)


def numeric(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)


def skewed(values: np.ndarray) -> bool:
    """Non-negative and long-tailed (amounts, distances, counts): compared on a log scale."""
    values = values[~np.isnan(values)]
    if not len(values) or values.min() < 0 or values.std() == 0:
        return False
    centred = values - values.mean()
    return float((centred ** 3).mean() / values.std() ** 3) > 1.0


def scaled(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """`values` in reference standard deviations from the reference mean (log scale if skewed)."""
    if skewed(reference):
        reference, values = np.log1p(reference), np.log1p(np.clip(values, 0, None))
    sd = float(np.nanstd(reference)) or 1.0
    return (values - float(np.nanmean(reference))) / sd


def matrix(model: Model, frame: pd.DataFrame, *, one_hot: bool, weights: dict[str, float] | None = None) -> np.ndarray:
    """Rows as a numeric matrix: numbers standardised by the reference (long tails on a log scale),
    categories one-hot (or as codes).

    `weights` scales each feature's columns (e.g. by how much the model relies on it), so that
    distances follow what matters to the model rather than every input equally.
    """
    ref = model.reference
    blocks = []
    for feature in model.spec.features:
        w = 1.0 if weights is None else float(weights.get(feature.name, 0.0))
        if feature.type == "numeric":
            blocks.append((scaled(numeric(ref[feature.name]), numeric(frame[feature.name])) * w)[:, None])
        elif feature.type == "boolean" and one_hot:
            base = booleans(ref[feature.name])
            sd = float(base.std()) or 1.0
            blocks.append(((booleans(frame[feature.name]) - base.mean()) / sd * w)[:, None])
        else:
            values = as_categories(feature, frame[feature.name])
            choices = categories(feature)
            if one_hot:
                # Two differing categories are sqrt(2) apart one-hot; scale so a switch costs about one unit.
                blocks.append(np.stack([(values == c).to_numpy(dtype=float) for c in choices], axis=1) * w / np.sqrt(2))
            else:
                codes = {c: i for i, c in enumerate(choices)}
                blocks.append(values.map(codes).to_numpy(dtype=float)[:, None])
    return np.hstack(blocks) if blocks else np.zeros((len(frame), 0))
