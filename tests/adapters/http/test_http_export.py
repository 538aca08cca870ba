"""`GET /v1/models/{id}/export`: admins get every record's tier, exactly as the chat gives it; other roles
get 403; every export is in the audit trail and none is counted as probing or as recent inputs."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from assistant.conversation.tools import Toolbox, run_tool

DEMO = {"credit-default": ("customer_id", "C-10293", "customer"), "customer-churn": ("customer_id", "C-20001", "customer"),
        "transaction-fraud": ("transaction_id", "T-100000", "transaction")}


@pytest.fixture(scope="module")
def world(make_app, registry_all, demo_knowledge, tmp_path_factory):
    """The app over an assistant with the guardrails, monitoring and the audit log, all on disk."""
    from assistant.audit import open_audit_log
    from assistant.config import load_settings
    from assistant.engine import Assistant
    from assistant.guard.guard import Guard
    from assistant.guard.state import SqliteGuardStore
    from assistant.monitoring import Monitor

    data = tmp_path_factory.mktemp("export-http")
    settings = load_settings(data_dir=data)
    guard = Guard(SqliteGuardStore(data / "guard.sqlite"), registry_all)
    assistant = Assistant(registry_all, demo_knowledge, guard=guard, audit=open_audit_log(settings),
                          monitor=Monitor(settings, registry_all))
    app = make_app(with_assistant=assistant, data_dir=data)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield {"client": client, "assistant": assistant, "data": data, "exports": {}}


def _export(world, model_id: str, auth, fmt: str = "csv") -> pd.DataFrame:
    key = (model_id, fmt)
    if key not in world["exports"]:
        response = world["client"].get(f"/v1/models/{model_id}/export" + ("?format=parquet" if fmt == "parquet" else ""),
                                       headers=auth("admin"))
        assert response.status_code == 200, response.text
        if fmt == "csv":
            assert response.headers["content-type"].startswith("text/csv")
            frame = pd.read_csv(io.BytesIO(response.content), dtype={DEMO[model_id][0]: str, "model_version": str})
        else:
            assert response.headers["content-type"] == "application/vnd.apache.parquet"
            frame = pd.read_parquet(io.BytesIO(response.content))
        assert "attachment" in response.headers["content-disposition"] and model_id in response.headers["content-disposition"]
        world["exports"][key] = frame
    return world["exports"][key]


@pytest.mark.parametrize("model_id", list(DEMO))
def test_admin_export_equals_the_tiers_the_chat_gives(world, auth, model_id):
    frame = _export(world, model_id, auth)
    id_column, sample, entity = DEMO[model_id]
    model = world["assistant"].registry.get(model_id)
    assert list(frame.columns) == [id_column, "tier", "tier_rank", "action", "reasons", "model_version", "scored_at"]
    assert frame[id_column].tolist() == model.records.index.tolist()
    # Every record: the predict tool (what the chat calls) gives the same tier, rank and action.
    toolbox = Toolbox(world["assistant"].registry, None, role="admin")
    for row in frame.itertuples(index=False):
        said = run_tool(toolbox, "predict", {"model_id": model_id, "record_id": row[0]})
        assert (row.tier, row.tier_rank, row.action) == (said.tier, said.tier_rank, said.action), row[0]
    # And the chat itself, asked in words, says the same tier for a record as the export.
    answer = world["client"].post("/v1/chat", headers=auth("business"), json={
        "message": f"What is the risk tier for {entity} {sample}, and why?", "model_id": model_id}).json()
    predicted = next(t["result"] for t in answer["tool_calls"] if t["name"] in ("predict", "explain"))
    predicted = predicted.get("prediction", predicted)
    row = frame.set_index(id_column).loc[sample]
    assert predicted["tier"] == row["tier"] and row["tier"] in answer["answer"]
    explained = run_tool(toolbox, "explain", {"model_id": model_id, "record_id": sample})
    assert row["reasons"] == "; ".join(r.text for r in explained.reasons)


def test_parquet_export_has_the_same_rows(world, auth):
    csv, parquet = _export(world, "credit-default", auth), _export(world, "credit-default", auth, "parquet")
    assert list(parquet.columns) == list(csv.columns)
    assert parquet.drop(columns="scored_at").equals(csv.drop(columns="scored_at"))


def test_probability_only_when_asked(world, auth):
    response = world["client"].get("/v1/models/customer-churn/export?with_probability=true", headers=auth("admin"))
    frame = pd.read_csv(io.BytesIO(response.content))
    assert "probability" in frame.columns and frame["probability"].between(0, 1).all()
    assert "probability" not in _export(world, "customer-churn", auth).columns


@pytest.mark.parametrize("role", ["business", "analyst", "security"])
def test_other_roles_get_403(world, auth, role):
    response = world["client"].get("/v1/models/credit-default/export", headers=auth(role))
    assert response.status_code == 403
    body = response.json()
    assert body["error"]["code"] == "forbidden" and "admin" in body["error"]["message"]
    assert "customer_id" not in response.text


def test_bad_requests_are_clear(world, auth):
    client = world["client"]
    assert client.get("/v1/models/credit-default/export").status_code == 401
    missing = client.get("/v1/models/credit-defualt/export", headers=auth("admin"))
    assert missing.status_code == 404 and "credit-default" in missing.json()["error"]["message"]
    wrong = client.get("/v1/models/credit-default/export?format=xlsx", headers=auth("admin"))
    assert wrong.status_code == 422 and "csv" in wrong.json()["error"]["message"]


def test_exports_are_audited_and_never_count_as_probing(world, auth, monkeypatch):
    for model_id in DEMO:
        _export(world, model_id, auth)
    client, assistant = world["client"], world["assistant"]
    client.get("/v1/models/credit-default/export", headers=auth("business"))  # refused, and audited as such
    # `modeldesk audit tail` on the same data dir shows who exported which model and how many rows.
    from adapters.cli import app

    monkeypatch.setenv("MODELDESK_DATA_DIR", str(world["data"]))
    tail = CliRunner().invoke(app, ["audit", "tail", "--json", "-n", "200"])
    assert tail.exit_code == 0, tail.output
    exported = [e for e in json.loads(tail.stdout) if e["tool_calls"] and e["tool_calls"][0]["name"] == "export"]
    done = {(e["principal"], e["model_id"], e["tool_calls"][0]["arguments"]["rows"]) for e in exported
            if e["verdict"] == "answered"}
    for model_id in DEMO:
        rows = len(assistant.registry.get(model_id).records)
        assert ("ada", model_id, rows) in done
    assert any(e["principal"] == "bea" and e["verdict"] == "refused" for e in exported)
    # Not probing: no alert, nothing in the admin's query stream, and their next question is answered plainly.
    guard = assistant.guard
    assert guard.alerts() == []
    assert guard.store.events("ada", 0.0) == []
    answer = client.post("/v1/chat", headers=auth("admin"), json={"message": "What is the risk tier for C-10293?"}).json()
    assert not answer["refused"] and not answer["answer"].startswith("Note:")
    # Not recent inputs either: the exported records do not feed drift (only what was asked in the chat does).
    for model_id, (_, sample, _) in DEMO.items():
        assert {o.record_id for o in assistant.monitor.store.recent(model_id, 20_000)} <= {sample}
