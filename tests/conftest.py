"""Shared fixtures: real model folders written the way a user would write them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC


def write_user_model(folder: Path, estimator: str = "hgb", *, model_id: str | None = None) -> Path:
    """An insurance-claims model folder: the user's own CSV, own pipeline, own model.yaml."""
    rng = np.random.default_rng(7)
    n = 1200
    frame = pd.DataFrame({
        "policy_id": [f"P-{5000 + i}" for i in range(n)],
        "claim_amount": rng.gamma(2.0, 1500.0, n).round(0),
        "policy_age_years": rng.integers(0, 20, n),
        "prior_claims": rng.poisson(0.6, n),
        "vehicle_type": rng.choice(["sedan", "suv", "truck", "motorbike"], n),
        "garaged": rng.integers(0, 2, n),
    })
    logit = (0.0004 * frame.claim_amount - 0.08 * frame.policy_age_years + 0.7 * frame.prior_claims
             + (frame.vehicle_type == "motorbike") * 0.9 - 0.5 * frame.garaged - 1.2)
    frame["suspicious"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    features = ["claim_amount", "policy_age_years", "prior_claims", "vehicle_type", "garaged"]
    pre = ColumnTransformer([
        ("num", StandardScaler(), ["claim_amount", "policy_age_years", "prior_claims", "garaged"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["vehicle_type"]),
    ])
    final = HistGradientBoostingClassifier(max_iter=60, random_state=0) if estimator == "hgb" else CalibratedClassifierCV(SVC(), ensemble=False, cv=3)
    pipe = Pipeline([("pre", pre), ("clf", final)]).fit(frame[features], frame["suspicious"])
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipe, folder / "claims.joblib")
    frame.iloc[:800].to_csv(folder / "policies.csv", index=False)
    frame.iloc[800:].to_csv(folder / "holdout.csv", index=False)
    model_id = model_id or f"claims-{estimator}"
    (folder / "model.yaml").write_text(textwrap.dedent(f"""\
        id: {model_id}
        name: Suspicious insurance claim
        owner: Claims Integrity
        task: binary_classification
        artifact: claims.joblib
        positive_label: suspicious claim
        features:
          - {{name: claim_amount, type: numeric, unit: USD, description: Amount claimed, aliases: [claim size]}}
          - {{name: policy_age_years, type: numeric, unit: years, description: Years since the policy started}}
          - {{name: prior_claims, type: numeric, description: Claims filed before this one}}
          - {{name: vehicle_type, type: categorical, values: [sedan, suv, truck, motorbike], description: Insured vehicle}}
          - {{name: garaged, type: boolean, description: Vehicle kept in a garage}}
        records: {{path: policies.csv, id_column: policy_id, entity: policy}}
        reference: holdout.csv
        target_column: suspicious
        risk_tiers:
          - {{name: Routine, max: 0.2, action: Pay as normal}}
          - {{name: Check, max: 0.5, action: Ask for documents}}
          - {{name: Investigate, max: 1.0, action: Send to the investigations unit}}
        """))
    return folder


@pytest.fixture(scope="session")
def user_models(tmp_path_factory) -> Path:
    """A models folder holding two user-written models (HistGradientBoosting and SVC)."""
    root = tmp_path_factory.mktemp("user-models")
    write_user_model(root / "claims-hgb", "hgb")
    write_user_model(root / "claims-svc", "svc")
    return root


@pytest.fixture(scope="session")
def demo_models(tmp_path_factory) -> Path:
    """The three demo models, built once per test session (deterministic, seeded)."""
    from assistant.demo import build_demo_models

    root = tmp_path_factory.mktemp("demo") / "models"
    build_demo_models(root)
    return root


@pytest.fixture(scope="session")
def demo_knowledge(tmp_path_factory):
    """The real demo corpus ingested into an embedded Chroma in a temporary directory."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from assistant.config import load_settings
    from knowledge.base import KnowledgeBase

    data = tmp_path_factory.mktemp("kb")
    settings = load_settings(data_dir=data)
    kb = KnowledgeBase(settings)
    kb.ingest(settings.knowledge_paths)
    yield kb
    kb.close()


@pytest.fixture(scope="session")
def registry_all(demo_models: Path, user_models: Path):
    from assistant.models.registry import Registry

    return Registry([demo_models, user_models / "claims-hgb"])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real redis-server for the session (tests/redis_server.py); yields its URL. Use a unique key prefix."""
    from .redis_server import start_redis_server

    server = start_redis_server(tmp_path_factory.mktemp("redis"))
    yield server.url
    server.stop()
