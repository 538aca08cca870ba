"""Who a Slack user is to ModelDesk: a principal and a role.

The directory rule, in order:
1. `MODELDESK_SLACK_USERS` (`{"<slack user id>": {"principal", "role"}}`): an explicit override.
2. The e-mail in the user's Slack profile (Web API `users.info`, scope `users:read.email`), when
   `MODELDESK_SLACK_PRINCIPAL_FROM=email` or `MODELDESK_SLACK_EMAIL_ROLES` is set:
   - principal: the e-mail, lower-cased, with `MODELDESK_SLACK_PRINCIPAL_FROM=email` (the same
     principal as in the portal when the sign-in token's principal claim holds the e-mail), else
     `slack:<user id>`;
   - role: `MODELDESK_SLACK_EMAIL_ROLES` by exact address, else by `@domain` (domain rules are not
     applied to guest accounts), else business.
3. Anyone else, or anyone whose profile cannot be read: `slack:<user id>` with the business role.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from assistant.answer import Principal

log = logging.getLogger("modeldesk.slack")

UNKNOWN_ROLE = "business"  # the least privileged role: tiers and words, no restricted documents
PROFILE_TTL = 600.0  # seconds a looked-up profile is trusted (role changes reach Slack within this)
FAILED_TTL = 60.0  # seconds before a profile that could not be read is asked for again


class Directory:
    """Slack user ids mapped to principals by the rule above; looked-up profiles are cached."""

    def __init__(self, users: dict[str, dict[str, str]], *, principal_from: str = "user_id",
                 email_roles: dict[str, str] | None = None, clock: Callable[[], float] = time.monotonic):
        self.users = dict(users)
        self.principal_from = principal_from
        self.email_roles = {k.lower(): v for k, v in (email_roles or {}).items()}
        self.clock = clock
        self._profiles: dict[str, tuple[dict[str, Any] | None, float]] = {}  # user id -> (profile, expires at)
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any) -> "Directory":
        return cls(settings.slack_users, principal_from=settings.slack_principal_from,
                   email_roles=settings.slack_email_roles)

    @property
    def uses_email(self) -> bool:
        return self.principal_from == "email" or bool(self.email_roles)

    def principal(self, user_id: str, client: Any = None) -> Principal:
        """The principal of `user_id`; `client` (a slack_sdk WebClient) is used to read their e-mail."""
        login = f"slack id={user_id}"
        entry = self.users.get(user_id)
        if entry is not None:
            return Principal(id=entry["principal"], role=entry.get("role", UNKNOWN_ROLE), channel="slack", login=login)
        fallback = Principal(id=f"slack:{user_id}", role=UNKNOWN_ROLE, channel="slack", login=login)
        if not self.uses_email or client is None:
            return fallback
        profile = self._profile(user_id, client)
        if profile is None or not profile.get("email"):
            return fallback
        email = profile["email"]
        principal_id = email if self.principal_from == "email" else fallback.id
        return Principal(id=principal_id, role=self.role_for(email, guest=profile["guest"]), channel="slack",
                         login=login)

    def role_for(self, email: str, *, guest: bool = False) -> str:
        """The role an e-mail address maps to: the exact address, else its @domain (not for guests)."""
        email = email.lower()
        if email in self.email_roles:
            return self.email_roles[email]
        if not guest:
            domain = "@" + email.rpartition("@")[2]
            if domain in self.email_roles:
                return self.email_roles[domain]
        return UNKNOWN_ROLE

    def _profile(self, user_id: str, client: Any) -> dict[str, Any] | None:
        now = self.clock()
        with self._lock:
            cached = self._profiles.get(user_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        profile, ttl = self._look_up(user_id, client), PROFILE_TTL
        if profile is None:
            ttl = FAILED_TTL
        with self._lock:
            self._profiles[user_id] = (profile, now + ttl)
        return profile

    @staticmethod
    def _look_up(user_id: str, client: Any) -> dict[str, Any] | None:
        try:
            user = client.users_info(user=user_id)["user"]
        except Exception as exc:  # noqa: BLE001 - Slack errors of every kind: least privilege, logged
            error = getattr(getattr(exc, "response", None), "get", lambda _k: None)("error") or type(exc).__name__
            log.warning("cannot read the Slack profile of %s (%s): treated as slack:%s with the %s role",
                        user_id, error, user_id, UNKNOWN_ROLE)
            return None
        if user.get("deleted") or user.get("is_bot"):
            return None
        email = str((user.get("profile") or {}).get("email") or "").strip().lower()
        if not email:
            log.warning("the Slack profile of %s has no e-mail (is the users:read.email scope granted?)", user_id)
        guest = bool(user.get("is_restricted") or user.get("is_ultra_restricted"))
        return {"email": email or None, "guest": guest}
