"""Evaluation freshness and calibration: how old the labelled reference data is, and whether the
risk tiers still rank outcomes (observed positive rate per tier on the reference set, rising)."""

from __future__ import annotations

import datetime as dt
import time

from pydantic import BaseModel

from assistant.errors import AssistantError
from assistant.models import evaluation
from assistant.models.registry import Model

MAX_AGE_DAYS = 365  # a model validated on data older than a year is due a fresh evaluation
MIN_TIER_ROWS = 30  # tiers with fewer labelled rows are too noisy to judge the ranking


class TierCalibration(BaseModel):
    tier: str
    rank: int
    count: int
    observed_rate: float | None
    band_min: float
    band_max: float


class EvaluationCheck(BaseModel):
    model_id: str
    evaluated_on: str | None  # ISO date of the reference data
    source: str  # where that date comes from
    age_days: int | None
    max_age_days: int = MAX_AGE_DAYS
    stale: bool
    tiers: list[TierCalibration]
    monotone: bool  # observed rates rise tier by tier (tiers with enough rows)
    findings: list[str] = []


def _evaluated_on(model: Model) -> tuple[dt.date | None, str]:
    extra = model.spec.model_extra or {}
    for key in ("evaluated", "evaluated_on"):  # optional model.yaml field
        if extra.get(key):
            try:
                return dt.date.fromisoformat(str(extra[key])[:10]), f"model.yaml `{key}`"
            except ValueError:
                pass
    if model.spec.reference:
        stamp = model.path(model.spec.reference).stat().st_mtime
        return dt.datetime.fromtimestamp(stamp, dt.timezone.utc).date(), "reference file date"
    return None, "no labelled reference data"


def check(model: Model, now: float | None = None) -> EvaluationCheck:
    now = time.time() if now is None else now
    day, source = _evaluated_on(model)
    age = (dt.datetime.fromtimestamp(now, dt.timezone.utc).date() - day).days if day else None
    tiers: list[TierCalibration] = []
    try:
        outcome = evaluation.performance(model).tiers
    except AssistantError:
        outcome = []
    lower = 0.0
    for t, spec in zip(outcome, model.spec.risk_tiers):
        tiers.append(TierCalibration(tier=t.tier, rank=t.rank, count=t.count, observed_rate=t.observed_rate,
                                     band_min=lower, band_max=spec.max))
        lower = spec.max
    judged = [t.observed_rate for t in tiers if t.count >= MIN_TIER_ROWS and t.observed_rate is not None]
    monotone = all(b >= a for a, b in zip(judged, judged[1:]))
    findings = []
    stale = age is not None and age > MAX_AGE_DAYS
    if stale:
        findings.append(f"its evaluation is {age} days old (reference data of {day.isoformat()}); "
                        f"re-evaluate at least every {MAX_AGE_DAYS} days")
    if day is None:
        findings.append("it has no labelled reference data, so its accuracy has not been measured")
    if not monotone:
        findings.append("its risk tiers no longer rank outcomes: a higher tier shows a lower observed rate on the "
                        "reference data")
    return EvaluationCheck(model_id=model.id, evaluated_on=day.isoformat() if day else None, source=source,
                           age_days=age, stale=stale, tiers=tiers, monotone=monotone, findings=findings)
