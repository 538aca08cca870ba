"""Additive explanations (Shapley values) for one prediction, a cohort, and the whole model.

Linear models get exact linear SHAP values, tree ensembles shap's TreeExplainer, anything else a
permutation-sampling Shapley estimate; all three add up exactly to the model output's difference
from the baseline. Pipelines are explained on their transformed columns, which are then summed
back to the business features they came from.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from assistant.models.features import format_value, phrase
from assistant.models.filters import Filter, apply_filters
from assistant.models.predict import Prediction, predict_record, predict_values
from assistant.models.registry import Model

Space = Literal["log_odds", "probability"]
_SAMPLE = 300  # rows used for global importance and cohort explanations; plenty for stable means


class Contribution(BaseModel):
    feature: str
    label: str
    value: Any = None
    display: str = ""
    contribution: float
    share: float
    direction: Literal["raised", "lowered"]
    text: str


class Explanation(BaseModel):
    model_id: str
    record_id: str | None
    prediction: Prediction
    method: str
    output_space: Space
    base_value: float
    output_value: float
    reasons: list[Contribution]
    contributions: list[Contribution]


class CohortExplanation(BaseModel):
    model_id: str
    filters: list[Filter]
    count: int
    method: str
    reasons: list[Contribution]


class Importance(BaseModel):
    feature: str
    label: str
    rank: int
    importance: float
    share: float


class FeatureImportance(BaseModel):
    model_id: str
    method: str
    features: list[Importance]
    feature: str | None = None
    rank: int | None = None
    filters: list[Filter] = Field(default_factory=list, description="The segment measured on; empty for everyone.")


class Attributor:
    """Shapley attributions per business feature for one model."""

    def __init__(self, model: Model):
        self.model = model
        estimator = model.estimator
        self.columns = model.column_order
        background = model.features_frame(model.reference)
        self.background = background
        steps = getattr(estimator, "steps", None)
        self.pre = estimator[:-1] if steps and len(steps) > 1 else None
        self.final = estimator[-1] if steps else estimator
        self.method, self.space = "permutation", "probability"
        self.mapping = self._column_map() if self.pre is not None else np.eye(len(self.columns))
        if self.mapping is not None:
            if _is_linear(self.final):
                self._setup_linear()
            elif self._setup_tree():
                pass
        if self.method == "permutation":
            rng = np.random.default_rng(0)
            take = rng.choice(len(background), size=min(40, len(background)), replace=False)
            self.perm_background = background.iloc[np.sort(take)].reset_index(drop=True)
            self.base_value = float(self.model.probabilities(self.perm_background).mean())

    # -- set-up --------------------------------------------------------------------------------
    def _transform(self, frame: pd.DataFrame) -> np.ndarray:
        if self.pre is not None:
            fast = self.model.transformed(frame)  # a few rows without scikit-learn's frame handling
            if fast is not None:
                return fast
        z = self.pre.transform(frame) if self.pre is not None else frame.to_numpy()
        if hasattr(z, "toarray"):
            z = z.toarray()
        return np.asarray(z, dtype=float)

    def _column_map(self) -> np.ndarray | None:
        """Matrix (transformed column -> business feature), from column names or by probing."""
        d = len(self.columns)
        try:
            names = [str(n) for n in self.pre.get_feature_names_out()]
        except Exception:
            names = None
        if names:
            mapping = np.zeros((len(names), d))
            for i, name in enumerate(names):
                owner = _owner(name, self.columns)
                if owner is None:
                    break
                mapping[i, owner] = 1.0
            else:
                return mapping
        return self._probe_map()

    def _probe_map(self) -> np.ndarray | None:
        sample = self.background.iloc[:200].reset_index(drop=True)
        z0 = self._transform(sample)
        mapping = np.zeros((z0.shape[1], len(self.columns)))
        for j, column in enumerate(self.columns):
            changed = sample.copy()
            changed[column] = np.roll(sample[column].to_numpy(), 7)
            moved = np.abs(self._transform(changed) - z0).max(axis=0) > 0
            mapping[moved, j] = 1.0
        if (mapping.sum(axis=1) > 1).any():  # a column mixing two features cannot be split
            return None
        return mapping

    def _setup_linear(self) -> None:
        coef = np.asarray(self.final.coef_, dtype=float).reshape(-1)
        sign = 1.0 if self.model.positive_index == 1 else -1.0
        z_ref = self._transform(self.background)
        self.coef = sign * coef
        self.z_mean = z_ref.mean(axis=0)
        self.base_value = float(sign * np.asarray(self.final.intercept_).reshape(-1)[0] + self.coef @ self.z_mean)
        self.method, self.space = "linear_shap", "log_odds"

    def _setup_tree(self) -> bool:
        try:
            import shap

            explainer = shap.TreeExplainer(self.final)
            probe = self.background.iloc[:5]
            z = self._transform(probe)
            values, base = self._tree_values(explainer, z)
        except Exception:
            return False
        total = base + values.sum(axis=1)
        proba = self.model.probabilities(probe)
        for space, target in (("probability", proba), ("log_odds", _logit(proba))):
            if np.allclose(total, target, atol=1e-6):
                self.tree, self.method, self.space, self.base_value = explainer, "tree_shap", space, base
                return True
        return False

    def _tree_values(self, explainer, z: np.ndarray) -> tuple[np.ndarray, float]:
        values = explainer.shap_values(z, check_additivity=False)
        expected = np.asarray(explainer.expected_value, dtype=float).reshape(-1)
        idx = self.model.positive_index
        if isinstance(values, list):
            values = values[idx]
        values = np.asarray(values, dtype=float)
        if values.ndim == 3:
            values = values[:, :, idx]
        base = float(expected[idx] if expected.size > 1 else expected[0])
        return values, base

    # -- use -----------------------------------------------------------------------------------
    def attribute(self, frame: pd.DataFrame) -> np.ndarray:
        """(rows, business features) attributions, in `self.columns` order."""
        if self.method == "linear_shap":
            return (self.coef * (self._transform(frame) - self.z_mean)) @ self.mapping
        if self.method == "tree_shap":
            values, _ = self._tree_values(self.tree, self._transform(frame))
            return values @ self.mapping
        return np.vstack([self._permutation(frame.iloc[[i]]) for i in range(len(frame))])

    def attribute_record(self, record_id: str) -> np.ndarray:
        """Attributions for one stored record, from its transformed row (transformed once for all records)."""
        if self.method == "permutation":
            return self.attribute(self.model.features_frame(self.model.records.loc[[record_id]]))[0]
        position = self.model.records.index.get_loc(record_id)
        z = self.record_matrix[position: position + 1]
        if self.method == "linear_shap":
            return ((self.coef * (z - self.z_mean)) @ self.mapping)[0]
        values, _ = self._tree_values(self.tree, z)
        return (values @ self.mapping)[0]

    @property
    def record_matrix(self) -> np.ndarray:
        """Every record's transformed features, computed once per loaded model (records are fixed)."""
        return self.model.memo("record_matrix", lambda: self._transform(self.model.features_frame(self.model.records)))

    def output(self, frame: pd.DataFrame) -> np.ndarray:
        """The model output the attributions explain (log-odds or probability)."""
        proba = self.model.probabilities(frame)
        return _logit(proba) if self.space == "log_odds" else proba

    def _permutation(self, row: pd.DataFrame, permutations: int = 8) -> np.ndarray:
        """Antithetic permutation sampling of Shapley values; exactly additive by construction."""
        d, bg = len(self.columns), self.perm_background
        rng = np.random.default_rng(1)
        orders = []
        for _ in range(permutations // 2):
            order = rng.permutation(d)
            orders += [order, order[::-1]]
        batches = []
        for order in orders:
            current = bg.copy()
            batches.append(current.copy())
            for j in order:
                current[self.columns[j]] = row.iloc[0][self.columns[j]]
                batches.append(current.copy())
        scores = self.model.probabilities(pd.concat(batches, ignore_index=True))
        means = scores.reshape(len(orders), d + 1, len(bg)).mean(axis=2)
        phi = np.zeros(d)
        for k, order in enumerate(orders):
            phi[order] += np.diff(means[k])
        return phi / len(orders)

    def importance(self, filters=None) -> np.ndarray:
        """Mean absolute attribution per feature over a reference sample (computed once per segment)."""
        def compute() -> np.ndarray:
            rows = apply_filters(self.model, self.background, filters) if filters else self.background
            if rows.empty:
                from assistant.errors import NotFound

                raise NotFound("no reference rows match those conditions, so importance cannot be measured for them")
            sample = rows.sample(min(_SAMPLE, len(rows)), random_state=0)
            if self.method == "permutation":
                sample = sample.iloc[:60]
            return np.abs(self.attribute(sample)).mean(axis=0)

        key = "importance" + ("" if not filters else "|" + "|".join(f"{f.feature}{f.op}{f.value}" for f in filters))
        return self.model.memo(key, compute)


def _is_linear(estimator: Any) -> bool:
    coef = getattr(estimator, "coef_", None)
    return coef is not None and np.asarray(coef).shape[0] == 1 and hasattr(estimator, "intercept_")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-15, 1 - 1e-15)
    return np.log(p / (1 - p))


def _owner(name: str, columns: list[str]) -> int | None:
    """Which business feature a transformed column like `cat__student_Yes` came from."""
    candidates = [name] + [name.split("__", k)[-1] for k in range(1, name.count("__") + 1)]
    best, best_len = None, -1
    for candidate in candidates:
        for j, column in enumerate(columns):
            if (candidate == column or candidate.startswith(column + "_")) and len(column) > best_len:
                best, best_len = j, len(column)
        if best is not None:
            return best
    return None


def attributor(model: Model) -> Attributor:
    return model.memo("attributor", lambda: Attributor(model))


def _contributions(model: Model, phi: np.ndarray, values: dict[str, Any] | None, columns: list[str]) -> list[Contribution]:
    total = float(np.abs(phi).sum()) or 1.0
    risk = f"{model.spec.positive_label} risk"
    out = []
    for j in np.argsort(-np.abs(phi)):
        feature = model.spec.feature(columns[j])
        value = values.get(feature.name) if values else None
        direction = "raised" if phi[j] > 0 else "lowered"
        share = abs(float(phi[j])) / total
        strength = "strongly " if share >= 0.35 else ("slightly " if share < 0.1 else "")
        subject = phrase(feature, value) if values else feature.label
        out.append(Contribution(
            feature=feature.name, label=feature.label, value=_plain(value),
            display=format_value(feature, value) if values else "", contribution=float(phi[j]), share=share,
            direction=direction, text=f"{subject[0].upper() + subject[1:]} {strength}{direction} the {risk}",
        ))
    return out


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def explain_prediction(model: Model, prediction: Prediction, top_k: int = 3, *, stored: bool = False) -> Explanation:
    """Top reasons for a prediction already made (by record or by values); `stored`: the record as stored."""
    explainer = attributor(model)
    if stored and prediction.record_id is not None:
        phi = explainer.attribute_record(prediction.record_id)
    else:
        phi = explainer.attribute(model.features_frame(pd.DataFrame([prediction.inputs])))[0]
    contributions = _contributions(model, phi, prediction.inputs, explainer.columns)
    return Explanation(
        model_id=model.id, record_id=prediction.record_id, prediction=prediction, method=explainer.method,
        output_space=explainer.space, base_value=explainer.base_value,
        output_value=float(explainer.base_value + phi.sum()),
        reasons=contributions[: max(1, top_k)], contributions=contributions,
    )


def record_reasons(model: Model, start: int, stop: int, top_k: int = 3) -> list[list[Contribution]]:
    """The top reasons of the stored records at positions [start, stop) of `model.records`, the same
    reasons `explain` gives for each of them one at a time; used by exports, which explain every record.

    Attributions are kept per loaded model (records and artifact are fixed while loaded), so a second
    export does not pay again for Shapley values (a 100-tree forest costs a few ms per record)."""
    explainer = attributor(model)
    records = model.records
    phi_all, known = model.memo("record_attributions", lambda: (np.zeros((len(records), len(explainer.columns))),
                                                                np.zeros(len(records), dtype=bool)))
    todo = np.flatnonzero(~known[start:stop]) + start
    if len(todo):
        phi_all[todo] = explainer.attribute(model.features_frame(records.iloc[todo]))
        known[todo] = True
    rows = records.iloc[start:stop][model.spec.feature_names].to_dict("records")
    return [_contributions(model, phi_all[start + i], {k: _plain(v) for k, v in values.items()},
                           explainer.columns)[: max(1, top_k)] for i, values in enumerate(rows)]


def explain(model: Model, record_id: str | None = None, *, values: dict[str, Any] | None = None,
            top_k: int = 3) -> Explanation:
    """Why a record (or explicit feature values) got its risk tier: top reasons with direction and size."""
    if values is None:
        return explain_prediction(model, predict_record(model, record_id), top_k, stored=True)
    return explain_prediction(model, predict_values(model, values, base_record=record_id), top_k)


def explain_cohort(model: Model, filters: list[Filter] | None = None, top_k: int = 3) -> CohortExplanation:
    """What drives risk across the records matching the filters, compared with the baseline."""
    filters = [f if isinstance(f, Filter) else Filter.model_validate(f) for f in filters or []]
    rows = apply_filters(model, model.records, filters)
    explainer = attributor(model)
    sample = rows.sample(min(_SAMPLE if explainer.method != "permutation" else 40, len(rows)), random_state=0)
    phi = explainer.attribute(model.features_frame(sample)).mean(axis=0) if len(sample) else np.zeros(len(explainer.columns))
    reasons = []
    for c in _contributions(model, phi, None, explainer.columns)[: max(1, top_k)]:
        feature = model.spec.feature(c.feature)
        typical = _typical(feature, rows[feature.name]) if len(rows) else ""
        overall = _typical(feature, model.reference[feature.name])
        c.text = (f"{feature.label.capitalize()} ({typical} here vs {overall} overall) "
                  f"{c.direction} the {model.spec.positive_label} risk")
        reasons.append(c)
    return CohortExplanation(model_id=model.id, filters=filters, count=len(rows), method=explainer.method, reasons=reasons)


def _typical(feature, column: pd.Series) -> str:
    if feature.type == "numeric":
        return "average " + format_value(feature, float(column.mean()))
    top = column.astype(str).value_counts(normalize=True)
    return f"{top.iloc[0]:.0%} {format_value(feature, top.index[0])}"


def feature_importance(model: Model, top_k: int = 5, feature: str | None = None, filters=None) -> FeatureImportance:
    """Which features matter most overall (mean absolute contribution), or where one feature ranks;
    with `filters`, measured on the matching reference rows only."""
    explainer = attributor(model)
    scores = explainer.importance(filters or None)
    total = float(scores.sum()) or 1.0
    order = np.argsort(-scores)
    ranked = [
        Importance(feature=explainer.columns[j], label=model.spec.feature(explainer.columns[j]).label,
                   rank=r, importance=float(scores[j]), share=float(scores[j]) / total)
        for r, j in enumerate(order, start=1)
    ]
    if feature is not None:
        name = model.spec.feature(feature).name
        rank = next(i.rank for i in ranked if i.feature == name)
        return FeatureImportance(model_id=model.id, method=explainer.method, features=[ranked[rank - 1]],
                                 feature=name, rank=rank, filters=list(filters or []))
    return FeatureImportance(model_id=model.id, method=explainer.method, features=ranked[: max(1, top_k)],
                             filters=list(filters or []))
