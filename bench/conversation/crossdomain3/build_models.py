"""Build three cross-domain model folders for the third held-out conversation set.

    .venv/bin/python -m bench.conversation.crossdomain3.build_models OUT_DIR [--force]

or, from Python, ``build(Path(OUT_DIR)) -> list[str]`` (the model ids). Same layout and model.yaml
fields as ``bench/conversation/crossdomain/build_models.py``: each model lands in
``OUT_DIR/<model_id>/`` with ``model.yaml``, ``model.joblib`` (scikit-learn Pipeline),
``records.csv`` (entities looked up by id, no label column) and ``reference.csv`` (labelled sample).

Written by a helper that never read the engine. The three models, on data no other benchmark uses:

- ``diabetes-progression``: scikit-learn's bundled diabetes data (``load_diabetes(scaled=False)``,
  442 patients, read from the package, never downloaded); the quantitative one-year progression
  score is made binary (``rapid_progression`` = score above 150).
- ``turbine-gearbox-failure``: generated (numpy seed 7307), wind-turbine predictive maintenance.
- ``rent-arrears``: generated (numpy seed 2606), tenancies in a rental portfolio.

Deterministic (every split and generator is seeded); ``OUT_DIR/.crossdomain3-build.json`` holds a
hash of this file and the library versions, and a build whose stamp matches is skipped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn
import yaml
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from bench.conversation.crossdomain import build_models as shared
from bench.conversation.crossdomain.build_models import _f
from bench.conversation.crossdomain.build_models import _write_model as shared_write_model

MODEL_IDS = ["diabetes-progression", "turbine-gearbox-failure", "rent-arrears"]
STAMP = ".crossdomain3-build.json"
ARTIFACT = "model.joblib"


# ---------------------------------------------------------------------------------------------
# Shared helpers: the cross-domain builder's (one way to write a model folder)
# ---------------------------------------------------------------------------------------------
def _write_model(*args: Any, **kwargs: Any) -> str:
    return shared_write_model(*args, **kwargs, generator="bench/conversation/crossdomain3/build_models.py")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


# ---------------------------------------------------------------------------------------------
# 1. Diabetes progression (scikit-learn bundled data, raw units)
# ---------------------------------------------------------------------------------------------
def build_diabetes(out_dir: Path) -> str:
    from sklearn.datasets import load_diabetes

    data = load_diabetes(scaled=False, as_frame=True)
    raw = data.frame
    frame = pd.DataFrame({
        "patient_id": np.arange(81001, 81001 + len(raw)),
        "age": raw["age"].astype(int),
        "bmi": raw["bmi"].round(1),
        "blood_pressure": raw["bp"].round(0).astype(int),
        "total_cholesterol": raw["s1"].round(0).astype(int),
        "ldl_cholesterol": raw["s2"].round(1),
        "hdl_cholesterol": raw["s3"].round(0).astype(int),
        "cholesterol_hdl_ratio": raw["s4"].round(2),
        "triglycerides": np.exp(raw["s5"]).round(0).astype(int),
        "glucose": raw["s6"].round(0).astype(int),
        "rapid_progression": np.where(raw["target"] > 150, "yes", "no"),
    })
    features = [
        _f("age", "numeric", "Patient's age at baseline", unit="years", actionable=False),
        _f("bmi", "numeric", "Body mass index at baseline", unit="kg/m²", aliases=["body mass index", "BMI"]),
        _f("blood_pressure", "numeric", "Average (mean arterial) blood pressure", unit="mmHg",
           aliases=["BP", "mean arterial pressure"]),
        _f("total_cholesterol", "numeric", "Total serum cholesterol", unit="mg/dL",
           aliases=["cholesterol", "TC", "serum cholesterol"]),
        _f("ldl_cholesterol", "numeric", "Low-density lipoprotein cholesterol", unit="mg/dL",
           aliases=["LDL", "bad cholesterol"]),
        _f("hdl_cholesterol", "numeric", "High-density lipoprotein cholesterol", unit="mg/dL",
           aliases=["HDL", "good cholesterol"]),
        _f("cholesterol_hdl_ratio", "numeric", "Total cholesterol divided by HDL cholesterol",
           aliases=["TC/HDL ratio", "chol ratio"]),
        _f("triglycerides", "numeric", "Serum triglycerides", unit="mg/dL", aliases=["trigs", "TG"]),
        _f("glucose", "numeric", "Blood glucose level", unit="mg/dL", aliases=["blood sugar", "glu"]),
    ]
    train, held_out = train_test_split(frame, test_size=0.3, random_state=81, stratify=frame["rapid_progression"])
    return _write_model(
        out_dir,
        {"id": "diabetes-progression", "name": "Diabetes one-year progression",
         "owner": "Endocrinology Clinic",
         "description": "Estimates the chance that a diabetes patient's disease progresses rapidly over the next "
                        "year (progression score above 150), from baseline age, BMI, blood pressure and six "
                        "blood-serum measurements.",
         "positive_label": "rapid progression", "positive_class": "yes",
         "source": "scikit-learn load_diabetes(scaled=False) (Efron et al. 2004, 442 patients)"},
        features, "patient_id", "patient", "rapid_progression",
        train, frame, held_out,
        LogisticRegression(C=0.5, max_iter=2000),
        scale=True,
        tiers=[("Stable", "Keep the current care plan; routine six-month review"),
               ("Step up", "Dietitian referral and a three-month review"),
               ("Refer", "Refer to the endocrinologist within four weeks")],
        quantiles=[0.5, 0.75],
    )


# ---------------------------------------------------------------------------------------------
# 2. Generated: wind-turbine gearbox failure (predictive maintenance)
# ---------------------------------------------------------------------------------------------
MANUFACTURERS = ["Aerotek", "Nordwind", "Helix"]
SITE_TYPES = ["onshore flat", "onshore ridge", "offshore"]
PARKS = {"A7": "onshore flat", "B2": "onshore flat", "R5": "onshore ridge", "X1": "offshore", "X3": "offshore"}


def _turbines(n: int, rng: np.random.Generator) -> pd.DataFrame:
    park = rng.choice(list(PARKS), size=n, p=[0.26, 0.2, 0.22, 0.17, 0.15])
    site = pd.Series(park).map(PARKS).to_numpy()
    maker = rng.choice(MANUFACTURERS, size=n, p=[0.42, 0.36, 0.22])
    age = np.clip(rng.gamma(2.6, 3.2, n), 0.5, 24).round(1)
    hours = np.clip(rng.gamma(2.2, 1500, n), 50, 12000).round(-1).astype(int)
    wind = np.clip(rng.normal(np.where(site == "offshore", 9.4, np.where(site == "onshore ridge", 8.1, 7.0)), 0.8),
                   4.5, 12).round(1)
    cms = (rng.random(n) < np.where(site == "offshore", 0.8, 0.45)).astype(int)
    debris = (rng.random(n) < 0.05 + 0.004 * age).astype(int)
    blade = (rng.random(n) < 0.1 + 0.05 * (site == "offshore")).astype(int)
    oil = np.clip(rng.normal(62 + 0.6 * age + 0.0008 * hours + 2.5 * debris, 5.5), 40, 98).round(1)
    vib = np.clip(rng.gamma(2.2, 1.1, n) + 0.08 * age + 1.6 * debris, 0.3, 18).round(2)
    logit = (-3.1 + 0.09 * age + 0.00022 * hours + 0.085 * (oil - 65) + 0.32 * (vib - 3) + 1.5 * debris
             + 0.35 * blade - 0.6 * cms + 0.18 * (wind - 7.5)
             + pd.Series(maker).map({"Aerotek": 0.0, "Nordwind": -0.35, "Helix": 0.45}).to_numpy()
             + pd.Series(site).map({"onshore flat": -0.1, "onshore ridge": 0.15, "offshore": 0.3}).to_numpy())
    failed = (rng.random(n) < _sigmoid(logit)).astype(int)
    return pd.DataFrame({
        "park": park, "manufacturer": maker, "site_type": site, "turbine_age_years": age,
        "hours_since_service": hours, "gearbox_oil_temp_c": oil, "vibration_mm_s": vib,
        "avg_wind_speed_m_s": wind, "oil_debris_alarm": debris, "blade_repair_last_12m": blade,
        "condition_monitoring": cms, "gearbox_failed_90d": failed,
    })


def build_turbines(out_dir: Path) -> str:
    rng = np.random.default_rng(7307)
    records = _turbines(1400, rng)
    records.insert(0, "turbine_id", [f"TRB-{p}-{i + 1:04d}" for i, p in enumerate(records["park"])])
    reference = _turbines(700, rng)
    features = [
        _f("manufacturer", "categorical", "Turbine manufacturer", values=MANUFACTURERS,
           aliases=["make", "OEM", "vendor"], actionable=False),
        _f("site_type", "categorical", "Kind of site the turbine stands on", values=SITE_TYPES,
           aliases=["site", "terrain", "location type"], actionable=False),
        _f("turbine_age_years", "numeric", "Years since the turbine was commissioned", unit="years",
           aliases=["turbine age", "years in service"], actionable=False),
        _f("hours_since_service", "numeric", "Operating hours since the last gearbox service", unit="hours",
           aliases=["run hours", "hours since maintenance", "service interval"]),
        _f("gearbox_oil_temp_c", "numeric", "Average gearbox oil temperature over the last 30 days", unit="°C",
           aliases=["oil temperature", "gearbox temperature", "oil temp"]),
        _f("vibration_mm_s", "numeric", "Gearbox vibration velocity (RMS) over the last 30 days", unit="mm/s",
           aliases=["vibration", "vibration level", "RMS vibration"]),
        _f("avg_wind_speed_m_s", "numeric", "Average wind speed at hub height over the last 30 days", unit="m/s",
           aliases=["wind speed", "wind"], actionable=False),
        _f("oil_debris_alarm", "boolean", "The oil debris sensor has raised a metal-particle alarm",
           aliases=["debris alarm", "particle alarm"]),
        _f("blade_repair_last_12m", "boolean", "A blade was repaired in the last 12 months",
           aliases=["blade repair", "recent blade repair"]),
        _f("condition_monitoring", "boolean", "An online condition-monitoring system is fitted",
           aliases=["CMS", "condition monitoring system"]),
    ]
    return _write_model(
        out_dir,
        {"id": "turbine-gearbox-failure", "name": "Wind-turbine gearbox failure",
         "owner": "Asset Reliability Engineering",
         "description": "Estimates the chance that a wind turbine's gearbox fails within the next 90 days, "
                        "so maintenance crews can plan repairs before an unplanned outage.",
         "positive_label": "gearbox failure within 90 days", "positive_class": "1",
         "source": "generated (numpy seed 7307): synthetic turbine condition records"},
        features, "turbine_id", "turbine", "gearbox_failed_90d",
        records, records, reference,
        HistGradientBoostingClassifier(max_iter=150, learning_rate=0.06, max_depth=4, min_samples_leaf=30,
                                       random_state=0),
        scale=False,
        tiers=[("Nominal", "No action; next routine inspection as planned"),
               ("Monitor", "Raise the condition-monitoring sampling rate and check oil at the next visit"),
               ("Plan repair", "Book a gearbox inspection and order parts within 30 days"),
               ("Stop now", "Curtail the turbine and send a crew within 72 hours")],
        quantiles=[0.5, 0.78, 0.93],
        decision_threshold=0.3,
    )


# ---------------------------------------------------------------------------------------------
# 3. Generated: tenant rent arrears
# ---------------------------------------------------------------------------------------------
PAYMENT_METHODS = ["direct debit", "standing order", "card", "cash"]
PROPERTY_TYPES = ["studio", "one-bed flat", "two-bed flat", "house"]


def _tenancies(n: int, rng: np.random.Generator) -> pd.DataFrame:
    ptype = rng.choice(PROPERTY_TYPES, size=n, p=[0.18, 0.34, 0.3, 0.18])
    base = pd.Series(ptype).map({"studio": 950, "one-bed flat": 1250, "two-bed flat": 1650, "house": 2100}).to_numpy()
    rent = (np.exp(rng.normal(np.log(base), 0.18)) / 5).round() * 5
    age = np.clip(rng.normal(37, 12, n), 18, 82).round().astype(int)
    months = np.clip(rng.gamma(1.5, 18, n), 1, 119).round().astype(int)
    months = np.minimum(months, (age - 17) * 12)  # nobody rents from before they were 17
    burden = np.clip(rng.normal(34, 9, n), 12, 75).round(1)
    benefit = (rng.random(n) < 0.06 + 0.012 * np.maximum(burden - 30, 0)).astype(int)
    guarantor = (rng.random(n) < np.where(age < 27, 0.45, 0.12)).astype(int)
    method = rng.choice(PAYMENT_METHODS, size=n, p=[0.52, 0.22, 0.18, 0.08])
    late = rng.poisson(0.4 + 0.035 * np.maximum(burden - 25, 0) + 0.6 * (method == "cash"), n).clip(0, 9)
    repairs = rng.poisson(0.7 + 0.3 * (ptype == "house"), n).clip(0, 7)
    logit = (-2.4 + 0.055 * (burden - 34) + 0.42 * late + 0.0004 * (rent - 1400) - 0.012 * np.minimum(months, 60)
             + 0.35 * benefit - 0.55 * guarantor + 0.16 * repairs - 0.012 * (age - 37)
             + pd.Series(method).map({"direct debit": -0.45, "standing order": 0.0, "card": 0.2,
                                      "cash": 0.6}).to_numpy())
    arrears = (rng.random(n) < _sigmoid(logit)).astype(int)
    return pd.DataFrame({
        "monthly_rent": rent.astype(int), "rent_to_income_pct": burden, "late_payments_12m": late,
        "months_in_tenancy": months, "rent_payment_method": method, "property_type": ptype,
        "receives_housing_benefit": benefit, "has_guarantor": guarantor, "open_repair_requests": repairs,
        "tenant_age": age, "fell_into_arrears": arrears,
    })


def build_rent(out_dir: Path) -> str:
    rng = np.random.default_rng(2606)
    records = _tenancies(1500, rng)
    records.insert(0, "tenancy_id",
                   [f"ten/{2025 - m // 12}/{i + 1:04d}" for i, m in enumerate(records["months_in_tenancy"])])
    reference = _tenancies(700, rng)
    features = [
        _f("monthly_rent", "numeric", "Rent due each month", unit="USD", aliases=["rent", "rent amount"]),
        _f("rent_to_income_pct", "numeric", "Rent as a share of the household's verified income", unit="%",
           aliases=["rent burden", "affordability ratio", "rent to income"]),
        _f("late_payments_12m", "numeric", "Rent payments made late in the last 12 months", unit="payments",
           aliases=["late payments", "times paid late"]),
        _f("months_in_tenancy", "numeric", "Months since the tenancy started", unit="months",
           aliases=["tenancy length", "time in property"], actionable=False),
        _f("rent_payment_method", "categorical", "How the rent is paid", values=PAYMENT_METHODS,
           aliases=["payment method", "how they pay"]),
        _f("property_type", "categorical", "Kind of home let", values=PROPERTY_TYPES,
           aliases=["property", "unit type", "home type"], actionable=False),
        _f("receives_housing_benefit", "boolean", "Household receives housing benefit towards the rent",
           aliases=["housing benefit", "on benefits"]),
        _f("has_guarantor", "boolean", "A guarantor has signed the lease", aliases=["guarantor"]),
        _f("open_repair_requests", "numeric", "Repair requests the tenant has open", unit="requests",
           aliases=["open repairs", "repair tickets"]),
        _f("tenant_age", "numeric", "Age of the lead tenant", unit="years", aliases=["age"], actionable=False),
    ]
    return _write_model(
        out_dir,
        {"id": "rent-arrears", "name": "Tenant rent arrears risk", "owner": "Lettings Income Team",
         "description": "Estimates the chance that a tenancy falls two or more months behind on rent in the next "
                        "six months, so housing officers can offer support early.",
         "positive_label": "rent arrears", "positive_class": "1",
         "source": "generated (numpy seed 2606): synthetic tenancies"},
        features, "tenancy_id", "tenancy", "fell_into_arrears",
        records, records, reference,
        LogisticRegression(C=1.0, max_iter=2000),
        scale=True,
        tiers=[("Steady", "No action"),
               ("Reminder", "Send a friendly reminder before the next due date"),
               ("Support call", "Housing officer calls to offer a payment plan or benefit check"),
               ("Arrears plan", "Home visit and a formal arrears plan within two weeks")],
        quantiles=[0.45, 0.75, 0.92],
        decision_threshold=0.25,
    )


# ---------------------------------------------------------------------------------------------
# Build with stamp
# ---------------------------------------------------------------------------------------------
def source_hash() -> str:
    digest = hashlib.sha256(Path(__file__).read_bytes() + Path(shared.__file__).read_bytes())
    for part in (np.__version__, pd.__version__, sklearn.__version__, joblib.__version__):
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()


def is_up_to_date(out_dir: Path) -> bool:
    try:
        data = json.loads((out_dir / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if data.get("hash") != source_hash() or data.get("models") != MODEL_IDS:
        return False
    needed = ("model.yaml", ARTIFACT, "records.csv", "reference.csv")
    return all((out_dir / m / name).is_file() for m in MODEL_IDS for name in needed)


def build(out_dir: Path, *, force: bool = False) -> list[str]:
    """Write the three model folders under `out_dir` (skipped when already up to date); returns their ids."""
    out_dir = Path(out_dir)
    if not force and is_up_to_date(out_dir):
        return list(MODEL_IDS)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / STAMP).unlink(missing_ok=True)
    ids = [build_diabetes(out_dir), build_turbines(out_dir), build_rent(out_dir)]
    assert ids == MODEL_IDS, ids
    (out_dir / STAMP).write_text(json.dumps({"hash": source_hash(), "models": ids}, indent=2) + "\n",
                                 encoding="utf-8")
    return ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, help="folder to write the three model folders into")
    parser.add_argument("--force", action="store_true", help="rebuild even when the stamp says up to date")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    fresh = not args.force and is_up_to_date(args.out_dir)
    ids = build(args.out_dir, force=args.force)
    verb = "up to date" if fresh else f"built in {time.perf_counter() - started:.1f} s"
    print(f"{args.out_dir}: {len(ids)} models {verb}: {', '.join(ids)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
