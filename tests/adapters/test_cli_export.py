"""`modeldesk export MODEL --out FILE.csv|FILE.parquet [--with-probability]`, as an operator types it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from adapters.cli import app, main
from assistant import export as exports
from assistant.models import explain, predict
from assistant.models.registry import Registry

runner = CliRunner()
COLUMNS = ["customer_id", "tier", "tier_rank", "action", "reasons", "model_version", "scored_at"]


@pytest.fixture()
def env(demo_models: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MODELDESK_MODELS_PATH", str(demo_models))
    monkeypatch.setenv("MODELDESK_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


@pytest.fixture(scope="module")
def registry(demo_models: Path) -> Registry:
    return Registry([demo_models])


def test_csv_export_has_every_record_with_the_tiers_and_reasons_the_tools_give(env, registry):
    out = env / "bi" / "credit.csv"
    out.parent.mkdir()
    result = runner.invoke(app, ["export", "credit-default", "--out", str(out)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Exported 3,000 customer rows of credit-default" in " ".join(result.stdout.split())
    frame = pd.read_csv(out, dtype={"customer_id": str, "model_version": str})
    model = registry.get("credit-default")
    assert list(frame.columns) == COLUMNS
    assert frame["customer_id"].tolist() == model.records.index.tolist()  # one row per stored record
    for row in frame.itertuples():
        said = predict.predict_record(model, row.customer_id)
        assert (row.tier, row.tier_rank, row.action) == (said.tier, said.tier_rank, said.action), row.customer_id
    for record_id in ("C-10293", "C-10004", frame["customer_id"].iloc[-1]):
        why = explain.explain(model, record_id)
        assert frame.set_index("customer_id").loc[record_id, "reasons"] == "; ".join(r.text for r in why.reasons)
    assert set(frame["model_version"]) == {model.spec.version} and frame["scored_at"].nunique() == 1
    assert not list(out.parent.glob("*.partial"))  # no temporary file left beside it

    # The export is in the audit trail: who (the operator on the host), which model, how many rows.
    tail = runner.invoke(app, ["audit", "tail", "--json"])
    assert tail.exit_code == 0, tail.output
    entry = json.loads(tail.stdout)[-1]
    assert entry["model_id"] == "credit-default" and entry["channel"] == "cli" and entry["verdict"] == "answered"
    assert entry["tool_calls"][0]["name"] == "export" and entry["tool_calls"][0]["arguments"]["rows"] == 3000
    assert "3,000 rows as csv" in entry["question"]
    assert entry["principal"] and entry["role"] == "admin"


def test_parquet_export_with_probability(env, registry):
    out = env / "churn.parquet"
    result = runner.invoke(app, ["export", "customer-churn", "--out", str(out), "--with-probability", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows"] == 3000 and summary["format"] == "parquet" and summary["with_probability"]
    frame = pd.read_parquet(out)
    model = registry.get("customer-churn")
    assert list(frame.columns) == COLUMNS[:5] + ["probability"] + COLUMNS[5:]
    assert str(frame["tier_rank"].dtype) == "int64"
    for record_id in ("C-20001", "C-20002", frame["customer_id"].iloc[-1]):
        said = predict.predict_record(model, record_id)
        row = frame.set_index("customer_id").loc[record_id]
        assert row["tier"] == said.tier and row["probability"] == pytest.approx(said.probability, abs=5e-5)


def test_export_is_written_in_chunks_and_a_failure_leaves_the_old_file(registry, tmp_path):
    model = registry.get("customer-churn")
    out = tmp_path / "churn.csv"
    seen: list[tuple[int, int]] = []
    result = exports.write(model, out, chunk_rows=1000, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1000, 3000), (2000, 3000), (3000, 3000)] and result.rows == 3000

    before = out.read_bytes()

    def fail(done: int, total: int) -> None:
        raise RuntimeError("disk went away")

    with pytest.raises(RuntimeError):
        exports.write(model, out, chunk_rows=1000, progress=fail)
    assert out.read_bytes() == before  # the previous export is still whole
    assert [p.name for p in tmp_path.iterdir()] == ["churn.csv"]  # and no partial file is left


def test_export_errors_are_clear(env, capsys, monkeypatch):
    existing = env / "keep.csv"
    existing.write_text("do not touch\n")
    cases = (
        (["export", "credit-default", "--out", str(env / "scores.xlsx")], "must end in .csv or .parquet"),
        (["export", "credit-defualt", "--out", str(env / "x.csv")], "did you mean 'credit-default'"),
        (["export", "credit-default", "--out", str(env / "no-such-folder" / "x.csv")], "does not exist"),
        (["export", "credit-default", "--out", str(env)], "must end in .csv or .parquet"),
        (["export", "credit-default", "--out", str(existing / "x.csv")], "is a file, not a folder"),
        (["export", "credit-default", "--out", str(env / "folder.csv")], "it is a folder"),
        (["export", "credit-default", "--out", "/proc/scores.csv"], "/proc is not writable"),
    )
    (env / "folder.csv").mkdir()
    for args, message in cases:
        monkeypatch.setattr("sys.argv", ["modeldesk", *args])
        with pytest.raises(SystemExit) as exit_info:
            main()
        assert exit_info.value.code == 2, args
        err = capsys.readouterr().err
        assert message in " ".join(err.split()) and "Traceback" not in err, (args, err)
    assert existing.read_text() == "do not touch\n"
    assert not (env / "x.csv").exists()
