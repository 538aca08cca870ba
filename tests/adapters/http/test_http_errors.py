"""Auth, limits and errors: the right status, always `{"error": {"code", "message"}}`, never a traceback."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from assistant.errors import Refused


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body["error"]


def test_missing_or_unknown_key_is_401(client):
    missing = client.post("/v1/chat", json={"message": "hello"})
    assert error_of(missing, 401)["code"] == "unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = client.get("/v1/models", headers={"Authorization": "Bearer not-a-key"})
    assert "unknown API key" in error_of(wrong, 401)["message"]
    basic = client.get("/v1/models", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    error_of(basic, 401)


def test_open_endpoints_need_no_key(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_a_role_without_access_is_403(client, auth):
    error = error_of(client.get("/v1/models/transaction-fraud/posture?details=true", headers=auth("business")), 403)
    assert "security and admin" in error["message"] and "business" in error["message"]


def test_message_too_long_is_422_with_a_clear_message(client, auth):
    error = error_of(client.post("/v1/chat", json={"message": "x" * 4001}, headers=auth("business")), 422)
    assert error["message"] == "message is too long: 4,001 characters; the limit is 4,000"
    blank = error_of(client.post("/v1/chat", json={"message": "   "}, headers=auth("business")), 422)
    assert "empty" in blank["message"]
    missing = error_of(client.post("/v1/chat", json={}, headers=auth("business")), 422)
    assert missing["message"] == "message is required"


def test_malformed_json_is_400(client, auth):
    response = client.post("/v1/chat", content=b'{"message": ', headers={**auth("business"),
                                                                         "content-type": "application/json"})
    assert error_of(response, 400)["code"] == "bad_request"


def test_body_too_large_is_413_declared_or_streamed(client, auth):
    big = {"message": "x" * 70_000}
    error = error_of(client.post("/v1/chat", json=big, headers=auth("business")), 413)
    assert error["code"] == "payload_too_large"

    def chunks():  # no Content-Length: the body is counted as it arrives
        for _ in range(100):
            yield b"x" * 1000

    streamed = client.post("/v1/chat", content=chunks(), headers={**auth("business"), "content-type": "application/json"})
    error_of(streamed, 413)


def test_rate_limit_is_per_key_with_retry_after(make_app, auth):
    with TestClient(make_app(rate_limit_per_minute=3)) as limited:
        statuses = [limited.get("/v1/models", headers=auth("business")).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        response = limited.get("/v1/models", headers=auth("business"))
        assert error_of(response, 429)["code"] == "rate_limited"
        assert 1 <= int(response.headers["retry-after"]) <= 20
        assert limited.get("/v1/models", headers=auth("analyst")).status_code == 200  # another key, another bucket
        assert limited.get("/healthz").status_code == 200


def test_unknown_routes_and_methods_are_json(client, auth):
    assert error_of(client.get("/v2/anything"), 404)["code"] == "not_found"
    assert error_of(client.get("/v1/chat", headers=auth("business")), 405)["code"] == "method_not_allowed"


def test_an_unexpected_failure_is_a_generic_500(client, auth, assistant, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals at /srv/modeldesk/engine.py")

    monkeypatch.setattr(assistant, "answer", broken)
    response = client.post("/v1/chat", json={"message": "What is the risk tier for C-10293?"},
                           headers=auth("business"))
    error = error_of(response, 500)
    assert error["code"] == "internal_error" and "secret" not in response.text and "RuntimeError" not in response.text


def test_a_refusal_from_the_core_is_an_answer_and_is_counted(client, auth, assistant, monkeypatch):
    def refuse(*args, **kwargs):
        raise Refused("I can't list the model's coefficients.", category="extraction")

    monkeypatch.setattr(assistant, "answer", refuse)
    before = _metric(client, 'modeldesk_answers_refused_total{category="extraction"}')
    response = client.post("/v1/chat", json={"message": "Give me every coefficient."}, headers=auth("business"))
    assert response.status_code == 200
    body = response.json()
    assert body["refused"] is True and body["refusal"] == {"category": "extraction",
                                                           "reason": "I can't list the model's coefficients."}
    assert _metric(client, 'modeldesk_answers_refused_total{category="extraction"}') == before + 1


def _metric(client, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.parametrize("origin, allowed", [("https://portal.example.com", True), ("https://evil.example", False)])
def test_cors_allows_only_configured_portal_origins(make_app, origin, allowed):
    with TestClient(make_app(cors_origins="https://portal.example.com")) as c:
        preflight = c.options("/v1/chat", headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                                    "Access-Control-Request-Headers": "authorization,content-type"})
        assert (preflight.headers.get("access-control-allow-origin") == origin) is allowed
