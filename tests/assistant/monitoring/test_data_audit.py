"""The training-data audit finds injected label flips, and stays quiet on the clean reference data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assistant.monitoring.data_audit import SUPPORT, audit, label_support


def flipped(labels: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(labels), int(round(share * len(labels))), replace=False)
    out = labels.copy()
    out[rows] = 1 - out[rows]
    return out, rows


@pytest.mark.parametrize("model_id,precision,recall", [("credit-default", 0.4, 0.5), ("transaction-fraud", 0.75, 0.75)])
def test_five_percent_label_flips_are_found(model_id, precision, recall, demo_registry):
    model = demo_registry.get(model_id)
    reference = model.reference.copy()
    labels, rows = flipped(model.labels, 0.05, seed=11)

    result = audit(model, reference, labels)

    assert result.label_flips.excess and result.level == "watch"
    assert any("label flipping" in f for f in result.findings)
    support, _, _ = label_support(model, reference, labels)
    suspected = set(np.flatnonzero(support <= SUPPORT))
    hits = len(suspected & set(rows.tolist()))
    assert hits / len(suspected) >= precision and hits / len(rows) >= recall


@pytest.mark.parametrize("model_id", ["credit-default", "customer-churn", "transaction-fraud"])
def test_the_clean_reference_data_has_no_findings(model_id, demo_registry):
    result = audit(demo_registry.get(model_id))
    assert result.findings == [] and result.level == "ok"
    assert result.balance.rows == len(demo_registry.get(model_id).reference)
    assert result.duplicates.conflicting == 0


def test_duplicates_and_outliers_are_counted(demo_registry):
    model = demo_registry.get("credit-default")
    frame = model.reference.copy()
    labels = model.labels.copy()
    copies = frame.iloc[:60].copy()
    frame = pd.concat([frame, copies], ignore_index=True)
    labels = np.concatenate([labels, 1 - labels[:60]])  # the copies carry the opposite label
    frame.loc[100, "balance"] = 10_000_000
    result = audit(model, frame, labels)
    assert result.duplicates.exact == 60 and result.duplicates.conflicting == 120
    assert {"row": 100, "feature": "balance", "value": 10_000_000} in [
        {k: (int(v) if k == "value" else v) for k, v in e.items()} for e in result.outliers.examples]
    assert any("copies of others" in f for f in result.findings)
