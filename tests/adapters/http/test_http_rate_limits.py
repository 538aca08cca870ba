"""Rate limits per principal, shared by replicas through a real redis-server: two app instances on one
Redis allow a principal its limit once, not twice; another principal has its own bucket."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from tests.adapters.http.conftest import KEYS


def _clients(make_app, **settings):
    return [TestClient(make_app(**settings), raise_server_exceptions=False) for _ in range(2)]


def test_two_replicas_share_one_bucket_per_principal(make_app, redis_url):
    # A fresh key (and so a fresh principal) per run: the session's Redis outlives this test.
    key = f"replica-key-{uuid.uuid4().hex}"
    other = f"replica-key-{uuid.uuid4().hex}"
    keys = {**KEYS, key: {"principal": f"p-{key}", "role": "business"},
            other: {"principal": f"p-{other}", "role": "business"}}
    one, two = _clients(make_app, redis_url=redis_url, api_keys=keys, rate_limit_per_minute=3)
    with one, two:
        headers = {"Authorization": f"Bearer {key}"}
        statuses = [c.get("/v1/models", headers=headers).status_code for c in (one, two, one)]
        assert statuses == [200, 200, 200]
        limited = two.get("/v1/models", headers=headers)  # the fourth in a minute, on the other replica
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert limited.json()["error"]["code"] == "rate_limited"
        assert one.get("/v1/models", headers=headers).status_code == 429
        # Someone else on the same replicas is not held back.
        assert two.get("/v1/models", headers={"Authorization": f"Bearer {other}"}).status_code == 200


def test_keys_of_one_principal_share_its_limit(make_app):
    keys = {"k-laptop": {"principal": "dana", "role": "business"}, "k-script": {"principal": "dana", "role": "business"}}
    with TestClient(make_app(api_keys=keys, rate_limit_per_minute=2), raise_server_exceptions=False) as client:
        assert client.get("/v1/models", headers={"Authorization": "Bearer k-laptop"}).status_code == 200
        assert client.get("/v1/models", headers={"Authorization": "Bearer k-script"}).status_code == 200
        assert client.get("/v1/models", headers={"Authorization": "Bearer k-laptop"}).status_code == 429


def test_an_unreachable_redis_does_not_block_requests(free_port):
    from adapters.http.limits import RedisRateLimiter

    limiter = RedisRateLimiter(1, f"redis://127.0.0.1:{free_port()}/0")
    assert [limiter.take("p") for _ in range(3)] == [0.0, 0.0, 0.0]  # let through (and logged), not an error
    limiter.close()


def test_workers_of_one_server_share_one_bucket_per_principal(assistant, tmp_path):
    """`serve --workers 2` without Redis: both workers' apps keep the buckets in one SQLite file, so a
    principal gets its limit once, whichever worker each request reaches."""
    from adapters.http import create_app
    from assistant.config import load_settings

    settings = load_settings(data_dir=tmp_path, api_keys=KEYS, rate_limit_per_minute=3)
    one, two = (TestClient(create_app(settings, assistant=assistant, workers=2), raise_server_exceptions=False)
                for _ in range(2))
    key = next(iter(KEYS))
    with one, two:
        headers = {"Authorization": f"Bearer {key}"}
        assert [c.get("/v1/models", headers=headers).status_code for c in (one, two, one)] == [200, 200, 200]
        limited = two.get("/v1/models", headers=headers)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert (tmp_path / "state" / "ratelimit.sqlite").exists()
