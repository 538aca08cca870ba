"""Training-data audit for poisoning, on the model's labelled reference data.

- Suspected label flips: rows whose label both their nearest neighbours and the model contradict.
  Neighbours are found in the model's feature space, each input weighted by how much the model
  relies on it; a row is suspect when its label's support — the mean of the share of its 20
  neighbours with the same label and the model's probability of that label — is 15% or less.
  Real labels are noisy, so some rows are always suspect: the audit compares the count with the
  count expected when labels follow the model's own probabilities (simulated), and reports a
  finding only when it is well above that (by three standard deviations).
- Outliers: numbers more than 6 robust standard deviations (median absolute deviation) from the
  median (long-tailed amounts on a log scale), and categories the model does not know.
- Duplicates: exact copies of a row's features (with conflicting labels singled out) and near
  copies (nearest neighbour closer than 0.05 reference standard deviations).
- Class balance: how many rows of each class there are.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from pydantic import BaseModel
from sklearn.neighbors import NearestNeighbors

from assistant.errors import AssistantError
from assistant.models.registry import Model
from assistant.monitoring import encoding

log = logging.getLogger(__name__)

K = 20
SUPPORT = 0.15
SIMULATIONS = 30
EXCESS_SD = 3.0
OUTLIER_Z = 6.0
OUTLIER_SHARE = 0.02
NEAR = 0.05
DUPLICATE_SHARE = 0.02
EXAMPLES = 10


class LabelFlips(BaseModel):
    suspected: int
    share: float
    expected: float  # suspects expected by chance if labels follow the model's probabilities
    expected_sd: float
    excess: bool
    examples: list[int]  # row positions (0 = first data row) in the reference file, most suspect first
    k: int = K


class Outliers(BaseModel):
    count: int
    share: float
    examples: list[dict]  # {"row", "feature", "value"}


class Duplicates(BaseModel):
    exact: int  # rows that repeat an earlier row's features
    conflicting: int  # of which carry a different label
    near: int
    share: float


class ClassBalance(BaseModel):
    rows: int
    positives: int
    negatives: int
    positive_share: float
    positive_label: str


class DataAudit(BaseModel):
    model_id: str
    rows: int
    label_flips: LabelFlips
    outliers: Outliers
    duplicates: Duplicates
    balance: ClassBalance
    findings: list[str]
    level: str  # "ok" or "watch"


def _weights(model: Model) -> dict[str, float] | None:
    from assistant.models.explain import attributor

    try:
        explainer = attributor(model)
        scores = np.asarray(explainer.importance(), dtype=float)
    except (AssistantError, ValueError, TypeError) as exc:  # an estimator the explainer cannot read
        log.info("data audit of %s without importance weights: %s", model.id, exc)
        return None
    total = float(scores.sum()) or 1.0
    return {name: float(np.sqrt(s / total)) for name, s in zip(explainer.columns, scores)}


def label_support(model: Model, frame: pd.DataFrame, labels: np.ndarray, seed: int = 0
                  ) -> tuple[np.ndarray, float, float]:
    """Per row, the support for its label (0 = everything disagrees); and the number of suspects
    expected by chance (mean, standard deviation) when labels follow the model's probabilities."""
    n = len(frame)
    k = min(K, n - 1)
    X = encoding.matrix(model, frame, one_hot=True, weights=_weights(model))
    neighbours = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X, return_distance=False)[:, 1:]
    p = model.probabilities(frame)

    def support(y: np.ndarray) -> np.ndarray:
        agree = (y[neighbours] == y[:, None]).mean(axis=1)
        return (agree + np.where(y == 1, p, 1 - p)) / 2

    rng = np.random.default_rng(seed)
    null = [int((support((rng.random(n) < p).astype(int)) <= SUPPORT).sum()) for _ in range(SIMULATIONS)]
    return support(labels), float(np.mean(null)), float(np.std(null))


def _far(base: np.ndarray, values: np.ndarray, side: int) -> np.ndarray:
    """Values more than OUTLIER_Z robust standard deviations above (side 1) or below (-1) the median."""
    median = float(np.nanmedian(base))
    scale = 1.4826 * float(np.nanmedian(np.abs(base - median)))
    if scale == 0:  # mostly one value (e.g. zero missed payments): fall back to the spread
        scale = float(np.nanstd(base)) or 1.0
    return side * (values - median) / scale > OUTLIER_Z


def _outliers(model: Model, frame: pd.DataFrame) -> Outliers:
    ref = model.reference
    hit = np.zeros(len(frame), dtype=bool)
    examples: list[dict] = []
    for feature in model.spec.features:
        column = frame[feature.name]
        if feature.type == "numeric":
            base, values = encoding.numeric(ref[feature.name]), encoding.numeric(column)
            rows = _far(base, values, side=-1)
            if encoding.skewed(base):  # amounts, distances: the long upper tail is judged on a log scale
                rows |= _far(np.log1p(base), np.log1p(np.clip(values, 0, None)), side=1)
            else:
                rows |= _far(base, values, side=1)
        elif feature.type == "categorical":
            rows = (encoding.as_categories(feature, column) == encoding.OTHER).to_numpy()
        else:
            continue
        for i in np.flatnonzero(rows & ~hit)[: max(0, EXAMPLES - len(examples))]:
            value = column.iloc[i]
            examples.append({"row": int(i), "feature": feature.name,
                             "value": value.item() if hasattr(value, "item") else value})
        hit |= rows
    return Outliers(count=int(hit.sum()), share=float(hit.mean()) if len(hit) else 0.0, examples=examples)


def _duplicates(model: Model, frame: pd.DataFrame, labels: np.ndarray) -> Duplicates:
    names = model.spec.feature_names
    features = frame[names].astype(str)
    exact = features.duplicated(keep="first").to_numpy()
    keyed = features.assign(_label=labels)
    conflicting = int((features.duplicated(keep=False) & ~keyed.duplicated(keep=False)).sum())
    X = encoding.matrix(model, frame, one_hot=True)
    distances = NearestNeighbors(n_neighbors=2).fit(X).kneighbors(X)[0][:, 1] if len(frame) > 1 else np.ones(1)
    near = int(((distances < NEAR) & (distances > 0) & ~exact).sum())
    n = max(len(frame), 1)
    return Duplicates(exact=int(exact.sum()), conflicting=conflicting, near=near, share=(int(exact.sum()) + near) / n)


def audit(model: Model, frame: pd.DataFrame | None = None, labels: np.ndarray | None = None) -> DataAudit:
    """Audit the model's reference data (or the given rows and 0/1 labels) for signs of poisoning."""
    if frame is None:
        frame, labels = model.reference, model.labels
    frame = frame.reset_index(drop=True)
    labels = np.asarray(labels, dtype=int)
    n = len(frame)
    support, expected, sd = label_support(model, frame, labels)
    suspects = np.flatnonzero(support <= SUPPORT)
    suspects = suspects[np.argsort(support[suspects], kind="stable")]
    excess = bool(len(suspects) > expected + EXCESS_SD * max(sd, 1.0))
    flips = LabelFlips(suspected=len(suspects), share=len(suspects) / n, expected=round(expected, 1),
                       expected_sd=round(sd, 1), excess=excess, examples=[int(i) for i in suspects[:EXAMPLES]])
    outliers = _outliers(model, frame)
    duplicates = _duplicates(model, frame, labels)
    positives = int(labels.sum())
    balance = ClassBalance(rows=n, positives=positives, negatives=n - positives, positive_share=positives / n,
                           positive_label=model.spec.positive_label)
    findings = []
    if excess:
        findings.append(f"{flips.suspected} reference rows ({flips.share:.1%}) carry labels that their nearest "
                        f"neighbours and the model both contradict, against about {flips.expected:.0f} expected "
                        "by chance: possible label flipping (data poisoning)")
    if outliers.share > OUTLIER_SHARE:
        findings.append(f"{outliers.count} reference rows ({outliers.share:.1%}) hold values far outside the rest")
    if duplicates.share > DUPLICATE_SHARE or duplicates.conflicting:
        findings.append(f"{duplicates.exact + duplicates.near} reference rows ({duplicates.share:.1%}) are exact or near "
                        f"copies of others, {duplicates.conflicting} with conflicting labels")
    return DataAudit(model_id=model.id, rows=n, label_flips=flips, outliers=outliers, duplicates=duplicates,
                     balance=balance, findings=findings, level="watch" if findings else "ok")
