"""Which document access levels each role may read."""

from __future__ import annotations

from assistant.errors import BadInput, closest

ACCESS_BY_ROLE: dict[str, tuple[str, ...]] = {
    "business": ("public", "internal"),
    "analyst": ("public", "internal"),
    "security": ("public", "internal", "restricted"),
    "admin": ("public", "internal", "restricted"),
}


def allowed_access(role: str) -> tuple[str, ...]:
    """Access levels visible to `role`; an unknown role is an error, never a default."""
    try:
        return ACCESS_BY_ROLE[role]
    except KeyError:
        near = closest(str(role), list(ACCESS_BY_ROLE))
        hint = f"; did you mean {near[0]!r}?" if near else f"; roles are {', '.join(ACCESS_BY_ROLE)}"
        raise BadInput(f"unknown role {role!r}{hint}", suggestions=near) from None
