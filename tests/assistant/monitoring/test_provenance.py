"""Provenance: hashes recorded at first sight; a replaced artifact under the same version is a finding."""

from __future__ import annotations

import shutil
from pathlib import Path

import joblib
import yaml

from assistant.models.registry import Registry
from assistant.posture import assess


def copy_model(demo_models: Path, tmp_path: Path, model_id: str = "credit-default") -> Path:
    target = tmp_path / "models" / model_id
    shutil.copytree(demo_models / model_id, target)
    return target


def test_a_changed_artifact_without_a_new_version_is_a_finding(demo_models, tmp_path, make_monitor):
    folder = copy_model(demo_models, tmp_path)
    registry = Registry([folder])
    monitor = make_monitor(registry)
    model = registry.get("credit-default")
    first = monitor.provenance(model)
    assert first.status == "recorded" and first.version == "1.0" and len(first.artifact_sha256) == 64
    assert monitor.provenance(model).status == "unchanged"

    # Someone refits and replaces the model file, keeping version 1.0.
    estimator = joblib.load(folder / "model.joblib")
    estimator.set_params(model__C=0.01)
    estimator.fit(model.reference[model.spec.feature_names], model.labels)
    joblib.dump(estimator, folder / "model.joblib")

    reloaded = Registry([folder])
    changed = make_monitor(reloaded).provenance(reloaded.get("credit-default"))
    assert changed.status == "artifact_changed"
    assert changed.recorded_artifact_sha256 == first.artifact_sha256 != changed.artifact_sha256
    posture = assess(reloaded.get("credit-default"), [], monitor=make_monitor(reloaded))
    assert posture.grade == "At risk"
    assert any("model file changed" in r and "without a new version" in r for r in posture.reasons)
    assert "a model file that changed without a new version" in posture.headline

    # A new version is a new registration, not a finding.
    spec = yaml.safe_load((folder / "model.yaml").read_text())
    spec["version"] = "1.1"
    (folder / "model.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    bumped = Registry([folder])
    again = make_monitor(bumped).provenance(bumped.get("credit-default"))
    assert again.status == "new_version" and again.findings == []
    assert make_monitor(bumped).provenance(bumped.get("credit-default")).status == "unchanged"


def test_changed_reference_data_is_a_finding(demo_models, tmp_path, make_monitor):
    folder = copy_model(demo_models, tmp_path, "customer-churn")
    registry = Registry([folder])
    make_monitor(registry).register()  # first sight, as the service does at start-up
    with (folder / "reference.csv").open("a") as handle:
        handle.write((folder / "reference.csv").read_text().splitlines()[1] + "\n")
    changed = make_monitor(Registry([folder])).provenance(Registry([folder]).get("customer-churn"))
    assert changed.status == "reference_changed" and "reference data changed" in changed.findings[0]
