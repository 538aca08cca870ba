"""Scoring a few rows without scikit-learn's per-call DataFrame machinery.

`estimator.predict_proba(frame)` on one row of a Pipeline(ColumnTransformer, estimator) spends
5–15 ms validating and re-assembling data frames (and, for a forest, dispatching a hundred trees
through joblib) around a few microseconds of arithmetic. A `FastScorer` reads the fitted
parameters once and applies them to plain arrays:

- preprocessing: a ColumnTransformer of StandardScaler, OneHotEncoder, OrdinalEncoder, identity
  FunctionTransformer, passthrough and drop (the building blocks of most tabular pipelines);
- the final estimator: binary LogisticRegression (sigmoid of the linear score), random and
  extra-trees forests (the mean of the trees' leaf frequencies), anything else through its own
  `predict_proba` on the array.

It is built only when it reproduces the estimator: at load it scores up to 256 reference rows both
ways and is used only if every probability agrees to 1e-9; any other pipeline, and any value it
does not know (an unseen category), goes through scikit-learn as before.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

CHECK_ROWS = 256
TOLERANCE = 1e-9


class Unsupported(Exception):
    """This row or pipeline is not one the fast path covers; use scikit-learn."""


class _Step:
    columns: list[str]

    def apply(self, frame: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError


class _Scaler(_Step):
    def __init__(self, scaler: Any, columns: list[str]):
        self.columns = columns
        self.mean = np.asarray(scaler.mean_, dtype=float) if scaler.with_mean and scaler.mean_ is not None else 0.0
        scale = getattr(scaler, "scale_", None)
        self.scale = np.asarray(scale, dtype=float) if scaler.with_std and scale is not None else 1.0

    def apply(self, frame: pd.DataFrame) -> np.ndarray:
        return (_numbers(frame, self.columns) - self.mean) / self.scale


class _Identity(_Step):
    def __init__(self, columns: list[str]):
        self.columns = columns

    def apply(self, frame: pd.DataFrame) -> np.ndarray:
        return _numbers(frame, self.columns)


class _OneHot(_Step):
    def __init__(self, encoder: Any, columns: list[str]):
        if encoder.drop is not None or getattr(encoder, "_infrequent_enabled", False):
            raise Unsupported("OneHotEncoder with drop or infrequent categories")
        self.columns = columns
        self.ignore = encoder.handle_unknown in ("ignore", "infrequent_if_exist", "warn")
        self.lookups = [_lookup(c) for c in encoder.categories_]
        self.widths = [len(c) for c in encoder.categories_]

    def apply(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.zeros((len(frame), sum(self.widths)))
        offset = 0
        for column, lookup, width in zip(self.columns, self.lookups, self.widths):
            for i, value in enumerate(frame[column].tolist()):
                j = _find(lookup, value)
                if j is None:
                    if not self.ignore:
                        raise Unsupported(f"unknown category {value!r} in {column}")
                    continue
                out[i, offset + j] = 1.0
            offset += width
        return out


class _Ordinal(_Step):
    def __init__(self, encoder: Any, columns: list[str]):
        if getattr(encoder, "_infrequent_enabled", False):
            raise Unsupported("OrdinalEncoder with infrequent categories")
        self.columns = columns
        self.lookups = [_lookup(c) for c in encoder.categories_]
        self.unknown = encoder.unknown_value if encoder.handle_unknown == "use_encoded_value" else None
        self.missing = getattr(encoder, "_missing_indices", None)
        if self.missing:
            raise Unsupported("OrdinalEncoder fitted with missing values")

    def apply(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.zeros((len(frame), len(self.columns)))
        for k, (column, lookup) in enumerate(zip(self.columns, self.lookups)):
            for i, value in enumerate(frame[column].tolist()):
                j = _find(lookup, value)
                if j is None:
                    if self.unknown is None:
                        raise Unsupported(f"unknown category {value!r} in {column}")
                    out[i, k] = float(self.unknown)
                else:
                    out[i, k] = float(j)
        return out


def _lookup(categories: np.ndarray) -> dict:
    table: dict = {}
    for j, c in enumerate(categories.tolist()):
        table.setdefault(c, j)
        table.setdefault(str(c), j)
    return table


def _find(lookup: dict, value: Any) -> int | None:
    if isinstance(value, np.generic):
        value = value.item()
    try:
        j = lookup.get(value)
    except TypeError:  # unhashable
        return None
    if j is None and value is not None and not (isinstance(value, float) and np.isnan(value)):
        j = lookup.get(str(value))
    return j


def _numbers(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    try:
        return np.column_stack([np.asarray(frame[c].to_numpy(), dtype=float) for c in columns])
    except (TypeError, ValueError) as exc:
        raise Unsupported(str(exc)) from None


def _steps(pre: Any) -> list[_Step]:
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

    if not isinstance(pre, ColumnTransformer) or getattr(pre, "sparse_output_", False):
        raise Unsupported(f"preprocessing {type(pre).__name__}")
    names = list(getattr(pre, "feature_names_in_", []))
    steps: list[_Step] = []
    for _, transformer, columns in pre.transformers_:
        if transformer == "drop":
            continue
        if isinstance(columns, slice) or (len(columns) and not isinstance(columns[0], str)):
            columns = [names[i] for i in np.arange(len(names))[columns]] if names else None
            if columns is None:
                raise Unsupported("columns selected by position without feature names")
        columns = [str(c) for c in columns]
        if not columns:
            continue
        if transformer == "passthrough":
            steps.append(_Identity(columns))
        elif isinstance(transformer, StandardScaler):
            steps.append(_Scaler(transformer, columns))
        elif isinstance(transformer, OneHotEncoder):
            steps.append(_OneHot(transformer, columns))
        elif isinstance(transformer, OrdinalEncoder):
            steps.append(_Ordinal(transformer, columns))
        elif isinstance(transformer, FunctionTransformer) and transformer.func is None:
            steps.append(_Identity(columns))
        else:
            raise Unsupported(f"transformer {type(transformer).__name__}")
    return steps


def _final(estimator: Any, positive: int):
    """(function from the transformed array to the positive class's probability)."""
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    if isinstance(estimator, LogisticRegression) and np.asarray(estimator.coef_).shape[0] == 1:
        coef = np.asarray(estimator.coef_, dtype=float)[0]
        intercept = float(np.asarray(estimator.intercept_).reshape(-1)[0])

        def linear(z: np.ndarray) -> np.ndarray:
            p = 1.0 / (1.0 + np.exp(-(z @ coef + intercept)))
            return p if positive == 1 else 1.0 - p

        return linear
    if isinstance(estimator, (RandomForestClassifier, ExtraTreesClassifier)) and estimator.n_outputs_ == 1:
        trees = [e.tree_ for e in estimator.estimators_]

        def forest(z: np.ndarray) -> np.ndarray:
            x = np.ascontiguousarray(z, dtype=np.float32)
            total = np.zeros(len(x))
            for tree in trees:
                leaf = tree.predict(x)
                leaf = leaf[:, 0, :] if leaf.ndim == 3 else leaf
                total += leaf[:, positive] / leaf.sum(axis=1)
            return total / len(trees)

        return forest

    def generic(z: np.ndarray) -> np.ndarray:
        return np.asarray(estimator.predict_proba(z))[:, positive].astype(float)

    return generic


class FastScorer:
    """Positive-class probabilities for a few rows, from the fitted parameters (see the module doc)."""

    def __init__(self, estimator: Any, positive: int):
        steps = getattr(estimator, "steps", None)
        if not steps or len(steps) != 2:
            raise Unsupported("not a two-step Pipeline (preprocessing, estimator)")
        self.pre_steps = _steps(steps[0][1])
        self.final = _final(steps[1][1], positive)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The preprocessing's output for these rows (the estimator's input)."""
        return np.hstack([s.apply(frame) for s in self.pre_steps]) if self.pre_steps else np.zeros((len(frame), 0))

    def probabilities(self, frame: pd.DataFrame) -> np.ndarray:
        z = self.transform(frame)
        if np.isnan(z).any():
            raise Unsupported("missing values")  # the estimator's own rules for them apply
        return self.final(z)


def fast_scorer(estimator: Any, positive: int, sample: pd.DataFrame, reference: np.ndarray,
                transformed: np.ndarray | None = None) -> FastScorer | None:
    """A FastScorer when it reproduces `reference` (the estimator's probabilities on `sample`) and,
    given `transformed`, the preprocessing's output; else None (scikit-learn is used as before)."""
    try:
        scorer = FastScorer(estimator, positive)
        z = scorer.transform(sample)
        if transformed is not None and (z.shape != transformed.shape or not np.allclose(z, transformed, rtol=0,
                                                                                         atol=TOLERANCE)):
            raise Unsupported("preprocessing output differs")
        if not np.allclose(scorer.final(z), reference, rtol=0, atol=TOLERANCE):
            raise Unsupported("probabilities differ")
    except Unsupported as exc:
        log.info("scoring through scikit-learn: %s", exc)
        return None
    except Exception as exc:  # noqa: BLE001 - a pipeline this module misreads falls back, never fails
        log.info("scoring through scikit-learn: %s: %s", type(exc).__name__, exc)
        return None
    return scorer
