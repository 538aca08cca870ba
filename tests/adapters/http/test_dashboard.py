"""The posture dashboard and the posture gauges, over a real assistant with monitoring, guardrails, the
audit log and feedback on disk: a shifted batch monitored with the CLI shows as a drift trend, a sweep
as a probing alert with its principal, both in a real Chromium and on /metrics."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

CHROMIUM = os.environ.get("MODELDESK_TEST_CHROMIUM", "/usr/bin/chromium")  # as in test_browser.py
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]

SWEEP = [f"What if C-10293 had a balance of {400 + 25 * i}?" for i in range(14)]


def _batch(model, path: Path, shift: bool) -> Path:
    rows = model.records.sample(400, random_state=11 if shift else 5)
    if shift:
        rows = rows.assign(monthly_charges=rows["monthly_charges"] + float(model.reference["monthly_charges"].std()))
    rows.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def world(make_app, registry_all, demo_knowledge, demo_models, tmp_path_factory):
    from adapters.cli import app as cli
    from assistant.audit import open_audit_log
    from assistant.config import load_settings
    from assistant.engine import Assistant
    from assistant.guard.guard import Guard
    from assistant.guard.state import SqliteGuardStore
    from assistant.monitoring import Monitor
    from assistant.overview import Overview

    data = tmp_path_factory.mktemp("dashboard")
    settings = load_settings(data_dir=data)
    monitor = Monitor(settings, registry_all)
    assistant = Assistant(registry_all, demo_knowledge, monitor=monitor, audit=open_audit_log(settings),
                          guard=Guard(SqliteGuardStore(data / "guard.sqlite"), registry_all))
    app = make_app(with_assistant=assistant, data_dir=data)
    app.state.services.overview = Overview.of(assistant, ttl=0)  # measured on every request in this test
    churn = registry_all.get("customer-churn")
    # An operator monitors two batches with the CLI, on the same data dir: a plain one, then a shifted one.
    env = {"MODELDESK_DATA_DIR": str(data), "MODELDESK_MODELS_PATH": str(demo_models)}
    for name, shift in (("plain.csv", False), ("shifted.csv", True)):
        result = CliRunner().invoke(cli, ["monitor", "customer-churn", "--batch", str(_batch(churn, data / name, shift))],
                                    env=env)
        assert result.exit_code == 0, result.output
        time.sleep(0.01)
    with TestClient(app, raise_server_exceptions=False) as client:
        # An analyst sweeps one input of one customer: the guardrails alert, naming them.
        for question in SWEEP:
            client.post("/v1/chat", headers={"Authorization": "Bearer key-analyst"}, json={"message": question})
        # A business user rates an answer as not helpful.
        answer = client.post("/v1/chat", headers={"Authorization": "Bearer key-business"},
                             json={"message": "How accurate is the churn model?"}).json()
        client.post("/v1/feedback", headers={"Authorization": "Bearer key-business"},
                    json={"answer_id": answer["answer_id"], "rating": "down", "comment": "Too vague"})
        yield {"client": client, "app": app, "assistant": assistant, "data": data, "env": env, "churn": churn}


def test_dashboard_data_is_for_security_and_admin_only(world, auth):
    client = world["client"]
    for role in ("business", "analyst"):
        response = client.get("/v1/dashboard", headers=auth(role))
        assert response.status_code == 403 and "security and admin" in response.json()["error"]["message"]
    assert client.get("/v1/dashboard").status_code == 401
    body = client.get("/v1/dashboard", headers=auth("admin")).json()
    churn = next(m for m in body["models"] if m["model_id"] == "customer-churn")
    assert [h["source"] for h in churn["history"] if h["psi"]][:2] == ["batch plain.csv", "batch shifted.csv"]
    plain, shifted = [h for h in churn["history"] if h["psi"]][:2]
    assert shifted["psi"]["monthly charges"] > 0.25 > plain["psi"]["monthly charges"]
    assert any(a["principal"] == "ali" for a in body["alerts"])
    assert {"model_id": "customer-churn", "operation": "performance", "helpful": 0, "not_helpful": 1} in body["feedback"]["groups"]
    assert body["feedback"]["unhelpful"][0]["question"] == "How accurate is the churn model?"


def test_metrics_carry_the_posture_gauges(world):
    # Shifted inputs as live traffic: the PSI gauges read the recent-inputs window.
    churn = world["churn"]
    rows = churn.records.sample(400, random_state=9)[churn.spec.feature_names].copy()
    rows["monthly_charges"] += float(churn.reference["monthly_charges"].std())
    world["assistant"].monitor.record(churn.id, rows.to_dict("records"))
    text = world["client"].get("/metrics").text

    def value(name: str, **labels: str) -> float:
        for line in text.splitlines():
            if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"{name} {labels} not in /metrics")

    assert value("modeldesk_posture_grade", model="customer-churn") == 2  # At risk: drift and probing alerts
    assert value("modeldesk_posture_grade", model="credit-default") >= 1  # the sweep's alerts
    assert value("modeldesk_drift_psi", model="customer-churn", feature="monthly_charges") > 0.25
    assert value("modeldesk_drift_psi", model="customer-churn", feature="tenure_months") < 0.1
    assert 0 <= value("modeldesk_unusual_input_share", model="customer-churn") <= 1
    assert value("modeldesk_probing_alerts_last_day", model="credit-default") >= 1
    assert value("modeldesk_probing_alerts_last_day", model="transaction-fraud") == 0
    for severity in ("low", "medium", "high", "critical"):
        value("modeldesk_open_incidents", model="transaction-fraud", severity=severity)
    assert sum(value("modeldesk_open_incidents", model=m, severity=s) for m in ("credit-default", "customer-churn",
               "transaction-fraud") for s in ("low", "medium", "high", "critical")) >= 1
    assert "# HELP modeldesk_posture_grade Posture grade per model: 0 Good, 1 Watch, 2 At risk." in text


# ------------------------------------------------------------------------------------------ browser
@pytest.fixture(scope="module")
def served(world):
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(world["app"], log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=15)
    sock.close()


@pytest.fixture(scope="module")
def page(served):
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium is not installed at {CHROMIUM}; run ./dev setup", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(60_000)
        pg = context.new_page()
        pg.requests, pg.js_errors = [], []
        pg.on("request", lambda r: pg.requests.append(r))
        pg.on("pageerror", lambda exc: pg.js_errors.append(str(exc)))
        pg.on("console", lambda m: pg.js_errors.append(m.text) if m.type == "error" else None)
        yield pg
        browser.close()


def test_dashboard_in_chromium_shows_the_drift_trend_and_the_probing_alert(page, served):
    page.goto(served + "/dashboard#key=key-security")
    page.locator("body[data-loaded='true']").wait_for()
    assert "key=" not in page.url
    churn = page.locator("article.model[data-model='customer-churn']")
    # The grade in words (and an icon and border style), not colour alone.
    assert re.search(r"Posture: (Good|Watch|At risk)", churn.locator(".grade").inner_text())
    # The drift trend: the monthly charges line, in two or more measurements, ends above the at-risk line.
    chart = churn.locator("svg[data-chart='drift-customer-churn']")
    assert chart.get_attribute("role") == "img"
    line = chart.locator("g.series[data-feature='monthly_charges']")
    assert line.locator("polyline").count() == 1 and line.locator("title").count() >= 2
    assert re.search(r"monthly charges \d\.\d\d drifting", chart.inner_html())
    assert "at risk 0.25" in chart.inner_html() and "batch shifted.csv" in chart.locator("desc").inner_html()
    churn.locator("summary", has_text="Drift history as a table").click()
    assert "batch shifted.csv" in churn.locator("details table").inner_text()
    # The probing alert on the timeline, with its principal, and in the table beside it.
    timeline = page.locator("#alerts-chart svg[data-chart='alerts-timeline']")
    assert timeline.locator("g.alert[data-principal='ali']").count() >= 1
    assert "ali (analyst)" in page.locator("#alerts-table").inner_text()
    assert "credit-default" in page.locator("#alerts-table").inner_text()
    # Feedback: the unhelpful answer with its question.
    assert "How accurate is the churn model?" in page.locator("#feedback-unhelpful").inner_text()
    host = urlparse(served).netloc
    assert {urlparse(r.url).netloc for r in page.requests} == {host}  # everything served by the app itself
    assert page.js_errors == []


def test_dashboard_in_chromium_turns_away_a_business_key(page, served):
    page.goto(served + "/dashboard?key=key-business")
    page.locator("body[data-loaded='error']").wait_for()
    assert "security and admin roles" in page.locator("#status").inner_text()
    assert page.locator("article.model").count() == 0
    assert page.get_by_label("API key", exact=True).is_visible()


def test_grafana_dashboard_reads_only_metrics_the_service_exposes(world):
    import json

    dashboard = json.loads((Path(__file__).resolve().parents[3] / "deploy" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    names = set(re.findall(r"modeldesk_[a-z_]+", " ".join(exprs)))
    assert {"modeldesk_posture_grade", "modeldesk_drift_psi", "modeldesk_unusual_input_share", "modeldesk_open_incidents",
            "modeldesk_probing_alerts_last_day"} <= names
    text = world["client"].get("/metrics").text
    exposed = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}
    assert names <= exposed, names - exposed
