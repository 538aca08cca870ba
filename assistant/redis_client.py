"""The one way ModelDesk connects to Redis: short timeouts, one immediate retry, no password in messages.

Every Redis-backed store (guard state, sessions, feedback, Slack memory) uses `connect`, so an
outage costs a request about a second, never a hang, and error messages name host and port only.
"""

from __future__ import annotations

from typing import Any

from assistant.errors import ConfigError


def connect(url: str, *, timeout: float = 1.0) -> tuple[Any, str]:
    """A client for `url` and a printable `host:port` for messages; a bad URL is a ConfigError naming the variable."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                      retry=Retry(NoBackoff(), 1), retry_on_timeout=False,
                                      decode_responses=True, health_check_interval=30)
    except ValueError as exc:  # redis-py rejects the URL scheme or its options
        raise ConfigError(f"invalid settings: MODELDESK_REDIS_URL: {exc}") from None
    where = client.get_connection_kwargs()  # host and port only: the URL may hold a password
    return client, f"{where.get('host', where.get('path', '?'))}:{where.get('port', '')}".rstrip(":")
