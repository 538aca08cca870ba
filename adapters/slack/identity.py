"""Who a Slack user is to ModelDesk: a principal and a role, from MODELDESK_SLACK_USERS."""

from __future__ import annotations

from assistant.answer import Principal

UNKNOWN_ROLE = "business"  # the least privileged role: tiers and words, no restricted documents


class Directory:
    """Slack user ids mapped to principals; anyone not listed is `slack:<user id>` with the business role.

    Mapping a Slack user to the principal of their API key (e.g. both `bea`) gives them one
    conversation budget and one guardrail history across Slack and HTTP.
    """

    def __init__(self, users: dict[str, dict[str, str]]):
        self.users = dict(users)

    def principal(self, user_id: str) -> Principal:
        entry = self.users.get(user_id)
        if entry is None:
            return Principal(id=f"slack:{user_id}", role=UNKNOWN_ROLE, channel="slack")
        return Principal(id=entry["principal"], role=entry.get("role", UNKNOWN_ROLE), channel="slack")
