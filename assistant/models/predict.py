"""Predictions with ranked risk tiers: one record, explicit values, or a cohort."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from assistant.errors import BadInput
from assistant.models.filters import Filter, apply_filters
from assistant.models.registry import Model


class Prediction(BaseModel):
    model_id: str
    record_id: str | None = None
    entity: str = "record"
    probability: float
    tier: str
    tier_rank: int
    tier_count: int
    action: str
    meaning: str
    positive_label: str
    inputs: dict[str, Any]
    assumed: list[str] = Field(default_factory=list, description="A described case's inputs taken as typical values.")


class TierShare(BaseModel):
    tier: str
    rank: int
    count: int
    share: float
    action: str


class CohortSummary(BaseModel):
    model_id: str
    entity: str
    filters: list[Filter]
    count: int
    population: int
    mean_probability: float | None
    tiers: list[TierShare]


def tier_meaning(model: Model, rank: int) -> str:
    """The tier's plain meaning: its own `meaning`, else its place in the ranking in words."""
    tiers = model.spec.risk_tiers
    tier = tiers[rank - 1]
    if tier.meaning:
        return tier.meaning
    label = model.spec.positive_label
    if rank == len(tiers):
        return f"{tier.name} is the highest of {len(tiers)} risk tiers: the likeliest {label} cases."
    if rank == 1:
        return f"{tier.name} is the lowest of {len(tiers)} risk tiers: {label} is unlikely."
    return f"{tier.name} is tier {rank} of {len(tiers)}, ranked by estimated chance of {label}."


def _prediction(model: Model, probability: float, inputs: dict[str, Any], record_id: str | None) -> Prediction:
    tier, rank = model.tier_for(probability)
    return Prediction(
        model_id=model.id,
        record_id=record_id,
        entity=model.spec.entity,
        probability=float(probability),
        tier=tier.name,
        tier_rank=rank,
        tier_count=len(model.spec.risk_tiers),
        action=tier.action,
        meaning=tier_meaning(model, rank),
        positive_label=model.spec.positive_label,
        inputs={k: _plain(v) for k, v in inputs.items()},
    )


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def predict_record(model: Model, record_id: str) -> Prediction:
    """Score the record with this id."""
    row = model.record(record_id)
    probability = float(model.record_probabilities.loc[row.name])
    return _prediction(model, probability, row[model.spec.feature_names].to_dict(), str(row.name))


def predict_values(model: Model, values: dict[str, Any], *, base_record: str | None = None, base=None) -> Prediction:
    """Score explicit feature values (validated); missing ones come from `base_record` (or `base`) if given."""
    if base_record:
        base = model.record(base_record)
    frame = model.row_from_values(values, base)
    probability = float(model.probabilities(frame)[0])
    return _prediction(model, probability, frame.iloc[0].to_dict(), str(base.name) if base_record else None)


def predict_described(model: Model, values: dict[str, Any]) -> Prediction:
    """Score a case described by some of its inputs; the others take the records' typical values."""
    typical = model.memo("typical", lambda: _typical(model))
    prediction = predict_values(model, values, base_record=None, base=typical)
    prediction.assumed = [f for f in model.spec.feature_names if f not in values]
    return prediction


def _typical(model: Model):
    """The median of each numeric input and the most common value of the others, over the stored records."""
    import pandas as pd

    rows = model.records if len(model.records) else model.reference
    out = {}
    for f in model.spec.features:
        column = rows[f.name].dropna()
        out[f.name] = column.median() if f.type == "numeric" and len(column) else (column.mode().iloc[0] if len(column) else None)
    return pd.Series(out)


def predict_cohort(model: Model, filters: list[Filter] | None = None) -> CohortSummary:
    """Counts and shares per risk tier over the records matching every filter."""
    filters = [f if isinstance(f, Filter) else Filter.model_validate(f) for f in filters or []]
    if not len(model.records):
        raise BadInput(f"model {model.id} has no records to summarise")
    rows = apply_filters(model, model.records, filters)
    scores = model.record_probabilities.loc[rows.index].to_numpy()
    ranks = model.tier_ranks(scores) if len(scores) else np.zeros(0, dtype=int)
    tiers = []
    for rank, tier in enumerate(model.spec.risk_tiers, start=1):
        count = int((ranks == rank).sum())
        tiers.append(TierShare(tier=tier.name, rank=rank, count=count,
                               share=count / len(scores) if len(scores) else 0.0, action=tier.action))
    return CohortSummary(
        model_id=model.id,
        entity=model.spec.entity,
        filters=filters,
        count=len(scores),
        population=len(model.records),
        mean_probability=float(scores.mean()) if len(scores) else None,
        tiers=tiers,
    )
