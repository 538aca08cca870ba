"""API keys and roles: who is calling, and what their role may reach over HTTP.

Keys come from `MODELDESK_API_KEYS` (`{"<key>": {"principal": "alice", "role": "business"}}`) and
are sent as `Authorization: Bearer <key>`. A missing or unknown key gets 401; a known key whose
role may not use an endpoint gets 403; over the per-key rate limit, 429 with `Retry-After`.

Access rule (what each role may reach; the answers themselves are shaped by role in the core):

| endpoint                                   | business | analyst | security | admin |
|--------------------------------------------|----------|---------|----------|-------|
| chat, chat/completions, feedback           | yes      | yes     | yes      | yes   |
| models list, describe, posture (grade, reasons) | yes | yes     | yes      | yes   |
| posture `?details=true` (incidents, counts, ROC AUC) | 403 | 403 | yes   | yes   |
| model loading problems in the models list  | no       | no      | no       | yes   |
| models/{id}/export (every record's tier; audited) | 403 | 403  | 403      | yes   |
| documents/{doc_id}                         | public and internal documents; a restricted one is 404 (its existence is not revealed) | same | all | all |

`/healthz`, `/readyz`, `/metrics`, `/openapi.json`, `/docs` and the web chat page need no key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from adapters.http.errors import HttpError
from assistant.answer import Principal

SECURITY_ROLES = ("security", "admin")

bearer = HTTPBearer(auto_error=False, description="An API key from MODELDESK_API_KEYS.")


@dataclass(frozen=True)
class Caller:
    """An authenticated request: the principal and a stable, non-secret id of the key used."""

    principal: Principal
    key_id: str


class ApiKeys:
    """Known keys, held by their SHA-256 so a lookup does not compare secrets character by character."""

    def __init__(self, keys: dict[str, dict[str, str]]):
        self._by_digest = {_digest(k): (v["principal"], v.get("role", "business")) for k, v in keys.items()}

    def __len__(self) -> int:
        return len(self._by_digest)

    def identify(self, key: str, channel: str = "api") -> Caller | None:
        digest = _digest(key)
        entry = self._by_digest.get(digest)
        if entry is None:
            return None
        return Caller(principal=Principal(id=entry[0], role=entry[1], channel=channel), key_id=digest[:16])


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _unauthorized(message: str) -> HttpError:
    return HttpError(401, "unauthorized", message, {"WWW-Authenticate": "Bearer"})


async def authenticate(request: Request,
                       credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
    """The caller behind `Authorization: Bearer <key>`, after spending one token of its rate limit.

    Async on purpose: it is quick, and a sync dependency would cost every request a trip through
    the thread pool, where it would queue behind answers being computed.
    """
    services = request.app.state.services
    if credentials is None or not credentials.credentials:
        raise _unauthorized("missing API key: send `Authorization: Bearer <key>`")
    caller = services.keys.identify(credentials.credentials)
    if caller is None:
        raise _unauthorized("unknown API key")
    wait = services.limiter.take(caller.key_id)
    if wait > 0:
        retry = services.limiter.retry_after(wait)
        raise HttpError(429, "rate_limited", f"too many requests for this API key; retry in {retry} s",
                        {"Retry-After": retry})
    return caller


CallerDep = Annotated[Caller, Depends(authenticate)]


def require_role(caller: Caller, roles: tuple[str, ...], what: str) -> None:
    """403 unless the caller's role is one of `roles`."""
    if caller.principal.role not in roles:
        raise HttpError(403, "forbidden", f"{what} is limited to the {' and '.join(roles)} roles; "
                                          f"your key has the {caller.principal.role} role")
