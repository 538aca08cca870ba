"""Query budgets per role and time window, sized to what an extraction attack needs.

Each budget has three steps — warn, refuse, lock — counted per principal and model over a window.
A model is not worth copying from a handful of answers; it takes dozens to hundreds of chosen
queries (Tramèr et al.: d+1 exact probabilities for a logistic regression, far more when outputs
are coarse tiers). An everyday user asks a few what-ifs about the customers in front of them.
The defaults sit between those two, and `MODELDESK_GUARD_BUDGETS` overrides them per role.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from assistant.errors import ConfigError


class Steps(BaseModel):
    """Counts at which a signal warns, refuses the probing queries, and locks the principal."""

    warn: float
    refuse: float
    lock: float

    def level(self, value: float) -> int:
        """0 answer, 1 warn, 2 refuse, 3 lock."""
        return 3 if value >= self.lock else 2 if value >= self.refuse else 1 if value >= self.warn else 0

    def scaled(self, factor: float) -> "Steps":
        return Steps(warn=max(1, self.warn * factor), refuse=max(2, self.refuse * factor), lock=max(3, self.lock * factor))


class Budget(BaseModel):
    """The limits for one role. Windows are in seconds."""

    window: float = Field(3600, description="Short window for the per-hour counts.")
    day: float = Field(24 * 3600, description="Long window for the per-day counts.")
    synthetic: Steps = Field(description="Distinct made-up input vectors (what-ifs) per model in the short window.")
    synthetic_day: Steps = Field(description="Distinct made-up input vectors per model in the long window.")
    sweep: Steps = Field(description="What-ifs on one record varying the same inputs (a sweep, line or grid search).")
    records: Steps = Field(description="Distinct stored records scored or explained per model in the short window.")
    records_day: Steps = Field(description="Distinct stored records scored or explained per model in the long window.")
    refusals: Steps = Field(description="Questions refused by screening in the short window (any model).")
    wide: Steps = Field(description="What-ifs that set many inputs at once (a made-up vector, not a scenario) in the long window.")
    prada_min_queries: int = Field(20, description="Queries before the distance-distribution (PRADA) test is applied.")
    prada_threshold: float = Field(0.88, description="Shapiro-Wilk W below which the query distances look synthetic.")
    cooldown: float = Field(1800, description="How long a lock lasts, in seconds.")


class ModelBudget(BaseModel):
    """Limits on one model across every principal in the short window: what a group of accounts
    (sybils) splitting an attack between them would need. Crossing them affects only the kind of
    query that is being abused, so everyday questions keep their answers."""

    window: float = 3600
    coarsen: int = Field(20, description="Distinct what-ifs answered in the window after which probabilities are "
                         "withheld from what-if answers (tiers only) for every non-security role.")
    wide: int = Field(8, description="What-ifs setting many inputs at once, after which such what-ifs are refused.")
    sweep: int = Field(8, description="What-ifs on one record varying the same inputs, after which that sweep is refused.")
    records: int = Field(150, description="Distinct records scored, after which the security team is alerted.")
    harvest_min: int = Field(10, description="Distinct records one principal scores in the window to count as a heavy "
                             "looker-up for `harvest`.")
    harvest: int = Field(50, description="Distinct records scored by heavy looker-ups together, after which a heavy "
                         "principal's lookups of records new to them are refused (accounts splitting a harvest of "
                         "labelled records between them). Size it to the deployment's normal hourly lookups.")


def _steps(warn: float, refuse: float, lock: float) -> Steps:
    return Steps(warn=warn, refuse=refuse, lock=lock)


_BUSINESS = Budget(
    synthetic=_steps(12, 20, 30), synthetic_day=_steps(40, 60, 90), sweep=_steps(5, 7, 10),
    records=_steps(25, 35, 50), records_day=_steps(70, 100, 140), refusals=_steps(2, 4, 6), wide=_steps(2, 3, 5),
)
_ANALYST = Budget(
    synthetic=_steps(15, 25, 40), synthetic_day=_steps(60, 90, 140), sweep=_steps(6, 8, 12),
    records=_steps(30, 45, 60), records_day=_steps(100, 140, 180), refusals=_steps(2, 4, 6), wide=_steps(3, 5, 8),
)
_SECURITY = Budget(
    synthetic=_steps(40, 80, 120), synthetic_day=_steps(150, 250, 400), sweep=_steps(15, 25, 40),
    records=_steps(200, 300, 400), records_day=_steps(600, 900, 1200), refusals=_steps(5, 10, 15), wide=_steps(20, 40, 60),
)
DEFAULT_MODEL_BUDGET = ModelBudget()
DEFAULT_BUDGETS: dict[str, Budget] = {"business": _BUSINESS, "analyst": _ANALYST, "security": _SECURITY,
                                      "admin": _SECURITY}


def budgets_from(value: str | dict[str, Any] | None) -> dict[str, Budget]:
    """Defaults, with a role's fields overridden by JSON such as {"analyst": {"synthetic": {"warn": 5, ...}}}."""
    budgets = dict(DEFAULT_BUDGETS)
    if not value:
        return budgets
    try:
        data = json.loads(value) if isinstance(value, str) else value
        if not isinstance(data, dict):
            raise ValueError("must be a JSON object {role: {field: ...}}")
        for role, fields in data.items():
            if role == "model":
                continue  # the cross-account limits: model_budget_from
            if role not in budgets:
                raise ValueError(f"unknown role {role!r}")
            merged = budgets[role].model_dump()
            for key, val in (fields or {}).items():
                merged[key] = {**merged[key], **val} if isinstance(merged.get(key), dict) and isinstance(val, dict) else val
            budgets[role] = Budget.model_validate(merged)
    except (ValueError, ValidationError) as exc:
        raise ConfigError(f"invalid settings: MODELDESK_GUARD_BUDGETS: {exc}") from None
    return budgets


def model_budget_from(value: str | dict[str, Any] | None) -> ModelBudget:
    """The cross-account limits, with fields overridden by the "model" entry of the same JSON
    (`{"model": {"harvest": 300}}`)."""
    if not value:
        return DEFAULT_MODEL_BUDGET
    try:
        data = json.loads(value) if isinstance(value, str) else value
        fields = data.get("model") if isinstance(data, dict) else None
        if not fields:
            return DEFAULT_MODEL_BUDGET
        if not isinstance(fields, dict):
            raise ValueError("must be a JSON object {field: value}")
        return ModelBudget.model_validate({**DEFAULT_MODEL_BUDGET.model_dump(), **fields})
    except (ValueError, ValidationError, AttributeError) as exc:
        raise ConfigError(f"invalid settings: MODELDESK_GUARD_BUDGETS: model: {exc}") from None
