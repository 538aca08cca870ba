"""`modeldesk monitor MODEL --batch FILE.csv` and `modeldesk audit-data MODEL`, as a user types them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from adapters.cli import app, main

runner = CliRunner()


@pytest.fixture()
def env(user_models: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MODELDESK_MODELS_PATH", str(user_models))
    monkeypatch.setenv("MODELDESK_DATA_DIR", str(tmp_path / "data"))


def _batch(user_models: Path, tmp_path: Path, shift: bool) -> Path:
    rows = pd.read_csv(user_models / "claims-hgb" / "policies.csv").sample(400, random_state=3)
    if shift:
        rows["claim_amount"] = rows["claim_amount"] + rows["claim_amount"].std()
    path = tmp_path / ("shifted.csv" if shift else "plain.csv")
    rows.to_csv(path, index=False)
    return path


def test_monitor_reports_drift_on_a_shifted_batch(env, user_models, tmp_path):
    result = runner.invoke(app, ["monitor", "claims-hgb", "--batch", str(_batch(user_models, tmp_path, True)), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rows"] == 400 and report["drift"]["judged"]
    assert report["drift"]["drifting"] == ["claim_amount"]
    assert {t["tier"] for t in report["tiers"]} == {"Routine", "Check", "Investigate"}

    plain = runner.invoke(app, ["monitor", "claims-hgb", "--batch", str(_batch(user_models, tmp_path, False))],
                          terminal_width=200)
    assert plain.exit_code == 0, plain.output
    assert "Input drift: stable" in plain.stdout and "Unusual inputs:" in plain.stdout


def test_monitor_errors_are_clear(env, user_models, tmp_path, capsys, monkeypatch):
    broken = tmp_path / "broken.csv"
    pd.read_csv(user_models / "claims-hgb" / "policies.csv").drop(columns=["garaged", "prior_claims"]).to_csv(broken, index=False)
    for args, message in ((["monitor", "claims-hgb", "--batch", str(tmp_path / "nope.csv")], "not found"),
                          (["monitor", "claims-hgb", "--batch", str(broken)], "missing columns prior_claims, garaged"),
                          (["monitor", "claims-hbg", "--batch", str(broken)], "did you mean 'claims-hgb'")):
        monkeypatch.setattr("sys.argv", ["modeldesk", *args])
        with pytest.raises(SystemExit) as exit_info:
            main()
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert message in " ".join(err.split()) and "Traceback" not in err


def test_audit_data_prints_the_audit(env):
    result = runner.invoke(app, ["audit-data", "claims-hgb", "--json"])
    assert result.exit_code == 0, result.output
    audit = json.loads(result.stdout)
    assert audit["rows"] == 400 and audit["balance"]["positives"] + audit["balance"]["negatives"] == 400
    assert set(audit["label_flips"]) >= {"suspected", "expected", "excess"}
    table = runner.invoke(app, ["audit-data", "claims-hgb"], terminal_width=200)
    assert "suspected label flips" in table.stdout and "class balance" in table.stdout
