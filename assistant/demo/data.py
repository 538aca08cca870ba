"""Seeded synthetic populations for the three demo models.

Each generator draws a plausible population (realistic marginals and correlations; business
rounding: incomes and limits to $500, balances to $10, bills to 50 cents, card amounts to the cent,
whole counts), then draws the label from a latent risk function: a logistic score over the observed
columns plus an *unobserved* factor and noise. The unobserved part is what keeps the fitted models
believable but imperfect (reference AUC roughly 0.8-0.9).

Every generator is a pure function of `(n, seed)`: same arguments, same frame, bit for bit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

REGIONS = ["North", "South", "East", "West"]
REGION_P = [0.27, 0.24, 0.22, 0.27]

CONTRACTS = ["month-to-month", "one-year", "two-year"]
PAYMENT_METHODS = ["card", "bank transfer", "check"]

MERCHANT_CATEGORIES = ["grocery", "fuel", "restaurants", "electronics", "travel", "online_gaming", "jewelry"]
CHANNELS = ["in_store", "online", "phone"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _round_to(x: np.ndarray, step: float) -> np.ndarray:
    return np.round(np.asarray(x, dtype=float) / step) * step


def _truncated_normal(rng: np.random.Generator, mean: float, sd: float, lo: float, hi: float, n: int) -> np.ndarray:
    """Normal draws kept within [lo, hi] by redrawing the ones outside (no pile-up at the bounds)."""
    x = rng.normal(mean, sd, n)
    bad = (x < lo) | (x > hi)
    while bad.any():
        x[bad] = rng.normal(mean, sd, int(bad.sum()))
        bad = (x < lo) | (x > hi)
    return x


def _choice_rows(rng: np.random.Generator, labels: list[str], probs: np.ndarray) -> np.ndarray:
    """One draw per row from a row-specific categorical distribution (`probs` is n x k)."""
    probs = probs / probs.sum(axis=1, keepdims=True)
    cum = probs.cumsum(axis=1)
    u = rng.random(len(probs))[:, None]
    idx = np.minimum((u > cum).sum(axis=1), len(labels) - 1)
    return np.asarray(labels, dtype=object)[idx]


# ----------------------------------------------------------------------------- credit-default


def credit_customers(n: int, seed: int) -> pd.DataFrame:
    """Credit card customers with a 12-month default flag (`default`, about 10% positive).

    Columns: the eight model features, the descriptive `segment` and `card_product`, and `default`.
    """
    rng = np.random.default_rng(seed)

    age = np.round(_truncated_normal(rng, 45, 14, 20.5, 82.4, n)).astype(int)
    p_student = np.select([age <= 24, age <= 29, age <= 35], [0.60, 0.25, 0.06], 0.01)
    is_student = rng.random(n) < p_student
    region = rng.choice(REGIONS, size=n, p=REGION_P)

    # Income rises to a plateau in the 50s and eases off after retirement age; students earn little.
    career = np.minimum(age - 21, 30) - 0.5 * np.maximum(age - 62, 0)
    median_income = 30_000 + 1_300 * career
    region_mult = pd.Series(region).map({"North": 1.00, "South": 0.92, "East": 1.10, "West": 1.04}).to_numpy()
    income = median_income * region_mult * rng.lognormal(0.0, 0.42, n)
    income = np.where(is_student, rng.lognormal(np.log(14_000), 0.45, n), income)
    income = np.clip(_round_to(income, 500), 6_000, 350_000).astype(int)

    max_years = np.maximum(age - 18, 0)
    years = np.minimum(np.floor(rng.gamma(2.0, 4.5, n)), max_years)
    years = np.where(is_student, np.minimum(years, 4), years).astype(int)

    limit = 0.22 * income * rng.lognormal(0.0, 0.30, n) * (1 + 0.012 * years)
    limit = np.where(is_student, np.minimum(limit, 3_000), limit)
    credit_limit = np.clip(_round_to(limit, 500), 500, 40_000).astype(int)

    # Unobserved financial stress drives utilisation, missed payments and default alike.
    stress = rng.normal(0.0, 1.0, n)
    util = _sigmoid(-1.1 + 0.9 * stress + 0.35 * is_student - 0.25 * np.log(income / 50_000) + rng.normal(0, 0.6, n))
    transactor = rng.random(n) < 0.10 * _sigmoid(-stress) * 2  # pays in full: near-zero balance
    util = np.where(transactor, rng.uniform(0.0, 0.03, n), util)
    balance = np.clip(_round_to(util * credit_limit * 1.02, 10), 0, None).astype(int)
    util = balance / credit_limit

    missed_rate = np.exp(-1.9 + 0.75 * stress + 1.1 * util)
    missed_payments = np.clip(rng.poisson(missed_rate), 0, 12).astype(int)

    logit = (
        -2.9
        + 4.0 * (util - 0.3)
        + 0.55 * missed_payments
        - 0.45 * np.log(income / 50_000)
        - 0.035 * years
        - 0.012 * (age - 45)
        + 0.25 * is_student
        + 0.5 * stress
        + rng.normal(0, 0.4, n)
    )
    default = (rng.random(n) < _sigmoid(logit)).astype(int)

    segment = np.select([is_student, income >= 120_000, income >= 60_000], ["Student", "Premier", "Mass affluent"], "Mass market")
    card_product = np.select([credit_limit >= 15_000, credit_limit >= 5_000], ["Platinum", "Gold"], "Classic")

    return pd.DataFrame(
        {
            "balance": balance,
            "income": income,
            "credit_limit": credit_limit,
            "missed_payments": missed_payments,
            "age": age,
            "years_with_bank": years,
            "student": np.where(is_student, "Yes", "No"),
            "region": region,
            "segment": segment,
            "card_product": card_product,
            "default": default,
        }
    )


# ----------------------------------------------------------------------------- customer-churn


def churn_customers(n: int, seed: int) -> pd.DataFrame:
    """Subscription customers with a 90-day churn flag (`churned`, about 20% positive).

    Columns: the nine model features, the descriptive `plan`, and `churned`.
    """
    rng = np.random.default_rng(seed)

    age = np.round(_truncated_normal(rng, 46, 15, 17.5, 85.4, n)).astype(int)
    region = rng.choice(REGIONS, size=n, p=REGION_P)

    new = rng.random(n) < 0.35
    tenure = np.where(new, rng.exponential(7.0, n) + 1, rng.uniform(1, 73, n))
    tenure = np.clip(np.floor(tenure), 1, 72).astype(int)

    p_mtm = np.clip(0.78 - 0.0075 * tenure, 0.15, None)
    p_two = 0.04 + 0.0055 * tenure
    p_one = np.clip(1 - p_mtm - p_two, 0.05, None)
    contract = _choice_rows(rng, CONTRACTS, np.column_stack([p_mtm, p_one, p_two]))

    products_held = np.clip(1 + rng.poisson(0.6 + 0.012 * tenure, n), 1, 5).astype(int)

    charges = 24 + 17 * products_held + rng.normal(0, 9, n) - 4 * (contract == "two-year")
    monthly_charges = np.clip(_round_to(charges, 0.5), 19.5, 135.0)

    p_paperless = np.clip(0.85 - 0.008 * (age - 18), 0.2, 0.9)
    paperless_billing = (rng.random(n) < p_paperless).astype(int)

    p_check = 0.04 + 0.006 * (age - 18)
    p_card = 0.55 - 0.003 * (age - 18)
    payment_method = _choice_rows(rng, PAYMENT_METHODS, np.column_stack([p_card, np.full(n, 0.35), p_check]))

    # Unobserved dissatisfaction shows up partly as support calls, partly only in the outcome.
    dissatisfaction = rng.normal(0.0, 1.0, n)
    support_calls = np.clip(rng.poisson(np.exp(-0.2 + 0.7 * dissatisfaction)), 0, 15).astype(int)

    logit = (
        -2.3
        + 1.5 * (contract == "month-to-month")
        - 1.4 * (contract == "two-year")
        - 1.0 * np.log1p(tenure / 12)
        + 0.035 * (monthly_charges - 65)
        + 0.45 * support_calls
        - 0.55 * (products_held - 2)
        + 0.35 * paperless_billing
        + 0.6 * (payment_method == "check")
        - 0.01 * (age - 46)
        + 0.30 * dissatisfaction
        + rng.normal(0, 0.4, n)
    )
    churned = (rng.random(n) < _sigmoid(logit)).astype(int)

    plan = np.select([monthly_charges >= 90, monthly_charges >= 50], ["Premium", "Standard"], "Basic")

    return pd.DataFrame(
        {
            "tenure_months": tenure,
            "monthly_charges": monthly_charges,
            "contract": contract,
            "support_calls": support_calls,
            "products_held": products_held,
            "paperless_billing": paperless_billing,
            "age": age,
            "region": region,
            "payment_method": payment_method,
            "plan": plan,
            "churned": churned,
        }
    )


# ----------------------------------------------------------------------------- transaction-fraud

_MEDIAN_AMOUNT = {
    "grocery": 48.0,
    "fuel": 52.0,
    "restaurants": 38.0,
    "electronics": 240.0,
    "travel": 420.0,
    "online_gaming": 25.0,
    "jewelry": 520.0,
}
_CATEGORY_P_NORMAL = np.array([0.31, 0.16, 0.23, 0.08, 0.06, 0.045, 0.025])
_CATEGORY_P_COMPROMISED = np.array([0.08, 0.06, 0.06, 0.28, 0.15, 0.23, 0.14])
_CHANNEL_P = {  # in_store, online, phone
    "grocery": [0.92, 0.08, 0.00],
    "fuel": [0.97, 0.03, 0.00],
    "restaurants": [0.85, 0.12, 0.03],
    "electronics": [0.45, 0.50, 0.05],
    "travel": [0.15, 0.65, 0.20],
    "online_gaming": [0.00, 1.00, 0.00],
    "jewelry": [0.80, 0.15, 0.05],
}
# Latent exposure levels (normal, unusual, suspicious, compromised): population share, chance that
# each fraud-like trait shows, and the base log-odds of fraud. Tuned with the estimator's class
# weight so the fraud rate is about 2.5%, the reference AUC about 0.9 and every tier is populated.
_LEVEL_P = [0.855, 0.065, 0.035, 0.045]
_TRAIT_P = np.array([0.0, 0.2, 0.5, 1.0])
_LEVEL_LOGIT = np.array([-7.1, -5.0, -3.3, -2.3])
_FRIENDLY_FRAUD = 0.0015  # share of transactions that are disputed although they look normal
_FRAUD_NOISE = 1.2  # sd of the unexplained part of the fraud log-odds
_CATEGORY_RISK = {
    "grocery": -0.4,
    "fuel": -0.2,
    "restaurants": -0.4,
    "electronics": 0.5,
    "travel": 0.2,
    "online_gaming": 0.6,
    "jewelry": 0.7,
}


def card_transactions(n: int, seed: int, cardholders: pd.DataFrame | None = None) -> pd.DataFrame:
    """Card authorisations with a confirmed-fraud flag (`fraud`, about 2.5% positive).

    Columns: the nine model features, `customer_id` and `region` of the cardholder, and `fraud`.
    `cardholders` (columns `customer_id`, `region`) ties transactions to existing customers; without
    it, synthetic ids `C-10000`.. and regions are drawn.
    """
    rng = np.random.default_rng(seed)

    # Unobserved exposure of the card: 0 normal, 1 unusual (travel, a new device), 2 suspicious
    # (card details probably leaked), 3 compromised (a fraudster is using it). Each level makes
    # the fraud-like traits below more likely, and the label more likely still.
    level = rng.choice(4, size=n, p=_LEVEL_P)
    trait = _TRAIT_P[level]  # chance each fraud-like trait shows up for this transaction

    def shows(k: float = 1.0) -> np.ndarray:
        return rng.random(n) < np.minimum(k * trait, 1.0)

    cat_probs = np.where(shows()[:, None], _CATEGORY_P_COMPROMISED, _CATEGORY_P_NORMAL)
    category = _choice_rows(rng, MERCHANT_CATEGORIES, cat_probs)

    chan_probs = np.array([_CHANNEL_P[c] for c in category])
    chan_probs = np.where(shows()[:, None], 0.3 * chan_probs + 0.7 * np.array([0.15, 0.75, 0.10]), chan_probs)
    channel = _choice_rows(rng, CHANNELS, chan_probs)

    in_store = channel == "in_store"
    card_present = (in_store & ~shows(0.25) & (rng.random(n) < 0.97)).astype(int)

    median = pd.Series(category).map(_MEDIAN_AMOUNT).to_numpy()
    amount = median * rng.lognormal(0.0, 0.75, n) * np.where(shows(), 2.0, 1.0)
    amount = np.clip(np.round(amount, 2), 1.0, 15_000.0)

    # Daytime spending for most; misused cards are used disproportionately at night.
    day_hour = np.mod(np.round(rng.normal(14.0, 4.2, n)), 24)
    night_hour = rng.integers(0, 6, n)
    is_night = (rng.random(n) < 0.04) | shows(0.6)
    hour_of_day = np.where(is_night, night_hour, day_hour).astype(int)

    p_foreign = np.where(category == "travel", 0.30, 0.02)
    is_foreign = ((rng.random(n) < p_foreign) | shows(0.35)).astype(int)

    local_km = rng.lognormal(np.log(np.where(in_store, 6.0, 12.0)), 1.0, n)
    local_km = np.where(shows(), rng.lognormal(np.log(120.0), 1.3, n), local_km)
    abroad_km = 250 + rng.lognormal(np.log(1_400.0), 0.8, n)
    distance = np.where(is_foreign == 1, abroad_km, local_km)
    distance_from_home_km = np.clip(np.round(distance, 1), 0.1, 20_000.0)

    txn_count_24h = np.clip(rng.poisson(2.2 + 8.0 * trait ** 2), 0, 40).astype(int)

    account_age_days = np.clip(np.round(rng.gamma(1.6, 900.0, n) * np.where(shows(0.5), 0.4, 1.0)), 7, 9_000).astype(int)

    cat_risk = pd.Series(category).map(_CATEGORY_RISK).to_numpy()
    night = (hour_of_day < 6).astype(float)
    logit = (
        _LEVEL_LOGIT[level]
        + 0.25 * np.log(amount / 60.0)
        + 0.5 * cat_risk
        + 0.30 * night
        + 0.30 * is_foreign
        + 0.30 * (1 - card_present)
        + 0.05 * (txn_count_24h - 2)
        + 0.10 * np.log1p(distance_from_home_km / 25.0)
        - 0.15 * np.log(account_age_days / 365.0)
        + rng.normal(0, _FRAUD_NOISE, n)
    )
    # First-party ("friendly") fraud: a genuine-looking purchase the cardholder later disputes.
    friendly = rng.random(n) < _FRIENDLY_FRAUD
    fraud = ((rng.random(n) < _sigmoid(logit)) | friendly).astype(int)

    if cardholders is not None and len(cardholders):
        pick = rng.integers(0, len(cardholders), n)
        customer_id = cardholders["customer_id"].to_numpy()[pick]
        region = cardholders["region"].to_numpy()[pick]
    else:
        customer_id = np.array([f"C-{10_000 + i}" for i in rng.integers(0, 3_000, n)], dtype=object)
        region = rng.choice(REGIONS, size=n, p=REGION_P)

    return pd.DataFrame(
        {
            "customer_id": customer_id,
            "region": region,
            "amount": amount,
            "merchant_category": category,
            "channel": channel,
            "hour_of_day": hour_of_day,
            "distance_from_home_km": distance_from_home_km,
            "is_foreign": is_foreign,
            "card_present": card_present,
            "txn_count_24h": txn_count_24h,
            "account_age_days": account_age_days,
            "fraud": fraud,
        }
    )
