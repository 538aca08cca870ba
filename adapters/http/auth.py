"""API keys and roles: who is calling, and what their role may reach over HTTP.

Keys come from `MODELDESK_API_KEYS` (`{"<key>": {"principal": "alice", "role": "business"}}`) and
are sent as `Authorization: Bearer <key>`. With `MODELDESK_OIDC_ISSUER` set, the same header may
instead carry a sign-in token (a JWT from the identity provider; see `adapters.http.oidc`), which
names the principal and role itself. A missing credential gets 401; an unknown key or a token that
fails a check gets 401 with `WWW-Authenticate: Bearer error="invalid_token"`; a known caller whose
role may not use an endpoint gets 403; over the per-principal rate limit, 429 with `Retry-After`.

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
from starlette.concurrency import run_in_threadpool

from adapters.http.errors import HttpError
from adapters.http.oidc import InvalidToken
from assistant.answer import Principal
from assistant.errors import Unavailable

SECURITY_ROLES = ("security", "admin")

bearer = HTTPBearer(auto_error=False, description="An API key from MODELDESK_API_KEYS, or a sign-in token "
                    "(JWT) from the identity provider named by MODELDESK_OIDC_ISSUER.")


@dataclass(frozen=True)
class Caller:
    """An authenticated request: the principal (with how it signed in) and a stable, non-secret id of
    the credential used: the key's digest prefix, or `oidc:<kid>` for a token."""

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
        key_id = digest[:16]
        return Caller(principal=Principal(id=entry[0], role=entry[1], channel=channel, login=f"static id={key_id}"),
                      key_id=key_id)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _unauthorized(message: str, *, invalid: bool = True) -> HttpError:
    """401. `invalid` marks a credential that was sent but refused (RFC 6750's invalid_token)."""
    # The description may quote a token's kid: printable ASCII only, no quotes (RFC 6750, and no header injection).
    description = "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in message)[:200]
    challenge = f'Bearer error="invalid_token", error_description="{description}"' if invalid else "Bearer"
    return HttpError(401, "unauthorized", message, {"WWW-Authenticate": challenge})


async def identify(services, credential: str) -> Caller:
    """The caller behind a credential: a static key first, else a sign-in token when SSO is on."""
    caller = services.keys.identify(credential)
    if caller is not None:
        return caller
    verifier = services.tokens
    if verifier is None:
        raise _unauthorized("unknown API key")
    try:
        # Checking a token is quick with cached keys; a trip to the provider leaves the event loop.
        if verifier.needs_fetch(credential):
            verified = await run_in_threadpool(verifier.verify, credential)
        else:
            verified = verifier.verify(credential)
        principal = verifier.principal(verified)
    except InvalidToken as exc:
        message = str(exc) if credential.count(".") == 2 else "unknown API key, and not a sign-in token"
        raise _unauthorized(message) from None
    except Unavailable as exc:
        raise HttpError(503, "unavailable", exc.message, {"Retry-After": "5"}) from None
    return Caller(principal=principal, key_id=f"oidc:{verified.kid or '-'}")


async def authenticate(request: Request,
                       credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
    """The caller behind `Authorization: Bearer <key or token>`, after spending one request of its
    principal's rate limit.

    Async on purpose: it is quick, and a sync dependency would cost every request a trip through
    the thread pool, where it would queue behind answers being computed.
    """
    services = request.app.state.services
    if credentials is None or not credentials.credentials:
        raise _unauthorized("missing API key: send `Authorization: Bearer <key>`"
                            + (" or a sign-in token" if services.tokens is not None else ""), invalid=False)
    caller = await identify(services, credentials.credentials)
    wait = await services.limiter.take_async(caller.principal.id)
    if wait > 0:
        retry = services.limiter.retry_after(wait)
        raise HttpError(429, "rate_limited", f"too many requests for {caller.principal.id}; retry in {retry} s",
                        {"Retry-After": retry})
    return caller


CallerDep = Annotated[Caller, Depends(authenticate)]


def require_role(caller: Caller, roles: tuple[str, ...], what: str) -> None:
    """403 unless the caller's role is one of `roles`."""
    if caller.principal.role not in roles:
        raise HttpError(403, "forbidden", f"{what} is limited to the {' and '.join(roles)} roles; "
                                          f"you have the {caller.principal.role} role")
