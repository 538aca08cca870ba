"""The bench's own view of the real model (never shown to the attacker): held-out rows, their real
tiers and labels, and which rows were training members, to score what an attack recovered."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from assistant.models.registry import Registry


class Truth:
    """The real model behind `model_id`, loaded from the same folder the server serves."""

    def __init__(self, models_dir: Path, model_id: str):
        self.model = Registry([models_dir]).get(model_id)
        self.spec = self.model.spec
        self.names = self.spec.feature_names
        reference = self.model.reference
        half = len(reference) // 2
        # The reference rows split once: the first half stands in for realistic data an attacker holds,
        # the second half is never queried and scores every surrogate.
        self.attacker_rows = reference.iloc[:half][self.names].reset_index(drop=True)
        self.eval_rows = reference.iloc[half:][self.names].reset_index(drop=True)
        self.eval_p = self.probabilities(self.eval_rows)
        self.eval_tiers = self.tiers(self.eval_p)
        self.eval_labels = self.labels(self.eval_p)

    @property
    def threshold(self) -> float:
        return float(self.spec.decision_threshold)

    def probabilities(self, rows: pd.DataFrame | list[dict]) -> np.ndarray:
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
        return self.model.probabilities(frame[self.names])

    def tiers(self, p: np.ndarray) -> np.ndarray:
        return self.model.tier_ranks(np.asarray(p, dtype=float))

    def labels(self, p: np.ndarray) -> np.ndarray:
        return (np.asarray(p) >= self.threshold).astype(int)

    @cached_property
    def positive_from_rank(self) -> int:
        """The lowest tier whose band lies at or above the decision threshold (a tier-only view of the label)."""
        lower = 0.0
        for rank, tier in enumerate(self.spec.risk_tiers, start=1):
            if lower >= self.threshold - 1e-9:
                return rank
            lower = tier.max
        return len(self.spec.risk_tiers)

    def labels_from_tiers(self, ranks: np.ndarray) -> np.ndarray:
        return (np.asarray(ranks) >= self.positive_from_rank).astype(int)

    def training_rows(self) -> pd.DataFrame:
        """The rows the demo model was fitted on, regenerated from the demo's seeded recipe (ground truth
        for membership: neither the records nor the reference rows were training rows)."""
        from assistant.demo import catalog
        from assistant.demo.build import make_frames

        train, _, _ = make_frames(catalog.get(self.model.id))
        return train[self.names + [self.spec.target_column]]

    def reference_labelled(self) -> pd.DataFrame:
        return self.model.reference[self.names + [self.spec.target_column]]
