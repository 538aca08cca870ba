"""The registry: user-written model folders load, broken ones are reported with file and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from assistant.errors import BadInput, ConfigError, NotFound
from assistant.models.predict import predict_record, predict_values
from assistant.models.registry import Registry


def test_user_models_predict_like_their_own_estimator(user_models: Path):
    registry = Registry([user_models])
    assert sorted(registry.models) == ["claims-hgb", "claims-svc"]
    for model in registry:
        estimator = joblib.load(model.folder / "claims.joblib")
        records = pd.read_csv(model.folder / "policies.csv")
        own = estimator.predict_proba(records[model.spec.feature_names])[:, 1]
        for i in (0, 17, 399):
            prediction = predict_record(model, records.policy_id[i])
            assert prediction.probability == pytest.approx(own[i], abs=1e-12)
            tier, rank = model.tier_for(own[i])
            assert (prediction.tier, prediction.tier_rank) == (tier.name, rank)


def test_explicit_values_are_validated_and_scored(user_models: Path):
    model = Registry([user_models]).get("claims-hgb")
    values = {"claim_amount": "$4,200", "policy_age_years": 2, "prior_claims": 3, "vehicle_type": "Motorbike",
              "garaged": "no"}
    prediction = predict_values(model, values)
    estimator = joblib.load(model.folder / "claims.joblib")
    frame = pd.DataFrame([{"claim_amount": 4200.0, "policy_age_years": 2, "prior_claims": 3,
                           "vehicle_type": "motorbike", "garaged": 0}])
    assert prediction.probability == pytest.approx(estimator.predict_proba(frame)[0, 1])
    with pytest.raises(BadInput, match="vehicle_type.*did you mean 'truck'"):
        predict_values(model, {**values, "vehicle_type": "truk"})
    with pytest.raises(BadInput, match="claim_amount must be a number"):
        predict_values(model, {**values, "claim_amount": "lots"})
    with pytest.raises(NotFound, match="did you mean 'prior_claims'"):
        predict_values(model, {**values, "prior_claim": 1})


def test_unknown_model_and_record_name_the_closest_choices(user_models: Path):
    registry = Registry([user_models])
    with pytest.raises(NotFound, match="claims-hgb"):
        registry.get("claims-hbg")
    with pytest.raises(NotFound, match="unknown policy id .*'P-5010'"):
        predict_record(registry.get("claims-hgb"), "P-501O")
    assert predict_record(registry.get("claims-hgb"), "p-5010").record_id == "P-5010"


def _copy(src: Path, dst: Path, model_id: str) -> Path:
    shutil.copytree(src, dst)
    spec = dst / "model.yaml"
    spec.write_text(spec.read_text().replace("id: claims-hgb", f"id: {model_id}"))
    return dst


def test_broken_models_are_reported_and_the_rest_still_load(user_models: Path, tmp_path: Path):
    good = user_models / "claims-hgb"
    _copy(good, tmp_path / "ok", "fine")
    bad_yaml = _copy(good, tmp_path / "bad-yaml", "bad-yaml")
    (bad_yaml / "model.yaml").write_text("id: [unclosed")
    bad_tier = _copy(good, tmp_path / "bad-tier", "bad-tier")
    (bad_tier / "model.yaml").write_text((bad_tier / "model.yaml").read_text().replace("max: 1.0", "max: 0.9"))
    bad_type = _copy(good, tmp_path / "bad-type", "bad-type")
    (bad_type / "model.yaml").write_text((bad_type / "model.yaml").read_text().replace("type: numeric, unit: USD", "type: money, unit: USD"))
    missing = _copy(good, tmp_path / "missing-file", "missing-file")
    (missing / "claims.joblib").unlink()
    wrong_features = _copy(good, tmp_path / "wrong-features", "wrong-features")
    text = (wrong_features / "model.yaml").read_text().replace("name: prior_claims", "name: earlier_claims")
    (wrong_features / "model.yaml").write_text(text)
    frame = pd.read_csv(wrong_features / "policies.csv").rename(columns={"prior_claims": "earlier_claims"})
    frame.to_csv(wrong_features / "policies.csv", index=False)

    registry = Registry([tmp_path])
    messages = {Path(p.path).parent.name: p.message for p in registry.problems}
    assert "not valid YAML" in messages["bad-yaml"]
    assert "field `risk_tiers`" in messages["bad-tier"] and "max: 1.0" in messages["bad-tier"]
    assert "field `features.0.type`" in messages["bad-type"]
    assert "field `artifact`" in messages["missing-file"] and "claims.joblib" in messages["missing-file"]
    # the artifact is checked against the spec when first loaded
    problems = registry.check()
    wrong = next(p.message for p in problems if "wrong-features" in p.path)
    assert "field `features`" in wrong and "prior_claims" in wrong and "earlier_claims" in wrong
    assert sorted(registry.models) == ["fine"]
    assert predict_record(registry.get("fine"), "P-5000").tier


def test_corrupt_artifact_names_the_file(user_models: Path, tmp_path: Path):
    broken = _copy(user_models / "claims-hgb", tmp_path / "corrupt", "corrupt")
    (broken / "claims.joblib").write_bytes(b"not a pickle")
    model = Registry([tmp_path]).get("corrupt")
    with pytest.raises(ConfigError, match=r"claims\.joblib: field `artifact`: cannot load"):
        predict_record(model, "P-5000")


def test_tiers_are_ranked_by_probability(user_models: Path):
    model = Registry([user_models]).get("claims-hgb")
    probabilities = np.array([0.0, 0.2, 0.2000001, 0.5, 0.51, 1.0])
    assert list(model.tier_ranks(probabilities)) == [1, 1, 2, 2, 3, 3]
    assert [model.tier_for(p)[1] for p in probabilities] == [1, 1, 2, 2, 3, 3]
