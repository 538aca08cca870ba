"""`modeldesk feedback report [--model] [--since]`: unhelpful answers by operation and model, with the questions."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.cli import app, main

runner = CliRunner()


@pytest.fixture()
def rated(demo_models: Path, tmp_path: Path, monkeypatch):
    """Real answers from the engine, audited and issued in the data dir, then rated as users would."""
    from assistant.answer import Principal
    from assistant.audit import open_audit_log
    from assistant.config import load_settings
    from assistant.engine import Assistant
    from assistant.feedback import open_feedback_store
    from assistant.models.registry import Registry

    monkeypatch.setenv("MODELDESK_MODELS_PATH", str(demo_models))
    monkeypatch.setenv("MODELDESK_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings()
    store = open_feedback_store(settings)
    bea = Principal(id="bea", role="business", channel="api")
    ratings = [("What is the risk tier for customer C-10293?", "credit-default", "down", "Which tier means what?"),
               ("How accurate is the churn model?", "customer-churn", "down", None),
               ("How accurate is the churn model?", "customer-churn", "up", None),
               ("Why is C-20001 in its tier?", "customer-churn", "up", None)]
    with open_audit_log(settings) as log:
        assistant = Assistant(Registry(settings.models_dirs), None, audit=log)
        for question, model_id, rating, comment in ratings:
            answer_id = uuid.uuid4().hex
            answer = assistant.answer(question, bea, model_id=model_id, answer_id=answer_id)
            store.issued(answer_id, answer.session_id, "bea", "business", "chat", answer.refused)
            store.add(principal="bea", role="business", rating=rating, comment=comment, answer_id=answer_id, session_id=None)
    store.close()


def test_report_groups_ratings_by_model_and_operation_with_the_questions(rated):
    result = runner.invoke(app, ["feedback", "report", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["helpful"], report["not_helpful"]) == (2, 2)
    groups = {(g["model_id"], g["operation"]): (g["helpful"], g["not_helpful"]) for g in report["groups"]}
    assert groups[("customer-churn", "performance")] == (1, 1)
    assert groups[("credit-default", "predict")] == (0, 1)
    assert [a["question"] for a in report["unhelpful"]] == ["How accurate is the churn model?",
                                                            "What is the risk tier for customer C-10293?"]
    assert report["unhelpful"][1]["comment"] == "Which tier means what?"

    churn = json.loads(runner.invoke(app, ["feedback", "report", "--model", "customer-churn", "--json"]).stdout)
    assert (churn["helpful"], churn["not_helpful"]) == (2, 1)
    assert {a["model_id"] for a in churn["unhelpful"]} == {"customer-churn"}

    later = json.loads(runner.invoke(app, ["feedback", "report", "--since", "2999-01-01", "--json"]).stdout)
    assert (later["helpful"], later["not_helpful"], later["unhelpful"]) == (0, 0, [])
    recent = json.loads(runner.invoke(app, ["feedback", "report", "--since", "1h", "--json"]).stdout)
    assert recent["not_helpful"] == 2

    shown = runner.invoke(app, ["feedback", "report"], terminal_width=200)
    assert shown.exit_code == 0 and "4 ratings, 2 helpful, 2 not helpful" in shown.stdout


def test_report_errors_are_clear(rated, capsys, monkeypatch):
    for args, message in ((["feedback", "report", "--since", "last tuesday"], "give a duration like 7d"),
                          (["feedback", "report", "--model", "churn-modle"], "unknown model 'churn-modle'")):
        monkeypatch.setattr("sys.argv", ["modeldesk", *args])
        with pytest.raises(SystemExit) as exit_info:
            main()
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert message in " ".join(err.split()) and "Traceback" not in err
