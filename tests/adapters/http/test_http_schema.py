"""The published OpenAPI document, and schemathesis over it: no server error, no response that breaks it."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

EXAMPLES = 25  # per operation and mode: keeps the run to seconds


@pytest.fixture(scope="module")
def api_schema(client, app):
    """The app's own /openapi.json, driven in-process (the app is started by `client`)."""
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_openapi_lists_the_contract_endpoints(client):
    document = client.get("/openapi.json").json()
    paths = set(document["paths"])
    assert {"/v1/chat", "/v1/chat/completions", "/v1/feedback", "/v1/models", "/v1/models/{model_id}",
            "/v1/models/{model_id}/posture", "/v1/documents/{doc_id}", "/healthz", "/readyz", "/metrics"} <= paths
    assert "bearer" in str(document["components"]["securitySchemes"]).lower()
    assert "swagger" in client.get("/docs").text.lower()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_error_and_no_schema_violation(api_schema, auth, mode):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case):
            # Every check but "schema-valid data is accepted": a schema cannot say that a question must
            # hold more than whitespace, and the engine rightly answers such a request with 422.
            case.call_and_validate(headers=auth("admin"), excluded_checks=[positive_data_acceptance])

        try:
            run()
        except Unsatisfiable:  # nothing to make invalid: the operation takes no input
            assert mode == GenerationMode.NEGATIVE, operation.label
        except Exception as exc:  # collect every operation's failure, then report them together
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
