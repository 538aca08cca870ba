"""The demo model builder: real fits into temporary folders (about 10 s per full build)."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from assistant.demo import MODEL_IDS, build_demo, build_demo_models
from assistant.demo.__main__ import main as demo_main
from assistant.errors import ConfigError
from assistant.models.spec import load_spec

FILES = ("model.yaml", "model.joblib", "records.csv", "reference.csv")

EXPECTED = {
    "credit-default": {
        "entity": "customer",
        "id_column": "customer_id",
        "ids": ("C-10000", "C-12999", 3_000),
        "target": "default",
        "tiers": ["Low", "Medium", "High"],
        "adversarial": False,
        "features": ["balance", "income", "credit_limit", "missed_payments", "age", "years_with_bank", "student", "region"],
        "not_actionable": {"age", "years_with_bank", "student", "region"},
    },
    "customer-churn": {
        "entity": "customer",
        "id_column": "customer_id",
        "ids": ("C-20000", "C-22999", 3_000),
        "target": "churned",
        "tiers": ["Low", "Medium", "High"],
        "adversarial": False,
        "features": ["tenure_months", "monthly_charges", "contract", "support_calls", "products_held",
                     "paperless_billing", "age", "region", "payment_method"],
        "not_actionable": {"tenure_months", "age", "region"},
    },
    "transaction-fraud": {
        "entity": "transaction",
        "id_column": "transaction_id",
        "ids": ("T-100000", "T-109999", 10_000),
        "target": "fraud",
        "tiers": ["Low", "Elevated", "High", "Critical"],
        "adversarial": True,
        "features": ["amount", "merchant_category", "channel", "hour_of_day", "distance_from_home_km", "is_foreign",
                     "card_present", "txn_count_24h", "account_age_days"],
        "not_actionable": {"account_age_days"},
    },
}


def _digests(folder: Path) -> dict[str, tuple[str, int]]:
    """sha256 and mtime (ns) of every file in a model folder."""
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def _tiers(probabilities: np.ndarray, bounds: list[float]) -> np.ndarray:
    return np.minimum(np.searchsorted(np.asarray(bounds), probabilities, side="left"), len(bounds) - 1)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, list, float]:
    target = tmp_path_factory.mktemp("demo") / "models"
    start = time.perf_counter()
    results = build_demo(target)
    return target, results, time.perf_counter() - start


def test_builds_the_three_folders(built):
    target, results, seconds = built
    assert [r.model_id for r in results] == list(MODEL_IDS)
    assert all(r.built for r in results)
    assert sorted(p.name for p in target.iterdir()) == sorted(MODEL_IDS)  # no staging leftovers
    for model_id in MODEL_IDS:
        for name in FILES:
            assert (target / model_id / name).is_file(), f"{model_id}/{name} missing"
    assert seconds < 60, f"building the demo took {seconds:.1f}s"


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_spec_validates_and_matches_the_contract(built, model_id):
    target, _, _ = built
    spec = load_spec(target / model_id)
    want = EXPECTED[model_id]
    assert spec.id == model_id
    assert spec.version == "1.0"
    assert spec.description.count(". ") >= 1 and spec.description.endswith(".")
    assert spec.feature_names == want["features"]
    assert [t.name for t in spec.risk_tiers] == want["tiers"]
    assert all(t.action and t.meaning for t in spec.risk_tiers)
    assert spec.adversarial is want["adversarial"]
    assert spec.target_column == want["target"]
    assert spec.records and spec.records.id_column == want["id_column"] and spec.records.entity == want["entity"]
    assert {f.name for f in spec.features if not f.actionable} == want["not_actionable"]
    for feature in spec.features:
        assert feature.description
        if feature.type == "categorical":
            assert feature.values


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_artifact_scores_records_and_reference(built, model_id):
    target, results, _ = built
    folder = target / model_id
    spec = load_spec(folder)
    want = EXPECTED[model_id]
    estimator = joblib.load(folder / spec.artifact)
    assert list(estimator.feature_names_in_) == spec.feature_names

    records = pd.read_csv(folder / spec.records.path)
    first, last, count = want["ids"]
    ids = records[spec.records.id_column]
    assert len(records) == count and ids.is_unique and ids.iloc[0] == first and ids.iloc[-1] == last
    assert set(spec.feature_names) <= set(records.columns)
    assert spec.target_column not in records.columns
    assert len(records.columns) > len(spec.feature_names) + 1  # descriptive extras besides the id
    for feature in spec.features:
        column = records[feature.name]
        assert column.notna().all()
        if feature.type == "categorical":
            assert set(column.unique()) <= set(feature.values)
        elif feature.type == "boolean":
            assert set(column.unique()) <= {0, 1}

    reference = pd.read_csv(folder / spec.reference)
    assert list(reference.columns) == spec.feature_names + [spec.target_column]
    assert set(reference[spec.target_column].unique()) == {0, 1}

    proba = estimator.predict_proba(records[spec.feature_names])
    assert proba.shape == (len(records), 2) and np.isfinite(proba).all()

    auc = roc_auc_score(reference[spec.target_column], estimator.predict_proba(reference[spec.feature_names])[:, 1])
    assert 0.75 <= auc <= 0.95, f"{model_id} reference AUC {auc:.3f} is not believable"
    result = next(r for r in results if r.model_id == model_id)
    assert result.metrics["reference_auc"] == pytest.approx(auc, abs=1e-4)


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_every_tier_is_populated(built, model_id):
    target, _, _ = built
    folder = target / model_id
    spec = load_spec(folder)
    estimator = joblib.load(folder / spec.artifact)
    records = pd.read_csv(folder / spec.records.path)
    p = estimator.predict_proba(records[spec.feature_names])[:, 1]
    shares = np.bincount(_tiers(p, [t.max for t in spec.risk_tiers]), minlength=len(spec.risk_tiers)) / len(p)
    for tier, share in zip(spec.risk_tiers, shares):
        assert share >= 0.025, f"{model_id}: tier {tier.name} holds only {share:.1%} of records"
    assert shares[0] == shares.max(), "the lowest-risk tier should be the largest"


def test_second_build_skips_refitting(built):
    target, _, _ = built
    before = {m: _digests(target / m) for m in MODEL_IDS}
    start = time.perf_counter()
    results = build_demo(target)
    seconds = time.perf_counter() - start
    assert not any(r.built for r in results)
    assert seconds < 3, f"an up-to-date build took {seconds:.1f}s"
    assert {m: _digests(target / m) for m in MODEL_IDS} == before
    assert build_demo_models(target) == [target / m for m in MODEL_IDS]
    assert all(r.metrics.get("tier_shares") for r in results)  # metrics come back from the stamp


def test_rebuild_is_deterministic(built, tmp_path):
    target, _, _ = built
    again = tmp_path / "models"
    build_demo_models(again)
    for model_id in MODEL_IDS:
        for name in ("model.yaml", "records.csv", "reference.csv"):
            assert (again / model_id / name).read_bytes() == (target / model_id / name).read_bytes(), name
        records = pd.read_csv(target / model_id / "records.csv")
        features = load_spec(target / model_id).feature_names
        p1 = joblib.load(target / model_id / "model.joblib").predict_proba(records[features])
        p2 = joblib.load(again / model_id / "model.joblib").predict_proba(records[features])
        np.testing.assert_array_equal(p1, p2)


def test_force_and_damage_trigger_a_rebuild(tmp_path):
    target = tmp_path / "models"
    (first,) = build_demo(target, only=["credit-default"])
    folder = first.path
    original = (folder / "records.csv").read_bytes()

    (forced,) = build_demo(target, force=True, only=["credit-default"])
    assert forced.built and (folder / "records.csv").read_bytes() == original

    (folder / "records.csv").write_text("customer_id\nC-1\n")  # a damaged file is noticed
    (repaired,) = build_demo(target, only=["credit-default"])
    assert repaired.built and (folder / "records.csv").read_bytes() == original

    stamp = json.loads((folder / ".demo-build.json").read_text())
    stamp["fingerprint"] = "stale"
    (folder / ".demo-build.json").write_text(json.dumps(stamp))
    (stale,) = build_demo(target, only=["credit-default"])
    assert stale.built
    assert sorted(p.name for p in target.iterdir()) == ["credit-default"]


def test_refuses_to_overwrite_a_folder_it_did_not_build(tmp_path):
    target = tmp_path / "models"
    mine = target / "credit-default"
    mine.mkdir(parents=True)
    (mine / "model.yaml").write_text("id: credit-default\n")
    with pytest.raises(ConfigError, match="not built by the demo builder"):
        build_demo(target, only=["credit-default"])
    assert (mine / "model.yaml").read_text() == "id: credit-default\n"


def test_command_line_reports_what_it_built(built, capsys):
    target, _, _ = built
    assert demo_main(["--out", str(target)]) == 0
    out = capsys.readouterr().out
    for model_id in MODEL_IDS:
        assert model_id in out
    assert "up to date" in out and "AUC" in out


def test_model_ids_match_the_catalog():
    from assistant.demo.catalog import MODEL_IDS as catalog_ids

    assert tuple(catalog_ids) == MODEL_IDS
