"""Liveness and readiness, including a knowledge store that is down at start-up."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_ready_when_knowledge_and_state_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready" and body["models"] >= 3
    assert all(check["ok"] for check in body["checks"].values())
    assert "unchanged" in body["checks"]["startup"]["detail"]  # start-up ingested, idempotently


def test_knowledge_store_down_is_503_but_predictions_still_answer(demo_models, tmp_path, free_port, make_app, auth):
    """`serve` with MODELDESK_CHROMA_URL at a closed port: not ready, yet prediction questions work."""
    app = make_app(with_assistant=None, data_dir=tmp_path, models_path=str(demo_models),
                   chroma_url=f"http://127.0.0.1:{free_port()}")
    with TestClient(app, raise_server_exceptions=False) as c:
        ready = c.get("/readyz")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "unavailable" and body["checks"]["knowledge"]["ok"] is False
        assert body["checks"]["state"]["ok"] is True
        assert body["error"]["code"] == "unavailable" and "knowledge" in body["error"]["message"]
        assert c.get("/healthz").status_code == 200

        answer = c.post("/v1/chat", json={"message": "What is the risk tier for customer C-10293?"},
                        headers=auth("business"))
        assert answer.status_code == 200, answer.text
        assert answer.json()["tool_calls"][0]["name"] == "predict"
        document = c.get("/v1/documents/policies/risk-tier-policy.md", headers=auth("business"))
        assert document.status_code == 503 and document.json()["error"]["code"] == "unavailable"
