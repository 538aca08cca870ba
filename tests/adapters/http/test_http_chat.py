"""/v1/chat as a portal calls it: the contract's body, conversations, role shaping, cited passages."""

from __future__ import annotations

from typing import Any

CONTRACT_KEYS = {"session_id", "answer", "citations", "tool_calls", "refused", "refusal"}


def keys_anywhere(data: Any) -> set[str]:
    if isinstance(data, dict):
        return set(data) | set().union(*(keys_anywhere(v) for v in data.values()))
    if isinstance(data, list):
        return set().union(*(keys_anywhere(v) for v in data)) if data else set()
    return set()


def ask(client, auth, message: str, role: str = "business", **extra) -> dict:
    response = client.post("/v1/chat", json={"message": message, **extra}, headers=auth(role))
    assert response.status_code == 200, response.text
    return response.json()


def test_chat_answers_in_the_contract_shape(client, auth):
    body = ask(client, auth, "What is the risk tier for customer C-10293?")
    assert CONTRACT_KEYS <= set(body) and body["answer_id"]
    assert "C-10293" in body["answer"] and "risk tier" in body["answer"]
    assert body["refused"] is False and body["refusal"] is None
    [call] = body["tool_calls"]
    assert set(call) == {"name", "arguments", "result"}
    assert call["name"] == "predict" and call["arguments"] == {"model_id": "credit-default", "record_id": "C-10293"}
    assert call["result"]["tier"] in {"Low", "Medium", "High"}


def test_session_id_continues_the_conversation(client, auth):
    first = ask(client, auth, "What is the risk tier for customer C-10293?")
    follow = ask(client, auth, "Why?", session_id=first["session_id"])
    assert follow["session_id"] == first["session_id"]
    [call] = follow["tool_calls"]
    assert call["name"] == "explain" and call["arguments"]["record_id"] == "C-10293"
    assert "mainly because" in follow["answer"]


def test_a_session_belongs_to_the_principal_who_started_it(client, auth):
    first = ask(client, auth, "What is the risk tier for customer C-10293?", role="analyst")
    other = ask(client, auth, "Why?", role="business", session_id=first["session_id"])
    assert not any(c["arguments"].get("record_id") == "C-10293" for c in other["tool_calls"])


def test_business_never_sees_probabilities_and_analysts_see_them_rounded(client, auth):
    questions = ["What is the risk tier for customer C-10293, and why?",
                 "What if her balance were $500 lower?",
                 "How many customers in the West region are high risk?"]
    session = None
    for question in questions:
        body = ask(client, auth, question, session_id=session, model_id="credit-default")
        session = body["session_id"]
        assert not keys_anywhere(body) & {"probability", "mean_probability", "min_probability", "max_probability"}
        assert "probability" not in body["answer"].lower()
    analyst = ask(client, auth, "What is the risk tier for customer C-10293?", role="analyst")
    probability = analyst["tool_calls"][0]["result"]["probability"]
    assert 0 <= probability <= 1 and probability == round(probability, 2)


def test_unknown_model_is_404_with_a_suggestion(client, auth):
    response = client.post("/v1/chat", json={"message": "How accurate is it?", "model_id": "credit-defualt"},
                           headers=auth("business"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "credit-default" in response.json()["error"]["message"]


def test_a_citation_opens_its_passage(client, auth):
    body = ask(client, auth, "What are the limitations of the churn model?")
    citation = body["citations"][0]
    assert set(citation) == {"doc_id", "title", "doc_type", "snippet"}
    response = client.get(f"/v1/documents/{citation['doc_id']}", params={"q": citation["snippet"]},
                          headers=auth("business"))
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["doc_id"] == citation["doc_id"] and doc["title"] == citation["title"]
    assert citation["snippet"].rstrip("…").lstrip("…")[:80] in " ".join(doc["passage"]["text"].split())
    assert len(doc["passages"]) >= 1


def test_restricted_documents_are_not_found_for_business_and_readable_for_security(client, auth):
    incidents = client.get("/v1/models/credit-default/posture", params={"details": "true"}, headers=auth("security"))
    doc_id = incidents.json()["active_incidents"][0]["doc_id"]
    hidden = client.get(f"/v1/documents/{doc_id}", headers=auth("business"))
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
    missing = client.get("/v1/documents/incident:INC-0000-000", headers=auth("business"))
    assert missing.json()["error"]["message"].replace("INC-0000-000", doc_id.split(":")[1]) == \
        hidden.json()["error"]["message"]  # the same answer as for a document that does not exist
    shown = client.get(f"/v1/documents/{doc_id}", headers=auth("security"))
    assert shown.status_code == 200 and shown.json()["doc_type"] == "incident"


def test_models_list_describe_and_posture(client, auth):
    listing = client.get("/v1/models", headers=auth("business")).json()
    assert listing["object"] == "list"
    ids = {m["id"] for m in listing["data"]}
    assert {"credit-default", "customer-churn", "transaction-fraud"} <= ids
    assert "problems" not in listing
    assert "problems" in client.get("/v1/models", headers=auth("admin")).json()

    described = client.get("/v1/models/credit-default", headers=auth("business")).json()
    assert described["id"] == "credit-default" and described["tiers"][0]["action"]
    assert "min_probability" not in described["tiers"][0]
    assert "min_probability" in client.get("/v1/models/credit-default", headers=auth("analyst")).json()["tiers"][0]

    summary = client.get("/v1/models/credit-default/posture", headers=auth("business"))
    assert summary.status_code == 200
    assert set(summary.json()) == {"model_id", "grade", "reasons", "adversarial", "knowledge_available"}
    denied = client.get("/v1/models/credit-default/posture?details=true", headers=auth("analyst"))
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    details = client.get("/v1/models/credit-default/posture?details=true", headers=auth("admin")).json()
    assert details["grade"] in {"Good", "Watch", "At risk"} and "incidents_by_attack_type" in details
    assert client.get("/v1/models/nope", headers=auth("business")).status_code == 404
