"""A stand-in OpenID Connect identity provider on a loopback port: the only thing stood in for in the
single sign-on tests, at its HTTP boundary.

It serves the discovery document and the JWKS over real HTTP, signs real tokens with real RSA and
EC keys made by `cryptography`, counts the key-set fetches, and can rotate keys or go down.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

AUDIENCE = "modeldesk"


class SigningKey:
    """A private key, its kid and algorithm, and its public half as a JWK."""

    def __init__(self, kind: str, kid: str | None = None):
        self.kind = kind
        self.kid = kid or f"{kind}-{uuid.uuid4().hex[:8]}"
        if kind == "rsa":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.alg = "RS256"
            self.jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            self.alg = "ES256"
            self.jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key()))
        self.jwk.update({"kid": self.kid, "use": "sig", "alg": self.alg})

    @property
    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)


class IdentityProvider:
    """Discovery at `/.well-known/openid-configuration`, keys at `/jwks`; `token(...)` signs a JWT.

    For the web chat's sign-in it also answers `/authorize` (redirects straight back with a code, as
    if the user had signed in as `next_user`) and `/token` (the code for an ID/access token, after
    checking the PKCE verifier).
    """

    def __init__(self, audience: str = AUDIENCE):
        self.audience = audience
        self.rsa = SigningKey("rsa")
        self.ec = SigningKey("ec")
        self.published: list[SigningKey] = [self.rsa, self.ec]
        self.jwks_fetches = 0
        self.discovery_fetches = 0
        self.next_user: dict[str, Any] = {"sub": "u-portal", "roles": ["analyst"]}
        self.codes: dict[str, dict[str, Any]] = {}
        self.token_requests: list[dict[str, str]] = []
        self._lock = threading.Lock()
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                path, _, query = self.path.partition("?")
                if path == "/.well-known/openid-configuration":
                    with idp._lock:
                        idp.discovery_fetches += 1
                    self._json(idp.discovery())
                elif path == "/jwks":
                    with idp._lock:
                        idp.jwks_fetches += 1
                        keys = [k.jwk for k in idp.published]
                    self._json({"keys": keys})
                elif path == "/authorize":
                    self._authorize(dict(urllib.parse.parse_qsl(query)))
                else:
                    self._json({"error": "not_found"}, 404)

            def do_OPTIONS(self) -> None:  # noqa: N802 - the browser's CORS preflight for /token
                self.send_response(204)
                self._cors()
                self.send_header("Access-Control-Allow-Methods", "POST")
                self.send_header("Access-Control-Allow-Headers", "Content-Type")
                self.end_headers()

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                form = dict(urllib.parse.parse_qsl(raw))
                if self.path.startswith("/token"):
                    status, body = idp.exchange(form)
                    self._json(body, status)
                else:
                    self._json({"error": "not_found"}, 404)

            def _authorize(self, params: dict[str, str]) -> None:
                code = secrets.token_urlsafe(16)
                with idp._lock:
                    idp.codes[code] = {**params, "user": dict(idp.next_user)}
                target = params["redirect_uri"] + ("&" if "?" in params["redirect_uri"] else "?") + \
                    urllib.parse.urlencode({"code": code, "state": params.get("state", "")})
                self.send_response(302)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _cors(self) -> None:
                self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")

            def _json(self, body: Any, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self._cors()
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- serving ---------------------------------------------------------------------------------------
    def start(self) -> "IdentityProvider":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def discovery(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "jwks_uri": self.issuer + "/jwks",
                "authorization_endpoint": self.issuer + "/authorize", "token_endpoint": self.issuer + "/token",
                "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"],
                "id_token_signing_alg_values_supported": ["RS256", "ES256"]}

    def rotate(self) -> SigningKey:
        """Publish a new RSA key (as a provider does before it starts signing with it)."""
        key = SigningKey("rsa")
        with self._lock:
            self.published = [*self.published, key]
        return key

    # -- tokens ----------------------------------------------------------------------------------------
    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.audience, "sub": "u-1", "iat": now, "nbf": now, "exp": now + 300}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, key: SigningKey | None = None, *, headers: dict[str, Any] | None = None, **claims: Any) -> str:
        """A token signed by `key` (the RSA key by default); claims default to a valid one for u-1."""
        key = key or self.rsa
        return jwt.encode(self.claims(**claims), key.private, algorithm=key.alg,
                          headers={"kid": key.kid, **(headers or {})})

    def exchange(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The token endpoint: an authorization code and its PKCE verifier for tokens."""
        with self._lock:
            self.token_requests.append(form)
            grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or form.get("grant_type") != "authorization_code":
            return 400, {"error": "invalid_grant"}
        challenge = base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
        if challenge.rstrip(b"=").decode() != grant.get("code_challenge") or grant.get("code_challenge_method") != "S256":
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        if form.get("redirect_uri") != grant.get("redirect_uri") or form.get("client_id") != grant.get("client_id"):
            return 400, {"error": "invalid_grant"}
        user = grant["user"]
        token = self.token(**user, nonce=grant.get("nonce"))
        return 200, {"access_token": token, "id_token": token, "token_type": "Bearer", "expires_in": 300}


def sign_hs256_with_public_key(idp: IdentityProvider, key: SigningKey, **claims: Any) -> str:
    """The algorithm confusion attack: an HS256 token whose HMAC secret is the provider's public key
    (PEM), which a verifier that trusts the header's `alg` would check against that same key.

    PyJWT refuses to encode with a PEM as an HMAC secret, so the token is put together by hand.
    """
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
    payload = b64(json.dumps(idp.claims(**claims)).encode())
    signature = hmac.new(key.public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def unsigned(idp: IdentityProvider, key: SigningKey, **claims: Any) -> str:
    """An `alg: none` token (no signature), naming a real kid."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": key.kid}).encode())
    return f"{header}.{b64(json.dumps(idp.claims(**claims)).encode())}."
