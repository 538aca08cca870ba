"""Feedback on answers is stored in SQLite under the data directory and counted in /metrics."""

from __future__ import annotations

import sqlite3


def metric(client, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_feedback_is_stored_and_counted(client, app, auth):
    answer = client.post("/v1/chat", json={"message": "What is the risk tier for customer C-10293?"},
                         headers=auth("business")).json()
    before = metric(client, 'modeldesk_feedback_total{rating="down"}')
    response = client.post("/v1/feedback", json={"answer_id": answer["answer_id"], "rating": "down",
                                                  "comment": "I expected the reasons too"}, headers=auth("business"))
    assert response.status_code == 201, response.text
    assert response.json()["answer_id"] == answer["answer_id"]
    assert metric(client, 'modeldesk_feedback_total{rating="down"}') == before + 1

    path = app.state.services.settings.data_dir / "state" / "feedback.sqlite"
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT principal, role, rating, comment, session_id FROM feedback WHERE answer_id = ?",
                         (answer["answer_id"],)).fetchone()
    assert row == ("bea", "business", "down", "I expected the reasons too", answer["session_id"])


def test_feedback_by_session_rates_its_latest_answer(client, auth):
    first = client.post("/v1/chat", json={"message": "What is the risk tier for customer C-10293?"},
                        headers=auth("analyst")).json()
    second = client.post("/v1/chat", json={"message": "Why?", "session_id": first["session_id"]},
                         headers=auth("analyst")).json()
    response = client.post("/v1/feedback", json={"session_id": first["session_id"], "rating": "up"},
                           headers=auth("analyst"))
    assert response.status_code == 201 and response.json()["answer_id"] == second["answer_id"]


def test_feedback_on_a_completion_uses_its_id(client, auth):
    completion = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "Is the fraud "
                                                                         "model safe to rely on right now?"}]},
                             headers=auth("business")).json()
    response = client.post("/v1/feedback", json={"answer_id": completion["id"], "rating": "up"},
                           headers=auth("business"))
    assert response.status_code == 201, response.text


def test_feedback_only_on_your_own_answers(client, auth):
    answer = client.post("/v1/chat", json={"message": "What is the risk tier for customer C-10293?"},
                         headers=auth("business")).json()
    other = client.post("/v1/feedback", json={"answer_id": answer["answer_id"], "rating": "up"},
                        headers=auth("analyst"))
    assert other.status_code == 404
    unknown = client.post("/v1/feedback", json={"answer_id": "0123456789abcdef", "rating": "up"},
                          headers=auth("business"))
    assert unknown.status_code == 404
    nothing = client.post("/v1/feedback", json={"rating": "up"}, headers=auth("business"))
    assert nothing.status_code == 422 and "answer_id" in nothing.json()["error"]["message"]
    bad = client.post("/v1/feedback", json={"answer_id": answer["answer_id"], "rating": "meh"},
                      headers=auth("business"))
    assert bad.status_code == 422


def test_metrics_count_requests_by_route_and_status_with_latency(client, auth):
    client.get("/v1/models", headers=auth("business"))
    client.get("/v1/models/nope", headers=auth("business"))
    text = client.get("/metrics").text
    assert 'modeldesk_http_requests_total{method="GET",route="/v1/models",status="200"}' in text
    assert 'modeldesk_http_requests_total{method="GET",route="/v1/models/{model_id}",status="404"}' in text
    assert 'modeldesk_http_request_duration_seconds_bucket{le="0.3",method="GET",route="/v1/models"}' in text
    assert 'modeldesk_answers_total{endpoint="chat"}' in text
