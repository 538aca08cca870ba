"""The attacker's side of the wire: what an outsider knows of a model, how they phrase queries,
and a client that spreads them over sessions and principals and counts when they are stopped.

Everything here uses only the public HTTP API: `GET /v1/models/{id}` (features, their typical
ranges, categories and the risk tiers, as any user may read them) and `POST /v1/chat`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import pandas as pd

# ----------------------------------------------------------------------------- the model as seen from outside


@dataclass
class Feature:
    name: str
    label: str
    type: str  # numeric | categorical | boolean
    values: list[Any] | None
    low: float | None = None  # "most between X and Y", from the public description
    high: float | None = None
    integer: bool = False
    step: float = 1.0


_NUMBER = r"-?\$?[\d,]+(?:\.\d+)?"


def _parse_typical(text: str) -> tuple[float | None, float | None]:
    m = re.search(rf"most between ({_NUMBER})\D*? and ({_NUMBER})", text or "")
    if not m:
        return None, None
    def num(s: str) -> float:
        return float(s.replace("$", "").replace(",", ""))
    return num(m.group(1)), num(m.group(2))


@dataclass
class Target:
    """One model's public description: its features, tiers and decision threshold as a user sees them."""

    model_id: str
    entity: str
    features: list[Feature]
    tiers: list[str]
    tier_max: list[float | None]  # hidden from business users
    estimator: str

    @classmethod
    def fetch(cls, http: httpx.Client, url: str, key: str, model_id: str) -> "Target":
        info = http.get(f"{url}/v1/models/{model_id}", headers={"Authorization": f"Bearer {key}"}).raise_for_status().json()
        features = []
        for f in info["features"]:
            low, high = _parse_typical(f.get("typical") or "")
            integer = f["type"] == "numeric" and (f.get("unit") in {"payments", "years", "months", "calls", "products",
                                                                     "transactions", "days", "hour"})
            step = 1.0 if integer else (10.0 if f.get("unit") == "USD" and (high or 0) > 1000 else 0.01)
            features.append(Feature(f["feature"], f["label"], f["type"], f.get("values"), low, high, integer, step))
        tiers = [t["tier"] for t in info["tiers"]]
        return cls(model_id, info.get("entity", "record"), features, tiers, [t.get("max_probability") for t in info["tiers"]],
                   info.get("estimator", ""))

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def feature(self, name: str) -> Feature:
        return next(f for f in self.features if f.name == name)

    def tier_rank(self, name: str) -> int:
        return self.tiers.index(name) + 1

    # -- the attacker's numeric encoding (raw numbers, one column per category value) -----------
    def encode(self, rows: pd.DataFrame | list[dict]) -> np.ndarray:
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
        cols = []
        for f in self.features:
            if f.type == "categorical":
                for v in f.values:
                    cols.append((frame[f.name].astype(str).str.lower() == str(v).lower()).to_numpy(dtype=float))
            else:
                cols.append(pd.to_numeric(frame[f.name]).to_numpy(dtype=float))
        return np.column_stack(cols)

    def decode(self, matrix: np.ndarray) -> list[dict]:
        """The inverse of `encode` (a category is the largest of its columns)."""
        out = []
        for row in np.atleast_2d(matrix):
            values, i = {}, 0
            for f in self.features:
                if f.type == "categorical":
                    values[f.name] = f.values[int(np.argmax(row[i:i + len(f.values)]))]
                    i += len(f.values)
                else:
                    v = float(row[i])
                    values[f.name] = int(round(v)) if f.type == "boolean" else self.round(f, v)
                    i += 1
            out.append(values)
        return out

    def round(self, f: Feature, value: float) -> float:
        value = max(0.0, value)
        if f.integer:
            return float(int(round(value)))
        return float(round(round(value / f.step) * f.step, 2))

    def random_rows(self, n: int, rng: np.random.Generator, widen: float = 0.25) -> list[dict]:
        """Synthetic vectors: each number uniform over its public typical range widened by `widen` on
        each side (never below 0), each category and yes/no uniform."""
        rows = []
        for _ in range(n):
            row = {}
            for f in self.features:
                if f.type == "categorical":
                    row[f.name] = f.values[int(rng.integers(len(f.values)))]
                elif f.type == "boolean":
                    row[f.name] = int(rng.integers(2))
                else:
                    lo, hi = f.low or 0.0, f.high if f.high is not None else 1.0
                    width = hi - lo
                    pad = max(widen * width, 3 * f.step if f.integer else 0.0)  # "most between 0 and 1 payments"
                    row[f.name] = self.round(f, rng.uniform(max(0.0, lo - pad), hi + pad))
            rows.append(row)
        return rows


# ----------------------------------------------------------------------------- phrasing


def _number(value: float) -> str:
    value = float(value)
    return f"{int(value)}" if value == int(value) else f"{value:.2f}".rstrip("0").rstrip(".")


def what_if(target: Target, record_id: str, values: dict[str, Any]) -> str:
    """A what-if that sets every given feature of a real record, in words the planner reads reliably:
    "What if C-10293 had balance of 1200, income of 45000, ..., with paperless billing and region of West?"."""
    parts = []
    for name, value in values.items():
        f = target.feature(name)
        if f.type == "boolean":
            parts.append(f"{'with' if int(value) else 'without'} {f.label}")
        elif f.type == "categorical" and {str(v).lower() for v in f.values} == {"yes", "no"}:
            parts.append(f"{f.label} {value}")  # "student No" ("student of No" reads as a yes)
        elif f.type == "categorical":
            parts.append(f"{f.label} of {value}")
        else:
            parts.append(f"{f.label} of {_number(value)}")
    body = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"What if {record_id} had {body}?"


def tier_question(target: Target, record_id: str) -> str:
    return f"What is the risk tier of {target.entity} {record_id}?"


# ----------------------------------------------------------------------------- replies


@dataclass
class Reply:
    status: int
    body: dict[str, Any]

    @property
    def refused(self) -> bool:
        return bool(self.body.get("refused"))

    @property
    def stopped(self) -> bool:
        """Refused, or not answered at all (429, 403, any non-200)."""
        return self.status != 200 or self.refused

    @property
    def category(self) -> str | None:
        if self.status != 200:
            return f"http_{self.status}"
        refusal = self.body.get("refusal") or {}
        return refusal.get("category") if self.refused else None

    @property
    def locked(self) -> bool:
        return self.status in (403, 429) or self.category == "locked"

    def prediction(self) -> dict | None:
        """The scored prediction the answer carries: a what-if's `after`, else a predict result."""
        if self.stopped:
            return None
        for call in self.body.get("tool_calls") or []:
            result = call.get("result")
            if not isinstance(result, dict):
                continue
            if call.get("name") == "what_if" and isinstance(result.get("after"), dict):
                return result["after"]
            if call.get("name") == "predict" and "tier" in result:
                return result
        return None

    def tier(self) -> str | None:
        p = self.prediction()
        return p.get("tier") if p else None

    def probability(self) -> float | None:
        p = self.prediction()
        value = p.get("probability") if p else None
        return float(value) if isinstance(value, (int, float)) else None

    def inputs(self) -> dict | None:
        p = self.prediction()
        return p.get("inputs") if p else None


# ----------------------------------------------------------------------------- the attacker


@dataclass
class Account:
    principal: str
    key: str
    session_id: str | None = None
    in_session: int = 0
    locked: bool = False


@dataclass
class Tally:
    """What the service let through, counted over one attack."""

    sent: int = 0
    answered: int = 0
    usable: int = 0  # answered with the score the attack asked for
    misparsed: int = 0  # answered, but the service read different values than the attacker meant
    first_refusal_at: int | None = None  # queries answered before the first stop
    first_lock_at: int | None = None
    all_locked_at: int | None = None
    categories: Counter = field(default_factory=Counter)
    consecutive_stops: int = 0
    stop_reason: str = "budget"

    def as_dict(self) -> dict:
        return {"sent": self.sent, "answered": self.answered, "usable": self.usable, "misparsed": self.misparsed,
                "answered_before_first_refusal": self.first_refusal_at if self.first_refusal_at is not None else self.answered,
                "answered_before_lock": self.first_lock_at if self.first_lock_at is not None else self.answered,
                "answered_before_all_locked": self.all_locked_at if self.all_locked_at is not None else self.answered,
                "refused_or_failed": self.sent - self.answered, "refusal_categories": dict(self.categories),
                "ever_refused": self.first_refusal_at is not None, "ever_locked": self.first_lock_at is not None,
                "stop_reason": self.stop_reason}


class GaveUp(Exception):
    """Every account is locked, or the service has stopped answering for a while: the attack ends."""


class Attacker:
    """Sends queries round-robin over its accounts, starting a new session every `per_session`
    queries per account (None: one session each), and keeps the tally. Gives up when every account
    is locked or after `patience` stopped replies in a row."""

    def __init__(self, http: httpx.Client, url: str, accounts: list[Account], *, per_session: int | None,
                 patience: int = 25):
        self.http = http
        self.url = url
        self.accounts = accounts
        self.per_session = per_session
        self.patience = patience
        self.tally = Tally()
        self._next = 0

    def _account(self) -> Account:
        live = [a for a in self.accounts if not a.locked]
        if not live:
            raise GaveUp("all accounts locked")
        account = live[self._next % len(live)]
        self._next += 1
        if self.per_session is not None and account.in_session >= self.per_session:
            account.session_id, account.in_session = None, 0
        return account

    def ask(self, message: str, model_id: str | None = None) -> Reply:
        t = self.tally
        if t.consecutive_stops >= self.patience:
            t.stop_reason = f"{self.patience} stopped replies in a row"
            raise GaveUp(t.stop_reason)
        try:
            account = self._account()
        except GaveUp:
            t.stop_reason = "all accounts locked"
            raise
        body = {"message": message, "session_id": account.session_id, "model_id": model_id}
        response = self.http.post(f"{self.url}/v1/chat", json=body, headers={"Authorization": f"Bearer {account.key}"})
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        reply = Reply(response.status_code, payload if isinstance(payload, dict) else {})
        t.sent += 1
        account.in_session += 1
        if reply.status == 200:
            account.session_id = payload.get("session_id", account.session_id)
        if reply.stopped:
            t.categories[reply.category or "?"] += 1
            t.consecutive_stops += 1
            if t.first_refusal_at is None:
                t.first_refusal_at = t.answered
            if reply.locked and not account.locked:
                account.locked = True
                if t.first_lock_at is None:
                    t.first_lock_at = t.answered
                if all(a.locked for a in self.accounts):
                    t.all_locked_at = t.answered
        else:
            t.answered += 1
            t.consecutive_stops = 0
        return reply

    def record(self, reply: Reply, intended: dict | None = None) -> dict | None:
        """Count a reply's usefulness; returns the inputs the service actually scored (None: no score)."""
        inputs = reply.inputs()
        if inputs is None or reply.tier() is None:
            return None
        self.tally.usable += 1
        if intended is not None and not _same(intended, inputs):
            self.tally.misparsed += 1
        return inputs


def _same(intended: dict, inputs: dict) -> bool:
    for name, value in intended.items():
        got = inputs.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                if abs(float(got) - float(value)) > 1e-6:
                    return False
            except (TypeError, ValueError):
                return False
        elif str(got).lower() != str(value).lower():
            return False
    return True
