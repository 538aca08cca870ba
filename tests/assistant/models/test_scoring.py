"""The fast scoring path gives the fitted pipeline's own probabilities, or is not used at all."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from assistant.models.predict import predict_values
from assistant.models.registry import Registry
from assistant.models.whatif import what_if


@pytest.fixture(scope="module")
def models(demo_models: Path, user_models: Path) -> Registry:
    return Registry([demo_models, user_models])


@pytest.mark.parametrize("model_id", ["credit-default", "customer-churn", "transaction-fraud", "claims-hgb",
                                      "claims-svc"])
def test_answers_score_as_scikit_learn_does(models: Registry, model_id: str) -> None:
    """Every probability (and so every tier) a user is told is the estimator's own, row by row."""
    model = models.get(model_id)
    rows = model.records.sample(40, random_state=3)
    expected = model.estimator.predict_proba(model.features_frame(rows))[:, model.positive_index]
    one_at_a_time = np.array([model.probabilities(rows.iloc[[i]])[0] for i in range(len(rows))])
    assert np.allclose(one_at_a_time, expected, rtol=0, atol=1e-9)
    assert np.allclose(model.probabilities(rows), expected, rtol=0, atol=1e-9)


def test_the_demo_pipelines_take_the_fast_path(models: Registry) -> None:
    for model_id in ("credit-default", "customer-churn", "transaction-fraud", "claims-hgb", "claims-svc"):
        assert models.get(model_id).scorer is not None, model_id


def test_a_what_if_moves_the_probability_as_the_pipeline_does(registry_all: Registry) -> None:
    model = registry_all.get("credit-default")
    rid = str(model.records.index[11])
    answer = what_if(model, rid, {"balance": {"decrease": 700}, "region": "West"})
    row = model.records.loc[[rid]].copy()
    row["balance"] = row["balance"] - 700
    row["region"] = "West"
    expected = model.estimator.predict_proba(model.features_frame(row))[0, model.positive_index]
    assert answer.after.probability == pytest.approx(expected, abs=1e-9)


def test_a_pipeline_it_cannot_read_is_scored_by_scikit_learn(tmp_path: Path, registry_all: Registry) -> None:
    """An imputer (or any step the fast path does not know) leaves scoring exactly as it was."""
    source = registry_all.get("claims-hgb")
    folder = tmp_path / "claims-imputed"
    folder.mkdir()
    for name in ("policies.csv", "holdout.csv"):
        (folder / name).write_bytes((source.folder / name).read_bytes())
    frame = pd.read_csv(folder / "holdout.csv")
    features = source.spec.feature_names
    pipe = Pipeline([("pre", ColumnTransformer([
        ("num", SimpleImputer(), ["claim_amount", "policy_age_years", "prior_claims", "garaged"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["vehicle_type"])])),
        ("clf", LogisticRegression(max_iter=500))]).fit(frame[features], frame["suspicious"])
    joblib.dump(pipe, folder / "claims.joblib")
    spec = (source.folder / "model.yaml").read_text().replace("id: claims-hgb", "id: claims-imputed")
    (folder / "model.yaml").write_text(spec)
    model = Registry([folder]).get("claims-imputed")
    assert model.scorer is None
    prediction = predict_values(model, {"claim_amount": 9000}, base_record="P-5003")
    row = model.records.loc[["P-5003"]].copy()
    row["claim_amount"] = 9000
    assert prediction.probability == pytest.approx(pipe.predict_proba(model.features_frame(row))[0, 1], abs=1e-12)
