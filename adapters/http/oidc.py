"""Single sign-on: OpenID Connect bearer tokens (JWTs) verified against the provider's published keys.

`MODELDESK_OIDC_ISSUER` turns it on. The signing keys come from the issuer's discovery document
(`<issuer>/.well-known/openid-configuration` → `jwks_uri`) or `MODELDESK_OIDC_JWKS_URL`, and are
cached: fetched again when older than `MODELDESK_OIDC_JWKS_MAX_AGE_SECONDS`, or when a token names a
`kid` not yet seen (a key the provider just added), at most once per
`MODELDESK_OIDC_JWKS_REFRESH_SECONDS` so a stream of made-up `kid`s cannot hammer the provider.

Signatures are checked by PyJWT (with `cryptography`); only RS256 and ES256 are accepted, and the
key must be of the type its algorithm needs, so an HMAC token "signed" with the public key is
refused like any other HMAC token. A token is accepted up to 60 s after `exp` (clock skew between
the provider and us); `nbf` and `iat` may be at most 5 s ahead of our clock.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable

import jwt
from jwt import PyJWK

from assistant.answer import Principal
from assistant.config import ROLES, Settings
from assistant.errors import Unavailable

log = logging.getLogger("modeldesk.http")

ALGORITHMS = ("RS256", "ES256")
KEY_TYPES = {"RS256": "RSA", "ES256": "EC"}
EXPIRY_LEEWAY = 60  # seconds a token is still accepted after `exp`
AHEAD_LEEWAY = 5  # seconds `nbf`/`iat` may be ahead of our clock
FETCH_TIMEOUT = 5.0
READY_PROBE_SECONDS = 5.0  # while the provider fails, keys are fetched again at most this often
DEFAULT_ROLE = "business"


class InvalidToken(Exception):
    """The bearer token cannot be accepted; the message says why (safe to show the caller)."""


@dataclass(frozen=True)
class Verified:
    """A token that passed every check: its claims and the key that signed it."""

    claims: dict[str, Any]
    kid: str | None


def _fetch_json(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "modeldesk"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:  # noqa: S310 (configured https URL)
        return json.loads(response.read().decode("utf-8"))


def _describe(exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    if isinstance(exc, json.JSONDecodeError):
        return "the answer is not JSON"
    return f"{type(exc).__name__}: {exc}"


class KeySet:
    """The provider's signing keys by `kid`, fetched over HTTP and cached.

    Fetched at start-up and again when older than `max_age_seconds`. A token naming a `kid` not in
    the cache causes one more fetch (the provider may have just added that key), but such fetches
    happen at most once per `refresh_seconds`; until then unknown `kid`s are refused from the cache.
    Thread-safe: one fetch at a time.
    """

    def __init__(self, issuer: str, jwks_url: str = "", *, refresh_seconds: float = 30.0,
                 max_age_seconds: float = 600.0, clock: Callable[[], float] = time.monotonic):
        self.issuer = issuer
        self.discovery_url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        self.configured_jwks_url = jwks_url
        self.refresh_seconds = refresh_seconds
        self.max_age_seconds = max_age_seconds
        self.clock = clock
        self.discovery: dict[str, Any] = {}
        self.jwks_url = jwks_url
        self._keys: dict[str | None, PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last attempt, successful or not
        self._unknown_at: float | None = None  # last fetch caused by an unknown kid
        self.problem: str | None = "the signing keys have not been fetched yet"
        self.fetches = 0  # attempts, successful or not
        self._lock = threading.Lock()

    # -- fetching -----------------------------------------------------------------------------------
    def refresh(self) -> bool:
        """Fetch the discovery document (unless the JWKS URL is configured) and the keys now.

        False when the provider failed; the keys fetched before stay in use.
        """
        with self._lock:
            return self._refresh_locked()

    def _refresh_locked(self) -> bool:
        self._attempted_at = self.clock()
        self.fetches += 1
        where = self.configured_jwks_url or self.discovery_url
        try:
            if not self.configured_jwks_url:
                discovery = _fetch_json(where)
                if not isinstance(discovery, dict) or not isinstance(discovery.get("jwks_uri"), str):
                    raise ValueError("the discovery document has no jwks_uri")
                self.discovery, self.jwks_url = discovery, discovery["jwks_uri"]
                where = self.jwks_url
            keys = self._parse(_fetch_json(where))
        except Exception as exc:  # noqa: BLE001 - any failure of the provider is reported, never raised
            self.problem = f"the identity provider is unreachable: {where}: {_describe(exc)}"
            log.warning("%s; %d cached signing keys stay in use", self.problem, len(self._keys))
            return False
        self._keys, self._fetched_at, self.problem = keys, self.clock(), None
        log.info("fetched %d signing keys from %s", len(keys), self.jwks_url)
        return True

    @staticmethod
    def _parse(document: Any) -> dict[str | None, PyJWK]:
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("the key set has no 'keys' list")
        keys: dict[str | None, PyJWK] = {}
        for entry in document["keys"]:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            if entry.get("kty") not in ("RSA", "EC"):
                continue  # symmetric ("oct") keys are never accepted
            try:
                keys[entry.get("kid")] = PyJWK(entry)
            except jwt.PyJWTError as exc:
                log.warning("signing key %s skipped: %s", entry.get("kid"), exc)
        return keys

    def discover(self) -> dict[str, Any]:
        """The discovery document (for signing in at the web chat): the one fetched with the keys, else
        fetched now; Unavailable when the provider cannot be reached."""
        with self._lock:
            if not self.discovery:
                try:
                    document = _fetch_json(self.discovery_url)
                except Exception as exc:  # noqa: BLE001
                    raise Unavailable(f"sign-in is unavailable: the identity provider is unreachable: "
                                      f"{self.discovery_url}: {_describe(exc)}") from None
                if isinstance(document, dict):
                    self.discovery = document
            return self.discovery

    def _since(self, moment: float | None, seconds: float) -> bool:
        """True when `moment` is unset or at least `seconds` ago."""
        return moment is None or self.clock() - moment >= seconds

    def _stale(self) -> bool:
        """No keys yet, or keys past their age; retried at most every few seconds while the provider fails."""
        if self._fetched_at is not None and not self._since(self._fetched_at, self.max_age_seconds):
            return False
        return self._since(self._attempted_at, min(self.refresh_seconds, READY_PROBE_SECONDS))

    def _may_look_for(self, kid: str | None) -> bool:
        return kid not in self._keys and self._since(self._unknown_at, self.refresh_seconds)

    # -- looking up ---------------------------------------------------------------------------------
    def needs_fetch(self, kid: str | None) -> bool:
        """Whether finding `kid` may take a trip to the provider (so the caller can leave the event loop)."""
        return self._stale() or self._may_look_for(kid)

    def key(self, kid: str | None) -> PyJWK:
        """The key for `kid`: InvalidToken when it is unknown even after a refresh, Unavailable when no keys
        could ever be fetched."""
        with self._lock:
            fetched = False
            if self._stale():
                fetched = self._refresh_locked()
            if not fetched and self._may_look_for(kid) and self._fetched_at is not None:
                self._unknown_at = self.clock()
                self._refresh_locked()  # a key the provider may have just added
            if kid in self._keys:
                return self._keys[kid]
            if self._fetched_at is None:
                raise Unavailable(f"sign-in tokens cannot be checked now: {self.problem}")
            if kid is None:
                raise InvalidToken("the token names no signing key (kid)")
            raise InvalidToken(f"the token is signed with an unknown key (kid {kid[:64]!r})")

    def health(self) -> tuple[bool, str]:
        """For /readyz. While the provider answers, each call looks at it (its discovery document, or the
        configured key set; not a key refresh); while it fails, keys are fetched again every few seconds
        at most, so recovery is noticed."""
        with self._lock:
            if self.problem is not None:
                if self._since(self._attempted_at, READY_PROBE_SECONDS):
                    self._refresh_locked()
            else:
                where = self.configured_jwks_url or self.discovery_url
                try:
                    _fetch_json(where)
                except Exception as exc:  # noqa: BLE001 - cached keys stay in use; readiness says why
                    self.problem = f"the identity provider is unreachable: {where}: {_describe(exc)}"
                    self._attempted_at = self.clock()
            if self.problem:
                return False, self.problem
            return True, f"{len(self._keys)} signing keys from {self.jwks_url}"


class TokenVerifier:
    """Checks a bearer JWT against the issuer, audience and keys, and names its principal and role."""

    def __init__(self, settings: Settings, keys: KeySet | None = None):
        self.issuer = settings.oidc_issuer
        self.audience = settings.oidc_audience.strip()
        self.principal_claim = settings.oidc_principal_claim
        self.role_claim = settings.oidc_role_claim
        self.role_map = dict(settings.oidc_role_map)
        self.keys = keys or KeySet(settings.oidc_issuer, settings.oidc_jwks_url,
                                   refresh_seconds=settings.oidc_jwks_refresh_seconds,
                                   max_age_seconds=settings.oidc_jwks_max_age_seconds)

    @classmethod
    def from_settings(cls, settings: Settings) -> "TokenVerifier | None":
        return cls(settings) if settings.oidc_issuer else None

    @staticmethod
    def header(token: str) -> dict[str, Any]:
        """The token's header, unverified (to pick the key); InvalidToken when it is not a JWT."""
        if token.count(".") != 2:
            raise InvalidToken("the token is malformed: not a JSON Web Token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("the token is malformed: its header cannot be read") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise InvalidToken(f"the token's algorithm {str(alg)[:16]!r} is not accepted (only "
                               f"{' and '.join(ALGORITHMS)})")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken("the token is malformed: its kid is not a string")
        return header

    def needs_fetch(self, token: str) -> bool:
        try:
            return self.keys.needs_fetch(self.header(token).get("kid"))
        except InvalidToken:
            return False

    def verify(self, token: str) -> Verified:
        """The checked claims; InvalidToken (→ 401) or Unavailable (the provider cannot be reached, → 503)."""
        header = self.header(token)
        alg, kid = header["alg"], header.get("kid")
        jwk = self.keys.key(kid)
        if jwk.key_type != KEY_TYPES[alg] or (jwk.algorithm_name and jwk.algorithm_name != alg):
            raise InvalidToken(f"the token's algorithm {alg} does not match its key (kid {(kid or '-')[:64]!r})")
        try:
            claims = jwt.decode(token, jwk.key, algorithms=[alg], audience=self.audience, leeway=0,
                                options={"require": ["exp", "iss", "aud"], "verify_exp": False,
                                         "verify_nbf": False, "verify_iat": False, "verify_iss": False})
        except jwt.InvalidAudienceError:
            raise InvalidToken(f"the token is not for this service (its aud is not {self.audience!r})") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"the token has no {exc.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("the token's signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"the token is malformed: {exc}") from None
        self._check_times(claims)
        if str(claims.get("iss", "")).rstrip("/") != self.issuer.rstrip("/"):
            raise InvalidToken(f"the token was issued by {str(claims.get('iss'))[:200]!r}, not by {self.issuer!r}")
        return Verified(claims=claims, kid=kid)

    @staticmethod
    def _check_times(claims: dict[str, Any]) -> None:
        now = time.time()
        for name in ("exp", "nbf", "iat"):
            if name in claims and (isinstance(claims[name], bool) or not isinstance(claims[name], (int, float))):
                raise InvalidToken(f"the token's {name} is not a number")
        if now > claims["exp"] + EXPIRY_LEEWAY:
            raise InvalidToken("the token has expired")
        if "nbf" in claims and claims["nbf"] > now + AHEAD_LEEWAY:
            raise InvalidToken("the token is not valid yet (nbf is in the future)")
        if "iat" in claims and claims["iat"] > now + AHEAD_LEEWAY:
            raise InvalidToken("the token was issued in the future (iat)")

    def principal(self, verified: Verified, channel: str = "api") -> Principal:
        """The principal named by the principal claim, with the highest role its role claim maps to."""
        value = _claim(verified.claims, self.principal_claim)
        if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
            raise InvalidToken(f"the token has no {self.principal_claim!r} claim to name its user")
        return Principal(id=str(value).strip(), role=self.role(verified.claims), channel=channel,
                         login=f"oidc iss={self.issuer} kid={verified.kid or '-'}")

    def role(self, claims: dict[str, Any]) -> str:
        """Each value of the role claim through the role map (a role name counts as itself); the highest wins."""
        values = _claim(claims, self.role_claim)
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list):
            return DEFAULT_ROLE
        roles = set()
        for value in values:
            if not isinstance(value, str):
                continue
            role = self.role_map.get(value, value if value in ROLES else None)
            if role is not None:
                roles.add(role)
        return max(roles, key=ROLES.index) if roles else DEFAULT_ROLE


def _claim(claims: dict[str, Any], name: str) -> Any:
    """A claim by name; a dotted name not present as such is a path into nested claims (realm_access.roles)."""
    if name in claims:
        return claims[name]
    node: Any = claims
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
