"""Build six cross-domain model folders for the conversation benchmark.

    .venv/bin/python -m bench.conversation.crossdomain.build_models OUT_DIR [--force]

or, from Python, ``build(Path(OUT_DIR)) -> list[str]`` (the model ids). Each model is written to
``OUT_DIR/<model_id>/`` following the "Bringing your own model" contract in PRODUCT.md:
``model.yaml``, a fitted scikit-learn Pipeline (joblib), ``records.csv`` (entities looked up by id,
no label column) and ``reference.csv`` (a labelled held-out sample with ``target_column``).

The six models, on data the rest of the benchmark does not use:

- ``tumour-malignancy``: scikit-learn's bundled Wisconsin breast cancer data (``load_breast_cancer``).
- ``caravan-insurance``, ``oj-brand-choice``, ``college-graduation``: the ``Caravan``, ``OJ`` and
  ``College`` tables of the ISLP package (read as CSV straight out of its wheel; see below).
- ``employee-attrition``, ``small-business-loan-default``: generated here (numpy, seeded).

ISLP data. ISLP is never installed (its dependencies pull in torch): the CSV tables are read from
the wheel with ``zipfile``. The wheel is found at ``$MODELDESK_ISLP_WHEEL`` (default
``/tmp/islp/islp-0.6.0-py3-none-any.whl``); when that file is missing, a wheel already in
``$XDG_CACHE_HOME/modeldesk/islp`` (default ``~/.cache/modeldesk/islp``) is used, and when there is
none it is fetched there with ``python -m pip download ISLP==0.6.0 --no-deps --only-binary=:all:``.

Determinism and caching. Every split, sample and generator is seeded, so a build is repeatable.
``OUT_DIR/.crossdomain-build.json`` records a sha256 of this file's source plus the numpy, pandas
and scikit-learn versions; when it matches and every model folder is complete the build is skipped
(``--force`` rebuilds anyway). The stamp is removed before and written after a rebuild, so an
interrupted build is never mistaken for a finished one.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any, Callable

import joblib
import numpy as np
import pandas as pd
import sklearn
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

MODEL_IDS = [
    "tumour-malignancy",
    "caravan-insurance",
    "oj-brand-choice",
    "college-graduation",
    "employee-attrition",
    "small-business-loan-default",
]
STAMP = ".crossdomain-build.json"
ISLP_VERSION = "0.6.0"
DEFAULT_ISLP_WHEEL = Path(f"/tmp/islp/islp-{ISLP_VERSION}-py3-none-any.whl")
ARTIFACT = "model.joblib"


# ---------------------------------------------------------------------------------------------
# ISLP tables
# ---------------------------------------------------------------------------------------------
def islp_wheel() -> Path:
    """The ISLP wheel: $MODELDESK_ISLP_WHEEL, else a cached copy, else `pip download --no-deps`."""
    configured = Path(os.environ.get("MODELDESK_ISLP_WHEEL") or DEFAULT_ISLP_WHEEL)
    if configured.is_file():
        return configured
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "modeldesk" / "islp"
    cached = sorted(p for p in cache.glob("*.whl") if p.name.lower().startswith(f"islp-{ISLP_VERSION}-"))
    if cached:
        return cached[0]
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", f"ISLP=={ISLP_VERSION}", "--no-deps",
         "--only-binary=:all:", "-d", str(cache)],
        check=True,
    )
    cached = sorted(p for p in cache.glob("*.whl") if p.name.lower().startswith(f"islp-{ISLP_VERSION}-"))
    if not cached:
        raise FileNotFoundError(f"ISLP {ISLP_VERSION} wheel not found in {cache} after pip download")
    return cached[0]


def islp_table(name: str, wheel: Path | None = None) -> pd.DataFrame:
    """One of ISLP's data tables (`ISLP/data/<name>.csv`), read straight out of the wheel."""
    wheel = wheel or islp_wheel()
    with zipfile.ZipFile(wheel) as archive:
        member = f"ISLP/data/{name}.csv"
        if member not in archive.namelist():
            raise FileNotFoundError(f"{wheel}: no {member}")
        return pd.read_csv(io.BytesIO(archive.read(member)))


# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------
def _pipeline(features: list[dict], final: Any, *, scale: bool) -> Pipeline:
    """ColumnTransformer (numeric and boolean scaled or passed through; categoricals one-hot) + final."""
    numeric = [f["name"] for f in features if f["type"] in ("numeric", "boolean")]
    categorical = [f["name"] for f in features if f["type"] == "categorical"]
    parts: list[tuple] = []
    if numeric:
        parts.append(("num", StandardScaler() if scale else "passthrough", numeric))
    if categorical:
        parts.append(("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical))
    return Pipeline([("pre", ColumnTransformer(parts)), ("clf", final)])


def _nice(value: float) -> float:
    """A readable threshold: two significant figures, kept inside (0.005, 0.99]."""
    return float(min(0.99, max(0.005, float(f"{value:.2g}"))))


def _tiers(probabilities: np.ndarray, tiers: list[tuple[str, str]], quantiles: list[float]) -> list[dict]:
    """Risk tiers whose `max` bounds sit at quantiles of the records' probabilities (all populated)."""
    assert len(quantiles) == len(tiers) - 1
    bounds = [_nice(float(np.quantile(probabilities, q))) for q in quantiles] + [1.0]
    for i in range(1, len(bounds) - 1):  # strictly increasing
        if bounds[i] <= bounds[i - 1]:
            bounds[i] = round(bounds[i - 1] + 0.01, 3)
    counts = np.bincount(np.searchsorted(np.array(bounds), probabilities - 1e-12, side="left"),
                         minlength=len(bounds))
    if (counts == 0).any() or any(b2 <= b1 for b1, b2 in zip(bounds, bounds[1:])):
        raise RuntimeError(f"tier bounds {bounds} leave an empty tier (counts {counts.tolist()})")
    return [{"name": name, "max": bound, "action": action} for (name, action), bound in zip(tiers, bounds)]


def _write_model(
    out_dir: Path,
    meta: dict,
    features: list[dict],
    id_column: str,
    entity: str,
    target: str,
    train: pd.DataFrame,
    records: pd.DataFrame,
    reference: pd.DataFrame,
    final: Any,
    *,
    scale: bool,
    tiers: list[tuple[str, str]],
    quantiles: list[float],
    decision_threshold: float | None = None,
    generator: str = "bench/conversation/crossdomain/build_models.py",
) -> str:
    names = [f["name"] for f in features]
    pipe = _pipeline(features, final, scale=scale).fit(train[names], train[target])
    folder = out_dir / meta["id"]
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    joblib.dump(pipe, folder / ARTIFACT)
    records = records[[id_column] + names].reset_index(drop=True)
    reference = reference[names + [target]].reset_index(drop=True)
    records.to_csv(folder / "records.csv", index=False)
    reference.to_csv(folder / "reference.csv", index=False)

    classes = [str(c).lower() for c in pipe.classes_]
    positive = next((classes.index(w) for w in (meta["positive_class"].lower(), "1", "yes", "true") if w in classes), 1)
    record_proba = pipe.predict_proba(records[names])[:, positive]
    spec = {
        "id": meta["id"],
        "name": meta["name"],
        "owner": meta["owner"],
        "description": meta["description"],
        "version": "1.0.0",
        "task": "binary_classification",
        "artifact": ARTIFACT,
        "positive_label": meta["positive_label"],
        "features": features,
        "records": {"path": "records.csv", "id_column": id_column, "entity": entity},
        "reference": "reference.csv",
        "target_column": target,
        "adversarial": False,
    }
    if decision_threshold is not None:
        spec["decision_threshold"] = decision_threshold
    spec["risk_tiers"] = _tiers(record_proba, tiers, quantiles)
    header = (f"# {meta['name']}: generated by {generator}; do not edit.\n"
              f"# Source: {meta['source']}\n")
    (folder / "model.yaml").write_text(
        header + yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=110), encoding="utf-8")
    return meta["id"]


def _f(name: str, type_: str, description: str, unit: str | None = None, aliases: list[str] | None = None,
       values: list | None = None, actionable: bool | None = None) -> dict:
    feature: dict[str, Any] = {"name": name, "type": type_}
    if values is not None:
        feature["values"] = values
    if unit:
        feature["unit"] = unit
    feature["description"] = description
    if aliases:
        feature["aliases"] = aliases
    if actionable is not None:
        feature["actionable"] = actionable
    return feature


def _split(frame: pd.DataFrame, target: str, seed: int, test_size: float = 0.3) -> tuple[pd.DataFrame, pd.DataFrame]:
    return train_test_split(frame, test_size=test_size, random_state=seed, stratify=frame[target])


# ---------------------------------------------------------------------------------------------
# 1. Breast cancer (scikit-learn bundled data)
# ---------------------------------------------------------------------------------------------
def build_tumour(out_dir: Path) -> str:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    raw = data.frame
    columns = {
        "mean radius": "mean_radius",
        "mean texture": "mean_texture",
        "mean smoothness": "mean_smoothness",
        "mean compactness": "mean_compactness",
        "mean concavity": "mean_concavity",
        "mean concave points": "mean_concave_points",
        "mean symmetry": "mean_symmetry",
        "worst area": "worst_area",
    }
    frame = raw[list(columns)].rename(columns=columns).round(5)
    frame.insert(0, "patient_id", np.arange(1, len(raw) + 1))
    # sklearn: 0 = malignant, 1 = benign
    frame["diagnosis"] = np.where(raw["target"] == 0, "malignant", "benign")
    features = [
        _f("mean_radius", "numeric", "Mean distance from the centre of a cell nucleus to its edge, in the "
           "digitised biopsy image (image scale, no physical unit)", aliases=["radius", "nucleus radius", "cell size"],
           actionable=False),
        _f("mean_texture", "numeric", "Texture: standard deviation of grey-scale values across the nuclei",
           aliases=["texture", "grey-level variation"], actionable=False),
        _f("mean_smoothness", "numeric", "Smoothness: local variation in radius lengths (0 to 1, lower is smoother)",
           aliases=["smoothness"], actionable=False),
        _f("mean_compactness", "numeric", "Compactness: perimeter squared over area, minus 1",
           aliases=["compactness"], actionable=False),
        _f("mean_concavity", "numeric", "Concavity: severity of concave portions of the nucleus contour",
           aliases=["concavity"], actionable=False),
        _f("mean_concave_points", "numeric", "Concave points: share of the contour that is concave",
           aliases=["concave points"], actionable=False),
        _f("mean_symmetry", "numeric", "Symmetry of the cell nuclei", aliases=["symmetry"], actionable=False),
        _f("worst_area", "numeric", "Area of the largest nuclei (mean of the three largest), image scale",
           aliases=["largest nucleus area", "worst area", "max area"], actionable=False),
    ]
    train, held_out = _split(frame, "diagnosis", seed=11)
    return _write_model(
        out_dir,
        {"id": "tumour-malignancy", "name": "Breast tumour malignancy", "owner": "Oncology Diagnostics",
         "description": "Estimates the chance that a breast mass sampled by fine-needle aspiration is malignant, "
                        "from measurements of the cell nuclei in the digitised biopsy image.",
         "positive_label": "malignant", "positive_class": "malignant",
         "source": "scikit-learn load_breast_cancer (Wisconsin Diagnostic Breast Cancer, 569 patients)"},
        features, "patient_id", "patient", "diagnosis",
        train, frame, held_out,
        LogisticRegression(C=0.05, max_iter=2000),
        scale=True,
        tiers=[("Routine", "Routine follow-up at the next screening appointment"),
               ("Review", "Refer for a second radiologist read within two weeks"),
               ("Urgent", "Fast-track to the breast clinic for core biopsy within 48 hours")],
        quantiles=[0.5, 0.68],
    )


# ---------------------------------------------------------------------------------------------
# 2. ISLP Caravan
# ---------------------------------------------------------------------------------------------
CUSTOMER_MAIN_TYPES = {
    1: "Successful hedonists", 2: "Driven growers", 3: "Average family", 4: "Career loners", 5: "Living well",
    6: "Cruising seniors", 7: "Retired and religious", 8: "Family with grown-ups", 9: "Conservative families",
    10: "Farmers",
}


def build_caravan(out_dir: Path, wheel: Path) -> str:
    raw = islp_table("Caravan", wheel)
    frame = pd.DataFrame({
        "household_id": [f"HH-{i + 1:05d}" for i in range(len(raw))],
        "customer_main_type": raw["MOSHOOFD"].map(CUSTOMER_MAIN_TYPES),
        "average_age": raw["MGEMLEEF"].map({1: 25, 2: 35, 3: 45, 4: 55, 5: 65, 6: 75}),
        "purchasing_power_class": raw["MKOOPKLA"],
        "average_income_level": raw["MINKGEM"],
        "area_home_ownership_level": raw["MHKOOP"],
        "car_policies": raw["APERSAUT"],
        "car_premium_level": raw["PPERSAUT"],
        "fire_premium_level": raw["PBRAND"],
        "has_third_party_insurance": (raw["AWAPART"] > 0).astype(int),
        "has_boat_policy": (raw["APLEZIER"] > 0).astype(int),
        "buys_caravan_insurance": raw["Purchase"],  # "Yes" / "No"
    })
    features = [
        _f("customer_main_type", "categorical", "Customer main type (lifestyle segment of the postcode area)",
           values=list(CUSTOMER_MAIN_TYPES.values()), aliases=["segment", "customer type", "lifestyle"],
           actionable=False),
        _f("average_age", "numeric", "Average age in the postcode area (middle of the 10-year band)", unit="years",
           aliases=["age"], actionable=False),
        _f("purchasing_power_class", "numeric", "Purchasing power class of the area, 1 (lowest) to 8 (highest)",
           aliases=["purchasing power", "spending power"], actionable=False),
        _f("average_income_level", "numeric", "Average income level of the area, 0 (lowest) to 9 (highest)",
           aliases=["income level", "income"], actionable=False),
        _f("area_home_ownership_level", "numeric",
           "Share of home owners in the postcode area, banded 0 (none) to 9 (all)",
           aliases=["home ownership", "home owners"], actionable=False),
        _f("car_policies", "numeric", "Number of car insurance policies the household holds", unit="policies",
           aliases=["number of car policies", "cars insured"]),
        _f("car_premium_level", "numeric",
           "Contribution to car policies, banded 0 (none) to 9 (highest premiums)",
           aliases=["car premium", "car insurance spend"]),
        _f("fire_premium_level", "numeric",
           "Contribution to fire (home contents) policies, banded 0 (none) to 9 (highest premiums)",
           aliases=["fire premium", "fire insurance spend"]),
        _f("has_third_party_insurance", "boolean", "Household holds private third-party liability insurance",
           aliases=["third party insurance", "liability cover"]),
        _f("has_boat_policy", "boolean", "Household holds a boat insurance policy", aliases=["boat insurance", "boat"]),
    ]
    train, held_out = _split(frame, "buys_caravan_insurance", seed=21)
    rng = np.random.default_rng(2021)
    records = frame.iloc[np.sort(rng.choice(len(frame), size=1500, replace=False))]
    reference = held_out.sample(n=1000, random_state=22).sort_index()
    return _write_model(
        out_dir,
        {"id": "caravan-insurance", "name": "Caravan insurance propensity", "owner": "Direct Marketing",
         "description": "Estimates which existing insurance households are likely to buy a caravan policy, "
                        "to target the next mail campaign.",
         "positive_label": "buys caravan insurance", "positive_class": "Yes",
         "source": "ISLP Caravan table (CoIL 2000 insurance company data, 5,822 customers)"},
        features, "household_id", "household", "buys_caravan_insurance",
        train, records, reference,
        HistGradientBoostingClassifier(max_iter=120, learning_rate=0.05, max_depth=3, min_samples_leaf=40,
                                       random_state=0),
        scale=False,
        tiers=[("Cold", "Leave out of the campaign"),
               ("Warm", "Include in the standard mail campaign"),
               ("Hot", "Personal call from an agent with a caravan quote")],
        quantiles=[0.6, 0.9],
        decision_threshold=0.2,
    )


# ---------------------------------------------------------------------------------------------
# 3. ISLP OJ
# ---------------------------------------------------------------------------------------------
def build_oj(out_dir: Path, wheel: Path) -> str:
    raw = islp_table("OJ", wheel)
    frame = pd.DataFrame({
        "purchase_id": [f"OJ{1000 + i}" for i in range(len(raw))],
        "citrus_hill_loyalty": raw["LoyalCH"].round(4),
        "price_citrus_hill": raw["PriceCH"],
        "price_minute_maid": raw["PriceMM"],
        "discount_citrus_hill": raw["DiscCH"],
        "discount_minute_maid": raw["DiscMM"],
        "citrus_hill_on_special": raw["SpecialCH"].astype(int),
        "minute_maid_on_special": raw["SpecialMM"].astype(int),
        "store": raw["StoreID"].map(lambda s: f"Store {s}"),
        "week_of_purchase": raw["WeekofPurchase"],
        "chose_minute_maid": (raw["Purchase"] == "MM").astype(int),  # 1 = Minute Maid, 0 = Citrus Hill
    })
    stores = ["Store 1", "Store 2", "Store 3", "Store 4", "Store 7"]
    features = [
        _f("citrus_hill_loyalty", "numeric",
           "Shopper's brand loyalty to Citrus Hill, 0 (always buys Minute Maid) to 1 (always Citrus Hill)",
           aliases=["loyalty", "brand loyalty", "CH loyalty"], actionable=False),
        _f("price_citrus_hill", "numeric", "Shelf (list) price of Citrus Hill", unit="USD",
           aliases=["CH price", "Citrus Hill price"]),
        _f("price_minute_maid", "numeric", "Shelf (list) price of Minute Maid", unit="USD",
           aliases=["MM price", "Minute Maid price"]),
        _f("discount_citrus_hill", "numeric", "Discount offered on Citrus Hill", unit="USD",
           aliases=["CH discount", "Citrus Hill discount"]),
        _f("discount_minute_maid", "numeric", "Discount offered on Minute Maid", unit="USD",
           aliases=["MM discount", "Minute Maid discount"]),
        _f("citrus_hill_on_special", "boolean", "Citrus Hill was on special (promoted) that week",
           aliases=["CH special", "Citrus Hill promotion"]),
        _f("minute_maid_on_special", "boolean", "Minute Maid was on special (promoted) that week",
           aliases=["MM special", "Minute Maid promotion"]),
        _f("store", "categorical", "Store where the purchase was made", values=stores, aliases=["shop", "store id"],
           actionable=False),
        _f("week_of_purchase", "numeric", "Week number of the purchase (227 to 278)",
           aliases=["week"], actionable=False),
    ]
    train, held_out = _split(frame, "chose_minute_maid", seed=31)
    return _write_model(
        out_dir,
        {"id": "oj-brand-choice", "name": "Orange juice brand choice", "owner": "Category Management",
         "description": "Estimates whether a grocery shopper will pick Minute Maid over Citrus Hill orange juice, "
                        "given prices, discounts, promotions and the shopper's past brand loyalty.",
         "positive_label": "buys Minute Maid", "positive_class": "1",
         "source": "ISLP OJ table (1,070 orange juice purchases)"},
        features, "purchase_id", "purchase", "chose_minute_maid",
        train, frame, held_out,
        LogisticRegression(C=1.0, max_iter=2000),
        scale=True,
        tiers=[("Loyal to Citrus Hill", "No action: Citrus Hill is the expected pick"),
               ("Undecided", "Keep the Citrus Hill shelf promotion running"),
               ("Leaning Minute Maid", "Offer a Citrus Hill coupon at checkout"),
               ("Minute Maid buyer", "No coupon: unlikely to switch")],
        quantiles=[0.35, 0.6, 0.82],
    )


# ---------------------------------------------------------------------------------------------
# 4. ISLP College
# ---------------------------------------------------------------------------------------------
def build_college(out_dir: Path, wheel: Path) -> str:
    raw = islp_table("College", wheel)
    frame = pd.DataFrame({
        "college_id": [f"COL-{i + 1:04d}" for i in range(len(raw))],
        "is_private": (raw["Private"] == "Yes").astype(int),
        "applications": raw["Apps"],
        "acceptance_rate": (100 * raw["Accept"] / raw["Apps"]).round(1),
        "top10_percent_students": raw["Top10perc"],
        "full_time_undergrads": raw["F.Undergrad"],
        "out_of_state_tuition": raw["Outstate"],
        "room_and_board": raw["Room.Board"],
        "faculty_with_phd": raw["PhD"].clip(upper=100),
        "student_faculty_ratio": raw["S.F.Ratio"],
        "alumni_donation_rate": raw["perc.alumni"],
        "spend_per_student": raw["Expend"],
        "low_graduation_rate": np.where(raw["Grad.Rate"] < 55, "yes", "no"),
    })
    features = [
        _f("is_private", "boolean", "Private (not public) college", aliases=["private", "private college"],
           actionable=False),
        _f("applications", "numeric", "Applications received in the year", unit="applications",
           aliases=["apps", "number of applications"]),
        _f("acceptance_rate", "numeric", "Share of applicants accepted", unit="%",
           aliases=["admit rate", "acceptance"]),
        _f("top10_percent_students", "numeric", "New students from the top 10% of their high-school class", unit="%",
           aliases=["top 10%", "top students"]),
        _f("full_time_undergrads", "numeric", "Number of full-time undergraduates", unit="students",
           aliases=["enrolment", "size", "full-time students"]),
        _f("out_of_state_tuition", "numeric", "Out-of-state tuition per year", unit="USD",
           aliases=["tuition", "out of state tuition"]),
        _f("room_and_board", "numeric", "Room and board costs per year", unit="USD", aliases=["housing cost"]),
        _f("faculty_with_phd", "numeric", "Faculty holding a PhD", unit="%", aliases=["PhD faculty"]),
        _f("student_faculty_ratio", "numeric", "Students per faculty member", aliases=["class size ratio", "S/F ratio"]),
        _f("alumni_donation_rate", "numeric", "Alumni who donate", unit="%", aliases=["alumni giving"]),
        _f("spend_per_student", "numeric", "Instructional expenditure per student per year", unit="USD",
           aliases=["expenditure", "spending per student"]),
    ]
    train, held_out = _split(frame, "low_graduation_rate", seed=41)
    return _write_model(
        out_dir,
        {"id": "college-graduation", "name": "College low graduation rate", "owner": "Education Policy Office",
         "description": "Flags US colleges likely to have a low graduation rate (under 55%), for the "
                        "accreditation support programme.",
         "positive_label": "low graduation rate", "positive_class": "yes",
         "source": "ISLP College table (777 US colleges, 1995 US News & World Report)"},
        features, "college_id", "college", "low_graduation_rate",
        train, frame, held_out,
        RandomForestClassifier(n_estimators=150, max_depth=7, min_samples_leaf=3, random_state=0, n_jobs=1),
        scale=False,
        tiers=[("Green", "No action this cycle"),
               ("Amber", "Send the student-success toolkit and check in next term"),
               ("Red", "Assign an accreditation advisor and request an improvement plan")],
        quantiles=[0.55, 0.8],
    )


# ---------------------------------------------------------------------------------------------
# 5. Generated: employee attrition
# ---------------------------------------------------------------------------------------------
DEPARTMENTS = ["Sales", "Engineering", "Customer Support", "Finance", "Human Resources", "Operations"]


def _employees(n: int, rng: np.random.Generator) -> pd.DataFrame:
    department = rng.choice(DEPARTMENTS, size=n, p=[0.24, 0.24, 0.18, 0.10, 0.07, 0.17])
    age = np.clip(rng.normal(38, 9, n), 20, 64).round().astype(int)
    years = np.minimum(age - 19, rng.gamma(1.8, 2.8, n).round().astype(int)).clip(0, 35)
    pay = pd.Series(department).map({"Sales": 1.0, "Engineering": 1.35, "Customer Support": 0.72, "Finance": 1.15,
                                     "Human Resources": 0.9, "Operations": 0.85}).to_numpy()
    income = (np.exp(rng.normal(np.log(4200 + 90 * (age - 20) + 160 * years), 0.22)) * pay / 10).round() * 10
    remote_share = np.where(np.isin(department, ["Engineering", "Customer Support"]), 0.45, 0.18)
    remote = (rng.random(n) < remote_share).astype(int)
    stock = (rng.random(n) < np.where(department == "Engineering", 0.5, 0.28)).astype(int)
    overtime = (rng.random(n) < 0.28).astype(int)
    satisfaction = rng.integers(1, 5, n)
    commute = np.where(remote == 1, rng.gamma(1.2, 4, n), rng.gamma(2.0, 8, n)).round(1)
    logit = (-1.35 + 1.15 * overtime - 0.65 * stock - 0.4 * (satisfaction - 2.5) - 0.11 * np.minimum(years, 10)
             - 0.00011 * (income - 6000) + 0.018 * commute - 0.35 * remote + 0.55 * (age < 28)
             + pd.Series(department).map({"Sales": 0.45, "Customer Support": 0.35, "Engineering": -0.1,
                                          "Finance": -0.2, "Human Resources": 0.0, "Operations": 0.1}).to_numpy())
    left = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({
        "age": age, "years_at_company": years, "monthly_income": income.astype(int), "department": department,
        "overtime": overtime, "remote_worker": remote, "has_stock_options": stock,
        "job_satisfaction": satisfaction, "commute_km": commute, "left_company": left,
    })


def build_attrition(out_dir: Path) -> str:
    rng = np.random.default_rng(5151)
    records = _employees(1200, rng)
    records.insert(0, "employee_id", [f"E-{2024 - y}-{i + 1:04d}" for i, y in enumerate(records["years_at_company"])])
    reference = _employees(600, rng)
    features = [
        _f("age", "numeric", "Employee's age", unit="years", actionable=False),
        _f("years_at_company", "numeric", "Years since the employee joined", unit="years",
           aliases=["tenure", "service", "time at company"], actionable=False),
        _f("monthly_income", "numeric", "Gross monthly pay", unit="USD", aliases=["salary", "pay", "income"]),
        _f("department", "categorical", "Department the employee works in", values=DEPARTMENTS,
           aliases=["dept", "team"]),
        _f("overtime", "boolean", "Regularly works overtime", aliases=["works overtime", "OT"]),
        _f("remote_worker", "boolean", "Works remotely (fully or mostly)", aliases=["remote", "works from home"]),
        _f("has_stock_options", "boolean", "Holds company stock options", aliases=["stock options", "equity"]),
        _f("job_satisfaction", "numeric", "Job satisfaction from the last survey, 1 (low) to 4 (very high)",
           aliases=["satisfaction", "engagement score"]),
        _f("commute_km", "numeric", "One-way commute distance", unit="km", aliases=["commute", "distance from home"]),
    ]
    return _write_model(
        out_dir,
        {"id": "employee-attrition", "name": "Employee attrition risk", "owner": "People Analytics",
         "description": "Estimates the chance that an employee leaves in the next 12 months, so managers can "
                        "plan stay conversations.",
         "positive_label": "attrition", "positive_class": "1",
         "source": "generated (numpy seed 5151): synthetic HR records"},
        features, "employee_id", "employee", "left_company",
        records, records, reference,
        GradientBoostingClassifier(n_estimators=120, max_depth=3, learning_rate=0.05, subsample=0.9, random_state=0),
        scale=False,
        tiers=[("Low", "No action needed"),
               ("Moderate", "Mention in the next one-to-one"),
               ("High", "Manager stay conversation this month"),
               ("Critical", "HR business partner review within a week")],
        quantiles=[0.45, 0.75, 0.92],
    )


# ---------------------------------------------------------------------------------------------
# 6. Generated: small-business loan applications
# ---------------------------------------------------------------------------------------------
LOAN_PURPOSES = ["equipment", "working capital", "expansion", "inventory", "refinancing", "vehicle"]


def _applicants(n: int, rng: np.random.Generator) -> pd.DataFrame:
    purpose = rng.choice(LOAN_PURPOSES, size=n, p=[0.22, 0.24, 0.16, 0.14, 0.12, 0.12])
    amount = np.clip(np.exp(rng.normal(np.log(45000), 0.75, n)), 3000, 500000).round(-2)
    duration = rng.choice([12, 24, 36, 48, 60, 84, 120], size=n, p=[0.1, 0.18, 0.24, 0.16, 0.18, 0.08, 0.06])
    years_in_business = np.clip(rng.gamma(1.6, 3.5, n), 0, 40).round(1)
    revenue = (np.exp(rng.normal(np.log(280000) + 0.05 * np.minimum(years_in_business, 15), 0.7)) / 1000).round() * 1000
    credit = np.clip(rng.normal(685, 60, n), 450, 850).round().astype(int)
    coapplicant = (rng.random(n) < 0.3).astype(int)
    owns_home = (rng.random(n) < 0.55).astype(int)
    unemployed = (rng.random(n) < 0.08).astype(int)
    male = (rng.random(n) < 0.62).astype(int)
    logit = (-2.0 + 0.55 * np.log(amount / 45000) + 0.011 * (duration - 36) - 0.013 * (credit - 685)
             - 0.5 * coapplicant - 0.45 * owns_home + 1.3 * unemployed + 0.1 * male
             - 0.07 * np.minimum(years_in_business, 15) - 0.45 * np.log(revenue / 280000)
             + pd.Series(purpose).map({"equipment": -0.25, "working capital": 0.35, "expansion": 0.1,
                                       "inventory": 0.0, "refinancing": 0.55, "vehicle": -0.35}).to_numpy())
    default = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({
        "loan_amount": amount.astype(int), "duration_months": duration, "loan_purpose": purpose,
        "credit_score": credit, "annual_revenue": revenue.astype(int), "years_in_business": years_in_business,
        "has_coapplicant": coapplicant, "owns_home": owns_home, "unemployed": unemployed, "male": male,
        "defaulted": default,
    })


def build_loans(out_dir: Path) -> str:
    rng = np.random.default_rng(4000)
    records = _applicants(1000, rng)
    records.insert(0, "applicant_id", np.arange(4000, 5000))
    reference = _applicants(600, rng)
    features = [
        _f("loan_amount", "numeric", "Amount requested", unit="USD", aliases=["amount", "loan size", "principal"]),
        _f("duration_months", "numeric", "Repayment term", unit="months", aliases=["term", "duration", "loan term"]),
        _f("loan_purpose", "categorical", "What the loan is for", values=LOAN_PURPOSES, aliases=["purpose"]),
        _f("credit_score", "numeric", "Applicant's credit score (300 to 850)", aliases=["FICO", "score", "credit"]),
        _f("annual_revenue", "numeric", "Business's revenue over the last 12 months", unit="USD",
           aliases=["revenue", "sales", "turnover"]),
        _f("years_in_business", "numeric", "Years the business has been trading", unit="years",
           aliases=["business age", "time in business"], actionable=False),
        _f("has_coapplicant", "boolean", "Application has a co-applicant or guarantor",
           aliases=["co-applicant", "guarantor", "coapplicant"]),
        _f("owns_home", "boolean", "Applicant owns their home", aliases=["homeowner", "home owner"]),
        _f("unemployed", "boolean", "Applicant has no other employment income", aliases=["no job", "jobless"]),
        _f("male", "boolean", "Applicant is male", aliases=["gender", "sex"], actionable=False),
    ]
    return _write_model(
        out_dir,
        {"id": "small-business-loan-default", "name": "Small-business loan default risk", "owner": "Commercial Lending",
         "description": "Estimates the chance that a small-business loan applicant defaults within the loan term.",
         "positive_label": "default", "positive_class": "1",
         "source": "generated (numpy seed 4000): synthetic small-business loan applications"},
        features, "applicant_id", "applicant", "defaulted",
        records, records, reference,
        LogisticRegression(C=1.0, max_iter=2000),
        scale=True,
        tiers=[("Minimal", "Approve on standard terms"),
               ("Guarded", "Approve; verify revenue documents"),
               ("Elevated", "Refer to a credit officer; ask for a guarantor"),
               ("Severe", "Decline or restructure the request")],
        quantiles=[0.4, 0.7, 0.9],
        decision_threshold=0.3,
    )


# ---------------------------------------------------------------------------------------------
# Build with stamp
# ---------------------------------------------------------------------------------------------
def source_hash() -> str:
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for part in (np.__version__, pd.__version__, sklearn.__version__, joblib.__version__, ISLP_VERSION):
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()


def is_up_to_date(out_dir: Path) -> bool:
    stamp = out_dir / STAMP
    try:
        data = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if data.get("hash") != source_hash() or data.get("models") != MODEL_IDS:
        return False
    needed = ("model.yaml", ARTIFACT, "records.csv", "reference.csv")
    return all((out_dir / m / name).is_file() for m in MODEL_IDS for name in needed)


def build(out_dir: Path, *, force: bool = False) -> list[str]:
    """Write the six model folders under `out_dir` (skipped when already up to date); returns their ids."""
    out_dir = Path(out_dir)
    if not force and is_up_to_date(out_dir):
        return list(MODEL_IDS)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / STAMP).unlink(missing_ok=True)
    wheel = islp_wheel()
    steps: list[Callable[[], str]] = [
        lambda: build_tumour(out_dir),
        lambda: build_caravan(out_dir, wheel),
        lambda: build_oj(out_dir, wheel),
        lambda: build_college(out_dir, wheel),
        lambda: build_attrition(out_dir),
        lambda: build_loans(out_dir),
    ]
    ids = [step() for step in steps]
    assert ids == MODEL_IDS, ids
    (out_dir / STAMP).write_text(json.dumps({"hash": source_hash(), "models": ids}, indent=2) + "\n",
                                 encoding="utf-8")
    return ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, help="folder to write the six model folders into")
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
