"""The command line as a user types it: tables by default, the core's JSON with --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.cli import app, main

runner = CliRunner()


@pytest.fixture()
def env(user_models: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MODELDESK_MODELS_PATH", str(user_models))
    monkeypatch.setenv("MODELDESK_DATA_DIR", str(tmp_path / "data"))


def test_models_lists_registered_models(env):
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0
    assert [m["id"] for m in json.loads(result.stdout)["models"]] == ["claims-hgb", "claims-svc"]


def test_explain_prints_tier_action_and_three_reasons(env):
    result = runner.invoke(app, ["explain", "claims-hgb", "P-5003"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Investigate risk" in result.stdout and "Send to the investigations unit" in result.stdout
    reasons = [line for line in result.stdout.splitlines() if line.strip()[:2] in {"1.", "2.", "3."}]
    assert len(reasons) == 3 and all("suspicious claim risk" in r for r in reasons)


def test_predict_json_is_the_core_prediction(env):
    result = runner.invoke(app, ["predict", "claims-hgb", "P-5003", "--json"])
    data = json.loads(result.stdout)
    assert data["record_id"] == "P-5003" and data["tier"] in {"Routine", "Check", "Investigate"}
    assert 0 <= data["probability"] <= 1


def test_what_if_accepts_assignments(env):
    result = runner.invoke(app, ["what-if", "claims-hgb", "P-5003", "claim_amount-=1000", "vehicle_type=truck", "--json"])
    assert result.exit_code == 0, result.output
    changes = {c["feature"]: c for c in json.loads(result.stdout)["changes"]}
    assert changes["claim_amount"]["new"] == changes["claim_amount"]["old"] - 1000
    assert changes["vehicle_type"]["new"] == "truck"


def test_bad_input_is_a_clear_error_not_a_traceback(env, capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["modeldesk", "explain", "claims-hgb", "P-99999"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert "unknown policy id" in captured.err and "Traceback" not in captured.err
    monkeypatch.setattr("sys.argv", ["modeldesk", "predict", "claims-hbg", "P-5003"])
    with pytest.raises(SystemExit):
        main()
    assert "did you mean 'claims-hgb'" in capsys.readouterr().err
