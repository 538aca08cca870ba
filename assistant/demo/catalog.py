"""The three demo models: their `model.yaml` content, data recipe and estimator.

Ids, features and tiers here are a contract: the demo knowledge corpus and the documentation are
written against them. Change them only together with those documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from assistant.demo import data

DEMO_VERSION = "1.0"


def _feature(
    name: str,
    type: str = "numeric",
    description: str = "",
    *,
    unit: str | None = None,
    values: list[Any] | None = None,
    aliases: list[str] | None = None,
    actionable: bool = True,
) -> dict[str, Any]:
    """One `features:` entry, with keys in the order a reader expects."""
    out: dict[str, Any] = {"name": name, "type": type, "description": description}
    if unit:
        out["unit"] = unit
    if values is not None:
        out["values"] = list(values)
    if aliases:
        out["aliases"] = list(aliases)
    out["actionable"] = actionable
    return out


def _tier(name: str, max_: float, action: str, meaning: str) -> dict[str, Any]:
    return {"name": name, "max": max_, "action": action, "meaning": meaning}


@dataclass(frozen=True)
class DemoModel:
    """Everything needed to build one demo model folder."""

    id: str
    spec: dict[str, Any]  # the model.yaml mapping, in file order
    generate: Callable[[int, int], pd.DataFrame]  # (n, seed) -> features + extras + target
    make_estimator: Callable[[], Any]
    id_prefix: str
    id_start: int
    n_records: int
    n_train: int
    n_reference: int
    train_seed: int
    records_seed: int
    record_extras: list[str] = field(default_factory=list)

    @property
    def features(self) -> list[str]:
        return [f["name"] for f in self.spec["features"]]

    @property
    def target(self) -> str:
        return self.spec["target_column"]

    @property
    def id_column(self) -> str:
        return self.spec["records"]["id_column"]

    def fingerprint_data(self) -> dict[str, Any]:
        """What, besides the source code, determines the folder's content."""
        return {
            "spec": self.spec,
            "id_prefix": self.id_prefix,
            "id_start": self.id_start,
            "n_records": self.n_records,
            "n_train": self.n_train,
            "n_reference": self.n_reference,
            "train_seed": self.train_seed,
            "records_seed": self.records_seed,
            "record_extras": self.record_extras,
            "estimator": repr(self.make_estimator()),
        }


def _common(entity: str, id_column: str, target: str) -> dict[str, Any]:
    return {
        "artifact": "model.joblib",
        "records": {"path": "records.csv", "id_column": id_column, "entity": entity},
        "reference": "reference.csv",
        "target_column": target,
    }


# ----------------------------------------------------------------------------- credit-default

CREDIT_SPEC: dict[str, Any] = {
    "id": "credit-default",
    "name": "Credit card default risk",
    "version": DEMO_VERSION,
    "owner": "Risk Analytics",
    "task": "binary_classification",
    "description": (
        "Estimates how likely a credit card customer is to default on their card in the next 12 months. "
        "Collections and account managers use the risk tier to decide whom to contact first and when to offer payment support."
    ),
    "positive_label": "default",
    "features": [
        _feature("balance", "numeric", "Average monthly card balance", unit="USD", aliases=["card balance", "credit card balance"]),
        _feature("income", "numeric", "Annual income", unit="USD", aliases=["salary", "annual income"]),
        _feature("credit_limit", "numeric", "Card credit limit", unit="USD", aliases=["limit"]),
        _feature("missed_payments", "numeric", "Missed payments in the last 12 months", unit="payments", aliases=["late payments", "missed payment"]),
        _feature("age", "numeric", "Age of the customer", unit="years", actionable=False),
        _feature("years_with_bank", "numeric", "Years the customer has banked with us", unit="years", aliases=["tenure", "customer for"], actionable=False),
        _feature("student", "categorical", "Whether the customer is a student", values=["Yes", "No"], actionable=False),
        _feature("region", "categorical", "Home region of the customer", values=data.REGIONS, actionable=False),
    ],
    **_common("customer", "customer_id", "default"),
    "adversarial": False,
    "decision_threshold": 0.30,
    "risk_tiers": [
        _tier("Low", 0.10, "No action needed", "The customer is unlikely to default and looks like customers who keep up with their payments."),
        _tier("Medium", 0.30, "Review at the next contact", "The customer shows early warning signs of payment difficulty."),
        _tier("High", 1.00, "Call within 48 hours", "The customer is at serious risk of defaulting in the coming months without intervention."),
    ],
}


def _credit_estimator() -> Pipeline:
    numeric = [f["name"] for f in CREDIT_SPEC["features"] if f["type"] == "numeric"]
    categorical = [f["name"] for f in CREDIT_SPEC["features"] if f["type"] == "categorical"]
    categories = [list(f["values"]) for f in CREDIT_SPEC["features"] if f["type"] == "categorical"]
    prep = ColumnTransformer(
        [
            ("num", StandardScaler(), numeric),
            ("cat", OneHotEncoder(categories=categories, handle_unknown="ignore"), categorical),
        ]
    )
    return Pipeline([("prep", prep), ("model", LogisticRegression(max_iter=1000))])


# ----------------------------------------------------------------------------- customer-churn

CHURN_SPEC: dict[str, Any] = {
    "id": "customer-churn",
    "name": "Customer churn risk",
    "version": DEMO_VERSION,
    "owner": "Retention Analytics",
    "task": "binary_classification",
    "description": (
        "Estimates how likely a customer is to cancel their services within the next 90 days. "
        "Retention teams use the risk tier to decide who receives a retention offer and who gets a personal call."
    ),
    "positive_label": "churn",
    "features": [
        _feature("tenure_months", "numeric", "Months since the customer joined", unit="months", aliases=["tenure"], actionable=False),
        _feature("monthly_charges", "numeric", "Monthly bill", unit="USD", aliases=["monthly bill", "bill", "charges"]),
        _feature("contract", "categorical", "Contract type", values=data.CONTRACTS, aliases=["plan term"]),
        _feature("support_calls", "numeric", "Support calls in the last 90 days", unit="calls", aliases=["complaints", "calls to support"]),
        _feature("products_held", "numeric", "Number of products held", unit="products", aliases=["products"]),
        _feature("paperless_billing", "boolean", "Whether the customer has paperless billing"),
        _feature("age", "numeric", "Age of the customer", unit="years", actionable=False),
        _feature("region", "categorical", "Home region of the customer", values=data.REGIONS, actionable=False),
        _feature("payment_method", "categorical", "How the customer pays their bill", values=data.PAYMENT_METHODS, aliases=["pays by"]),
    ],
    **_common("customer", "customer_id", "churned"),
    "adversarial": False,
    "decision_threshold": 0.50,
    "risk_tiers": [
        _tier("Low", 0.20, "No action", "The customer is likely to stay, so no retention spend is needed."),
        _tier("Medium", 0.50, "Send a retention offer", "The customer shows signs of disengagement and may leave without an incentive."),
        _tier("High", 1.00, "Retention team calls within a week", "The customer is likely to leave soon unless someone reaches out personally."),
    ],
}


def _churn_estimator() -> Pipeline:
    categorical = [f["name"] for f in CHURN_SPEC["features"] if f["type"] == "categorical"]
    categories = [list(f["values"]) for f in CHURN_SPEC["features"] if f["type"] == "categorical"]
    prep = ColumnTransformer(
        [("cat", OrdinalEncoder(categories=categories, handle_unknown="use_encoded_value", unknown_value=-1), categorical)],
        remainder="passthrough",
    )
    model = GradientBoostingClassifier(n_estimators=150, max_depth=3, learning_rate=0.1, random_state=2201)
    return Pipeline([("prep", prep), ("model", model)])


# ----------------------------------------------------------------------------- transaction-fraud

FRAUD_SPEC: dict[str, Any] = {
    "id": "transaction-fraud",
    "name": "Card transaction fraud",
    "version": DEMO_VERSION,
    "owner": "Fraud Strategy",
    "task": "binary_classification",
    "description": (
        "Scores each card transaction at authorisation for how likely it is to be fraudulent. "
        "The risk tier decides whether the transaction is approved, verified with the cardholder, held for an analyst or blocked."
    ),
    "positive_label": "fraud",
    "features": [
        _feature("amount", "numeric", "Transaction amount", unit="USD", aliases=["transfer", "payment amount"]),
        _feature("merchant_category", "categorical", "Type of merchant", values=data.MERCHANT_CATEGORIES),
        _feature("channel", "categorical", "Where the transaction was made", values=data.CHANNELS),
        _feature("hour_of_day", "numeric", "Local hour of the transaction", unit="hour"),
        _feature("distance_from_home_km", "numeric", "Distance from the cardholder's home", unit="km", aliases=["distance"]),
        _feature("is_foreign", "boolean", "Made abroad"),
        _feature("card_present", "boolean", "Whether the physical card was present"),
        _feature("txn_count_24h", "numeric", "Card transactions in the previous 24 hours", unit="transactions", aliases=["velocity"]),
        _feature("account_age_days", "numeric", "Days since the account was opened", unit="days", actionable=False),
    ],
    **_common("transaction", "transaction_id", "fraud"),
    "adversarial": True,
    "decision_threshold": 0.30,
    "risk_tiers": [
        _tier("Low", 0.05, "Approve", "The transaction looks like the cardholder's normal spending."),
        _tier("Elevated", 0.30, "Step-up verification (one-time code)", "Some details are unusual, so the cardholder is asked to confirm the transaction."),
        _tier("High", 0.70, "Hold for analyst review", "The transaction shows several signs of fraud and needs an analyst's decision before it completes."),
        _tier("Critical", 1.00, "Block the card and contact the cardholder", "The transaction is very likely fraudulent and the card is probably compromised."),
    ],
}


def _fraud_estimator() -> Pipeline:
    categorical = [f["name"] for f in FRAUD_SPEC["features"] if f["type"] == "categorical"]
    categories = [list(f["values"]) for f in FRAUD_SPEC["features"] if f["type"] == "categorical"]
    prep = ColumnTransformer(
        [("cat", OneHotEncoder(categories=categories, handle_unknown="ignore", sparse_output=False), categorical)],
        remainder="passthrough",
    )
    # Fraud is rare (about 2%); weighting it up spreads the scores over the four action tiers the
    # fraud team works with. The scores are therefore rankings, not calibrated probabilities.
    model = RandomForestClassifier(
        n_estimators=100,
        max_depth=10,
        min_samples_leaf=5,
        class_weight={0: 1, 1: 10},
        random_state=3301,
        n_jobs=None,
    )
    return Pipeline([("prep", prep), ("model", model)])


CREDIT_RECORDS_SEED = 1102


@lru_cache(maxsize=1)
def credit_cardholders() -> pd.DataFrame:
    """`customer_id` and `region` of the credit-default records: the cardholders of the fraud demo."""
    people = data.credit_customers(3_000, CREDIT_RECORDS_SEED)
    ids = [f"C-{10_000 + i}" for i in range(len(people))]
    return pd.DataFrame({"customer_id": ids, "region": people["region"].to_numpy()})


def _fraud_generate(n: int, seed: int) -> pd.DataFrame:
    return data.card_transactions(n, seed, cardholders=credit_cardholders())


MODELS: list[DemoModel] = [
    DemoModel(
        id="credit-default",
        spec=CREDIT_SPEC,
        generate=data.credit_customers,
        make_estimator=_credit_estimator,
        id_prefix="C-",
        id_start=10_000,
        n_records=3_000,
        n_train=4_500,
        n_reference=1_500,
        train_seed=1101,
        records_seed=CREDIT_RECORDS_SEED,
        record_extras=["segment", "card_product"],
    ),
    DemoModel(
        id="customer-churn",
        spec=CHURN_SPEC,
        generate=data.churn_customers,
        make_estimator=_churn_estimator,
        id_prefix="C-",
        id_start=20_000,
        n_records=3_000,
        n_train=4_500,
        n_reference=1_500,
        train_seed=2201,
        records_seed=2202,
        record_extras=["plan"],
    ),
    DemoModel(
        id="transaction-fraud",
        spec=FRAUD_SPEC,
        generate=_fraud_generate,
        make_estimator=_fraud_estimator,
        id_prefix="T-",
        id_start=100_000,
        n_records=10_000,
        n_train=25_000,
        n_reference=5_000,
        train_seed=3301,
        records_seed=3302,
        record_extras=["customer_id", "region"],
    ),
]

MODEL_IDS: list[str] = [m.id for m in MODELS]


def get(model_id: str) -> DemoModel:
    for m in MODELS:
        if m.id == model_id:
            return m
    from assistant.errors import not_found

    raise not_found("demo model", model_id, MODEL_IDS)
