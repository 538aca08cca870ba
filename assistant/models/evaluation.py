"""How well a model performs on its labelled reference data, and where it goes wrong."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel
from sklearn import metrics as skm

from assistant.errors import BadInput
from assistant.models.features import format_value
from assistant.models.filters import Filter, apply_filters
from assistant.models.registry import Model

Metric = Literal["accuracy", "precision", "recall", "f1", "roc_auc"]
METRICS: tuple[str, ...] = ("accuracy", "precision", "recall", "f1", "roc_auc")


class TierOutcome(BaseModel):
    tier: str
    rank: int
    count: int
    observed_rate: float | None
    expected_rate: float | None


class Performance(BaseModel):
    model_id: str
    filters: list[Filter] = []
    rows: int
    positive_rate: float
    threshold: float
    metrics: dict[str, float | None]
    metric: str | None = None
    tiers: list[TierOutcome]


class Segment(BaseModel):
    feature: str
    label: str
    segment: str
    count: int
    error_rate: float
    false_positive_rate: float
    false_negative_rate: float


class ModelErrors(BaseModel):
    model_id: str
    filters: list[Filter] = []
    rows: int
    overall_error_rate: float
    segments: list[Segment]


def _require_reference(model: Model):
    if not model.spec.reference:
        raise BadInput(f"model {model.id} has no labelled reference data, so its accuracy cannot be measured")


def _scores(model: Model) -> np.ndarray:
    return model.memo("reference_scores", lambda: model.probabilities(model.reference))


def _segment(model: Model, filters) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[Filter]]:
    """Reference rows, labels and scores, restricted to the rows matching `filters`."""
    filters = [f if isinstance(f, Filter) else Filter.model_validate(f) for f in filters or []]
    ref, y, p = model.reference, model.labels, _scores(model)
    if filters:
        rows = apply_filters(model, ref, filters)
        mask = ref.index.isin(rows.index)
        if not mask.any():
            raise BadInput("no labelled reference cases match " + ", ".join(f.describe() for f in filters))
        ref, y, p = ref[mask], y[mask], p[mask]
    return ref, y, p, filters


def performance(model: Model, metric: str | None = None, filters=None) -> Performance:
    """Accuracy, precision, recall, F1 and ROC AUC on the reference set (or a segment of it), and outcome rate per tier."""
    if filters:
        return _performance(model, metric, filters)
    # The reference set and the artifact are fixed while a model is loaded (like its record scores), so
    # the whole-model figures are computed once; every posture question reads them.
    return model.memo(f"performance|{metric}", lambda: _performance(model, metric, None)).model_copy(deep=True)


def _performance(model: Model, metric: str | None = None, filters=None) -> Performance:
    _require_reference(model)
    if metric is not None and metric not in METRICS:
        from assistant.errors import not_found

        raise not_found("metric", metric, list(METRICS))
    _, y, p, filters = _segment(model, filters)
    threshold = model.spec.decision_threshold
    predicted = (p >= threshold).astype(int)
    values = {
        "accuracy": skm.accuracy_score(y, predicted),
        "precision": skm.precision_score(y, predicted, zero_division=0),
        "recall": skm.recall_score(y, predicted, zero_division=0),
        "f1": skm.f1_score(y, predicted, zero_division=0),
        "roc_auc": skm.roc_auc_score(y, p) if len(set(y)) == 2 else None,
    }
    ranks = model.tier_ranks(p)
    tiers = []
    for rank, tier in enumerate(model.spec.risk_tiers, start=1):
        hit = ranks == rank
        tiers.append(TierOutcome(tier=tier.name, rank=rank, count=int(hit.sum()),
                                 observed_rate=float(y[hit].mean()) if hit.any() else None,
                                 expected_rate=float(p[hit].mean()) if hit.any() else None))
    return Performance(model_id=model.id, filters=filters, rows=len(y), positive_rate=float(y.mean()), threshold=threshold,
                       metrics={k: None if v is None else float(v) for k, v in values.items()}, metric=metric, tiers=tiers)


def model_errors(model: Model, top_k: int = 5, min_count: int | None = None, filters=None) -> ModelErrors:
    """The segments of the reference data (one feature's band or category) where the model is most often wrong."""
    _require_reference(model)
    ref, y, p, filters = _segment(model, filters)
    wrong = (p >= model.spec.decision_threshold).astype(int) != y
    min_count = min_count or max(10 if filters else 20, len(ref) // 50)
    segments = []
    for feature in model.spec.features:
        column = ref[feature.name]
        if feature.type == "numeric" and column.nunique() > 6:
            bands = pd.qcut(column.astype(float), q=4, duplicates="drop")
            groups = {}
            for band in bands.cat.categories:
                hit = (bands == band).to_numpy()
                inside = column[hit].astype(float)
                groups[f"{format_value(feature, inside.min())} to {format_value(feature, inside.max())}"] = hit
        else:
            groups = {format_value(feature, v): (column == v).to_numpy() for v in column.unique()}
        for name, hit in groups.items():
            count = int(hit.sum())
            if count < min_count:
                continue
            negatives, positives = hit & (y == 0), hit & (y == 1)
            segments.append(Segment(
                feature=feature.name, label=feature.label, segment=name, count=count,
                error_rate=float(wrong[hit].mean()),
                false_positive_rate=float(wrong[negatives].mean()) if negatives.any() else 0.0,
                false_negative_rate=float(wrong[positives].mean()) if positives.any() else 0.0,
            ))
    segments.sort(key=lambda s: (-s.error_rate, -s.count))
    return ModelErrors(model_id=model.id, filters=filters, rows=len(y), overall_error_rate=float(wrong.mean()),
                       segments=segments[: max(1, top_k)])
