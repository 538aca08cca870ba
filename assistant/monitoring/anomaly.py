"""Anomalous inputs: the share of recent inputs that an outlier detector trained on the reference
data flags, against the share it flags on the reference data itself (1% by construction).

The detector is an IsolationForest over the model's features (numbers as they are, categories as
codes); its cut-off is the reference data's 1st percentile of normality. Many more flagged inputs
than that mean inputs the model was never validated on — new kinds of customers, broken upstream
data, or someone feeding it crafted values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel
from scipy import stats
from sklearn.ensemble import IsolationForest

from assistant.models.registry import Model
from assistant.monitoring import encoding
from assistant.monitoring.window import Window

EXPECTED_SHARE = 0.01
WATCH_SHARE = 0.03  # three times the reference rate, and more than chance (binomial test at 1%)
RISK_SHARE = 0.10
ALPHA = 0.01


class AnomalyReport(BaseModel):
    model_id: str
    rows: int
    judged: bool
    flagged: int
    share: float
    expected_share: float = EXPECTED_SHARE
    p_value: float
    level: Literal["stable", "watch", "drift"]
    thresholds: dict[str, float] = {"watch_share": WATCH_SHARE, "risk_share": RISK_SHARE}


@dataclass
class Detector:
    forest: IsolationForest
    cutoff: float  # scores below this are anomalous
    fingerprint: str

    def flags(self, model: Model, frame) -> np.ndarray:
        if not len(frame):
            return np.zeros(0, dtype=bool)
        return self.forest.score_samples(encoding.matrix(model, frame, one_hot=False)) < self.cutoff


def train(model: Model, fingerprint: str = "") -> Detector:
    """Fit the detector on the model's reference data (seeded: the same data gives the same detector)."""
    X = encoding.matrix(model, model.reference, one_hot=False)
    forest = IsolationForest(n_estimators=200, random_state=0).fit(X)
    cutoff = float(np.quantile(forest.score_samples(X), EXPECTED_SHARE))
    return Detector(forest, cutoff, fingerprint)


def assess(model: Model, detector: Detector, window: Window, min_rows: int) -> AnomalyReport:
    flags = detector.flags(model, window.frame)
    n, k = len(flags), int(flags.sum())
    share = k / n if n else 0.0
    p = float(stats.binomtest(k, n, EXPECTED_SHARE, alternative="greater").pvalue) if n else 1.0
    judged = n >= min_rows
    level = "stable"
    if judged and p < ALPHA:
        level = "drift" if share >= RISK_SHARE else "watch" if share >= WATCH_SHARE else "stable"
    return AnomalyReport(model_id=model.id, rows=n, judged=judged, flagged=k, share=share, p_value=p, level=level)
