"""What-if scenarios and counterfactuals: how a prediction moves when inputs change."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from assistant.errors import BadInput
from assistant.models.features import coerce, format_value, parse_number
from assistant.models.predict import Prediction, predict_record, predict_values
from assistant.models.registry import Model


class Change(BaseModel):
    feature: str
    label: str
    old: Any
    new: Any
    old_display: str
    new_display: str


class WhatIf(BaseModel):
    model_id: str
    record_id: str | None
    changes: list[Change]
    before: Prediction
    after: Prediction
    tier_changed: bool


class Counterfactual(BaseModel):
    model_id: str
    record_id: str
    before: Prediction
    found: bool
    changes: list[Change]
    after: Prediction | None
    target_tier: str | None
    note: str = ""


def resolve_changes(model: Model, base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """New values from `{"feature": value}` or `{"feature": {"increase"|"decrease": x}}` (also "set")."""
    if not changes:
        raise BadInput("a what-if needs at least one change, e.g. balance=500 or {'balance': {'decrease': 500}}")
    new: dict[str, Any] = {}
    for name, spec in changes.items():
        feature = model.spec.feature(name)
        if isinstance(spec, dict):
            if len(spec) != 1:
                raise BadInput(f"change for {name} must be one of set / increase / decrease, got {spec}")
            (how, amount), = spec.items()
            if how == "set":
                new[feature.name] = coerce(feature, amount)
                continue
            if how not in {"increase", "decrease"}:
                raise BadInput(f"change for {name} must be set, increase or decrease, not {how!r}")
            if feature.type != "numeric":
                raise BadInput(f"{name} is {feature.type}; it can be set to a value but not {how}d")
            delta = parse_number(amount)
            if delta is None:
                raise BadInput(f"{how} amount for {name} must be a number, got {amount!r}")
            current = parse_number(base[feature.name])
            new[feature.name] = current + delta if how == "increase" else current - delta
        else:
            new[feature.name] = coerce(feature, spec)
    return new


def _change(model: Model, name: str, old: Any, new: Any) -> Change:
    feature = model.spec.feature(name)
    return Change(feature=name, label=feature.label, old=_plain(old), new=_plain(new),
                  old_display=format_value(feature, old), new_display=format_value(feature, new))


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def what_if(model: Model, record_id: str | None, changes: dict[str, Any],
            values: dict[str, Any] | None = None) -> WhatIf:
    """Old versus new probability and tier after applying changes to a record (or to explicit values)."""
    before = predict_record(model, record_id) if values is None else predict_values(model, values, base_record=record_id)
    new_values = resolve_changes(model, before.inputs, changes)
    after = predict_values(model, {**before.inputs, **new_values})
    after.record_id = before.record_id
    return WhatIf(
        model_id=model.id, record_id=before.record_id,
        changes=[_change(model, k, before.inputs[k], v) for k, v in new_values.items()],
        before=before, after=after, tier_changed=after.tier != before.tier,
    )


def counterfactual(model: Model, record_id: str, max_features: int = 2) -> Counterfactual:
    """The smallest change to actionable features that moves the record to a lower risk tier.

    Candidate values come from the reference data (quantiles for numbers, every category); a
    change's cost is its size in reference standard deviations (1 per categorical switch), and
    the cheapest single change wins, else the cheapest pair.
    """
    before = predict_record(model, record_id)
    if before.tier_rank == 1:
        return Counterfactual(model_id=model.id, record_id=before.record_id, before=before, found=False, changes=[],
                              after=None, target_tier=None, note=f"already in the lowest tier ({before.tier})")
    target_rank = before.tier_rank - 1
    target = model.spec.risk_tiers[target_rank - 1]
    options = _options(model, before.inputs)
    if not options:
        return Counterfactual(model_id=model.id, record_id=before.record_id, before=before, found=False, changes=[],
                              after=None, target_tier=target.name, note="the model has no actionable features")
    base = pd.DataFrame([before.inputs])
    singles = [(cost, {name: value}) for name, value, cost in options]
    best = _cheapest(model, base, singles, target.max)
    if best is None and max_features > 1:
        singles.sort(key=lambda c: c[0])
        pairs = [(c1 + c2, {**d1, **d2}) for i, (c1, d1) in enumerate(singles) for c2, d2 in singles[i + 1:]
                 if d1.keys().isdisjoint(d2.keys())]
        best = _cheapest(model, base, pairs[:4000], target.max)
    if best is None:
        return Counterfactual(model_id=model.id, record_id=before.record_id, before=before, found=False, changes=[],
                              after=None, target_tier=target.name,
                              note=f"no change of up to {max_features} actionable features reaches {target.name}")
    after = predict_values(model, {**before.inputs, **best})
    after.record_id = before.record_id
    return Counterfactual(model_id=model.id, record_id=before.record_id, before=before, found=True,
                          changes=[_change(model, k, before.inputs[k], v) for k, v in best.items()],
                          after=after, target_tier=target.name)


def _options(model: Model, inputs: dict[str, Any]) -> list[tuple[str, Any, float]]:
    ref = model.reference
    out = []
    for feature in model.spec.features:
        if not feature.actionable:
            continue
        current = inputs[feature.name]
        if feature.type == "numeric":
            column = ref[feature.name].astype(float)
            std = float(column.std()) or 1.0
            integer = bool((column % 1 == 0).all())
            grid = np.unique(np.quantile(column, np.linspace(0, 1, 41)))
            for value in grid:
                value = float(round(value)) if integer else float(value)
                if value != float(current):
                    out.append((feature.name, value, abs(value - float(current)) / std))
        else:
            choices = feature.values if feature.type == "categorical" else [0, 1]
            for value in choices:
                if str(value).lower() != str(current).lower():
                    out.append((feature.name, value, 1.0))
    return out


def _cheapest(model: Model, base: pd.DataFrame, candidates: list[tuple[float, dict]], bound: float):
    if not candidates:
        return None
    rows = pd.concat([base] * len(candidates), ignore_index=True)
    for i, (_, change) in enumerate(candidates):
        for name, value in change.items():
            rows.at[i, name] = value
    scores = model.probabilities(rows)
    ok = [i for i in range(len(candidates)) if scores[i] <= bound + 1e-12]
    if not ok:
        return None
    best = min(ok, key=lambda i: (candidates[i][0], scores[i]))
    return candidates[best][1]
