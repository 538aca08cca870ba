"""What a model is, what its features and tiers mean, and what its data looks like."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from assistant.models.features import format_value
from assistant.models.filters import Filter, apply_filters
from assistant.models.predict import tier_meaning
from assistant.models.registry import Model


class FeatureInfo(BaseModel):
    model_id: str
    feature: str
    label: str
    type: str
    description: str
    unit: str | None
    values: list[Any] | None
    aliases: list[str]
    actionable: bool
    typical: str
    importance_rank: int | None = None


class TierInfo(BaseModel):
    tier: str
    rank: int
    min_probability: float
    max_probability: float
    action: str
    meaning: str
    share_of_records: float | None = None


class RiskTiers(BaseModel):
    model_id: str
    positive_label: str
    tiers: list[TierInfo]


class ModelInfo(BaseModel):
    model_id: str
    name: str
    owner: str
    description: str
    task: str
    positive_label: str
    entity: str
    estimator: str
    version: str | None
    adversarial: bool
    records: int
    reference_rows: int
    features: list[FeatureInfo]
    tiers: list[TierInfo]


class ColumnSummary(BaseModel):
    feature: str
    label: str
    mean: float | None = None
    median: float | None = None
    min: float | None = None
    max: float | None = None
    distribution: dict[str, float] | None = None


class DataSummary(BaseModel):
    model_id: str
    entity: str
    filters: list[Filter]
    count: int
    population: int
    columns: list[ColumnSummary]


def estimator_name(model: Model) -> str:
    est = model.estimator
    steps = getattr(est, "steps", None)
    final = steps[-1][1] if steps else est
    name = type(final).__name__
    return f"{name} (in a pipeline)" if steps else name


def _typical(model: Model, feature) -> str:
    data = model.records if len(model.records) else model.reference
    column = data[feature.name]
    if feature.type == "numeric":
        q = column.astype(float).quantile([0.1, 0.5, 0.9])
        return (f"median {format_value(feature, q[0.5])}, most between {format_value(feature, q[0.1])} "
                f"and {format_value(feature, q[0.9])}")
    shares = column.astype(str).value_counts(normalize=True)
    return ", ".join(f"{format_value(feature, v)} {s:.0%}" for v, s in shares.head(4).items())


def define_feature(model: Model, feature: str) -> FeatureInfo:
    """What a feature means, its unit or categories, its typical values and its importance rank."""
    from assistant.models.explain import feature_importance

    f = model.spec.feature(feature)
    rank = feature_importance(model, feature=f.name).rank
    return FeatureInfo(model_id=model.id, feature=f.name, label=f.label, type=f.type, description=f.description,
                       unit=f.unit, values=f.values, aliases=f.aliases, actionable=f.actionable,
                       typical=_typical(model, f), importance_rank=rank)


def risk_tiers(model: Model) -> RiskTiers:
    """The ranked risk tiers: probability band, meaning, recommended action and share of records."""
    tiers = model.spec.risk_tiers
    shares = None
    if len(model.records):
        ranks = model.tier_ranks(model.record_probabilities.to_numpy())
        shares = [float((ranks == r).mean()) for r in range(1, len(tiers) + 1)]
    out = [TierInfo(tier=t.name, rank=r, min_probability=tiers[r - 2].max if r > 1 else 0.0, max_probability=t.max,
                    action=t.action, meaning=tier_meaning(model, r), share_of_records=shares[r - 1] if shares else None)
           for r, t in enumerate(tiers, start=1)]
    return RiskTiers(model_id=model.id, positive_label=model.spec.positive_label, tiers=out)


def describe_model(model: Model) -> ModelInfo:
    """What the model predicts, for whom, from which features, with which tiers."""
    spec = model.spec
    features = [FeatureInfo(model_id=model.id, feature=f.name, label=f.label, type=f.type,
                            description=f.description, unit=f.unit, values=f.values, aliases=f.aliases,
                            actionable=f.actionable, typical=_typical(model, f)) for f in spec.features]
    return ModelInfo(model_id=model.id, name=spec.name, owner=spec.owner, description=spec.description,
                     task=spec.task, positive_label=spec.positive_label, entity=spec.entity,
                     estimator=estimator_name(model), version=spec.version, adversarial=spec.adversarial,
                     records=len(model.records), reference_rows=len(model.reference) if spec.reference else 0,
                     features=features, tiers=risk_tiers(model).tiers)


def data_summary(model: Model, filters: list[Filter] | None = None, feature: str | None = None) -> DataSummary:
    """Counts, averages and distributions of the model's records, optionally filtered or for one feature."""
    filters = [f if isinstance(f, Filter) else Filter.model_validate(f) for f in filters or []]
    rows = apply_filters(model, model.records, filters)
    columns = []
    for f in [model.spec.feature(feature)] if feature else model.spec.features:
        column = rows[f.name]
        if f.type == "numeric":
            values = column.astype(float)
            empty = not len(values)
            columns.append(ColumnSummary(
                feature=f.name, label=f.label,
                mean=None if empty else float(values.mean()), median=None if empty else float(values.median()),
                min=None if empty else float(values.min()), max=None if empty else float(values.max())))
        else:
            shares = column.astype(str).value_counts(normalize=True)
            columns.append(ColumnSummary(feature=f.name, label=f.label,
                                         distribution={format_value(f, k): float(v) for k, v in shares.items()}))
    return DataSummary(model_id=model.id, entity=model.spec.entity, filters=filters, count=len(rows),
                       population=len(model.records), columns=columns)



