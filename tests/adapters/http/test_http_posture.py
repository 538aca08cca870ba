"""Posture over HTTP with monitoring on: the details carry drift, anomalies, provenance, the data audit and
the retraining trigger; the drift chart is an SVG; the summary stays the same five fields."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def monitored(make_app, registry_all, demo_knowledge, tmp_path_factory):
    from assistant.config import load_settings
    from assistant.engine import Assistant
    from assistant.monitoring import Monitor

    monitor = Monitor.from_settings(load_settings(data_dir=tmp_path_factory.mktemp("monitoring")), registry_all)
    model = registry_all.get("customer-churn")
    rows = model.records.sample(400, random_state=9)[model.spec.feature_names].copy()
    rows["monthly_charges"] += float(model.reference["monthly_charges"].std())
    monitor.record(model.id, rows.to_dict("records"), ts=time.time() - 8 * 86400)
    app = make_app(with_assistant=Assistant(registry_all, demo_knowledge, monitor=monitor))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_posture_details_carry_the_monitoring_sections(monitored, auth):
    details = monitored.get("/v1/models/customer-churn/posture?details=true", headers=auth("security"))
    assert details.status_code == 200, details.text
    body = details.json()
    assert body["grade"] in {"Watch", "At risk"}
    assert body["drift"]["drifting"] == ["monthly_charges"] and body["drift"]["judged"]
    assert "input drift on `monthly_charges` since last week" in body["headline"]
    assert body["anomalies"]["rows"] == 400
    assert body["provenance"]["status"] in {"recorded", "unchanged"} and len(body["provenance"]["artifact_sha256"]) == 64
    assert body["data_audit"]["rows"] == 1500 and body["evaluation"]["monotone"]
    assert body["retraining"]["due"] and body["retraining"]["since"]
    summary = monitored.get("/v1/models/customer-churn/posture", headers=auth("business")).json()
    assert set(summary) == {"model_id", "grade", "reasons", "adversarial", "knowledge_available"}
    assert any("monthly charges" in r for r in summary["reasons"])


def test_drift_chart_is_an_svg(monitored, auth):
    chart = monitored.get("/v1/models/customer-churn/drift.svg", headers=auth("business"))
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    svg = chart.text
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "monthly charges" in svg and "drifting" in svg and "400 recent inputs" in svg
    assert monitored.get("/v1/models/customer-churn/drift.svg").status_code == 401
    missing = monitored.get("/v1/models/no-such-model/drift.svg", headers=auth("business"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_drift_chart_without_monitoring_is_503(client, auth):
    response = client.get("/v1/models/customer-churn/drift.svg", headers=auth("security"))
    assert response.status_code == 503 and "monitoring is not configured" in response.json()["error"]["message"]
