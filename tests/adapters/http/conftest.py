"""The HTTP app over the real assistant: demo models, the demo corpus in an embedded Chroma, SQLite state."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

KEYS = {
    "key-business": {"principal": "bea", "role": "business"},
    "key-analyst": {"principal": "ali", "role": "analyst"},
    "key-security": {"principal": "sam", "role": "security"},
    "key-admin": {"principal": "ada", "role": "admin"},
}
ROLE_KEY = {entry["role"]: key for key, entry in KEYS.items()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def api_key() -> Callable[[str], str]:
    """`api_key("business")` → that role's key."""
    return ROLE_KEY.__getitem__


@pytest.fixture(scope="session")
def auth() -> Callable[[str], dict[str, str]]:
    """`auth("business")` → the Authorization header of that role's key."""
    return lambda role: {"Authorization": f"Bearer {ROLE_KEY[role]}"}


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """A loopback port nobody listens on (bound, then released)."""
    return _free_port


@pytest.fixture(scope="session")
def assistant(registry_all, demo_knowledge):
    from assistant.engine import Assistant

    return Assistant(registry_all, demo_knowledge)


@pytest.fixture(scope="session")
def make_app(assistant, tmp_path_factory):
    """`make_app(**settings)` → a new app over the shared assistant (pass assistant=None to build one)."""
    from adapters.http import create_app
    from assistant.config import load_settings

    def make(*, with_assistant=assistant, **overrides):
        values = {"data_dir": tmp_path_factory.mktemp("http"), "api_keys": KEYS, "rate_limit_per_minute": 10_000,
                  **overrides}
        return create_app(load_settings(**values), assistant=with_assistant)

    return make


@pytest.fixture(scope="session")
def app(make_app):
    return make_app()


@pytest.fixture(scope="session")
def client(app) -> Iterator[TestClient]:
    """A client over the started app (lifespan run); server errors come back as responses."""
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def server_url(make_app) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, in a thread."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(make_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
