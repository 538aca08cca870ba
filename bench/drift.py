"""Drift detection and false alarms over shift sizes and window sizes; label-flip audit precision/recall.

Run: .venv/bin/python -m bench.drift [--trials 40] [--flip-trials 5]

Drift: windows are sampled from each demo model's records (the same population as its reference
data, drawn independently); in each trial one numeric feature (taken in turn) is moved up by
`shift` reference standard deviations — on a log scale for long-tailed features (amounts,
distances: there one standard deviation of the raw values is many times the typical value), and
rounded at random for whole-number features (counts stay counts, the mean still moves by the
shift). Detection = that feature is flagged (Watch or worse: PSI > 0.1 and the KS test
significant at 1% after Bonferroni); "test alone" = the KS test is significant whatever the PSI
(the shift is real but may be too small to matter); false alarm = any other feature flagged.
Windows below the 200-row minimum are measured here as the detector would judge them, but
posture does not grade them ("not enough recent inputs").
Label flips: 5% of a copy of each reference set has its label flipped; precision and recall of
the audit's suspected rows, and how often the audit raises its finding (and never on clean data).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from assistant.demo import build_demo_models
from assistant.models.registry import Registry
from assistant.monitoring import data_audit
from assistant.monitoring.drift import ALPHA, MIN_ROWS, compare
from assistant.monitoring.encoding import skewed
from assistant.monitoring.window import Window
from bench.common import print_table, write_json

SHIFTS = (0.0, 0.1, 0.25, 0.5, 1.0)
WINDOWS = (100, 250, 500, 1000)


def shifted(values: np.ndarray, reference: np.ndarray, shift: float, rng: np.random.Generator) -> np.ndarray:
    """`values` moved up by `shift` reference standard deviations (log scale if long-tailed; counts stay whole)."""
    if skewed(reference):
        out = np.expm1(np.log1p(values) + shift * float(np.std(np.log1p(reference))))
    else:
        out = values + shift * float(np.std(reference))
    if np.all(reference % 1 == 0):
        out = np.floor(out) + (rng.random(len(out)) < out - np.floor(out))
    return out


def drift_trials(model, shift: float, size: int, trials: int, rng: np.random.Generator) -> dict:
    numeric = [f.name for f in model.spec.features if f.type == "numeric"]
    alpha = ALPHA / len(model.spec.features)
    detected = tested = false_alarm = 0
    for t in range(trials):
        frame = model.records.sample(size, replace=size > len(model.records),
                                     random_state=int(rng.integers(1 << 31)))[model.spec.feature_names].copy()
        target = numeric[t % len(numeric)]
        reference = model.reference[target].to_numpy(dtype=float)
        frame[target] = shifted(frame[target].to_numpy(dtype=float), reference, shift, rng)
        report = compare(model, Window(model.id, frame.reset_index(drop=True)), min_rows=0)
        flagged = set(report.drifting)
        if shift > 0:
            detected += target in flagged
            tested += next(f.p_value for f in report.features if f.feature == target) < alpha
        if flagged - ({target} if shift > 0 else set()):
            false_alarm += 1
    return {"detection_rate": detected / trials if shift > 0 else None,
            "test_alone_rate": tested / trials if shift > 0 else None, "false_alarm_rate": false_alarm / trials}


def flip_trials(model, trials: int, share: float = 0.05) -> dict:
    reference = model.reference
    clean = data_audit.audit(model)
    precision, recall, found = [], [], 0
    for seed in range(trials):
        rng = np.random.default_rng(100 + seed)
        rows = rng.choice(len(reference), int(round(share * len(reference))), replace=False)
        labels = model.labels.copy()
        labels[rows] = 1 - labels[rows]
        support, expected, sd = data_audit.label_support(model, reference, labels)
        suspected = set(np.flatnonzero(support <= data_audit.SUPPORT).tolist())
        hits = len(suspected & set(rows.tolist()))
        precision.append(hits / max(len(suspected), 1))
        recall.append(hits / len(rows))
        found += int(len(suspected) > expected + data_audit.EXCESS_SD * max(sd, 1.0))
    return {"rows": len(reference), "flipped": int(round(share * len(reference))), "trials": trials,
            "precision": float(np.mean(precision)), "recall": float(np.mean(recall)),
            "finding_rate": found / trials, "clean_finding": bool(clean.label_flips.excess),
            "clean_suspected": clean.label_flips.suspected}


def run(trials: int, flip_trials_n: int, models_dir: Path) -> dict:
    build_demo_models(models_dir)
    registry = Registry([models_dir])
    rng = np.random.default_rng(0)
    results = []
    for size in WINDOWS:
        for shift in SHIFTS:
            row = {"window": size, "shift_std": shift, "judged_by_posture": size >= MIN_ROWS, "models": {}}
            for model in registry:
                row["models"][model.id] = drift_trials(model, shift, size, trials, rng)
            rates = [m["detection_rate"] for m in row["models"].values() if m["detection_rate"] is not None]
            row["detection_rate"] = float(np.mean(rates)) if rates else None
            tests = [m["test_alone_rate"] for m in row["models"].values() if m["test_alone_rate"] is not None]
            row["test_alone_rate"] = float(np.mean(tests)) if tests else None
            row["false_alarm_rate"] = float(np.mean([m["false_alarm_rate"] for m in row["models"].values()]))
            results.append(row)
    ids = [m.id for m in registry]
    fmt = (lambda v: "—" if v is None else f"{v:.0%}")
    print_table(f"bench/drift: detection (shifted feature flagged) and false alarms (other features flagged), "
                f"{trials} trials per cell",
                ["window", "shift (std)", *[f"detect {i}" for i in ids], "detect all", "test alone", "false alarms",
                 "graded"],
                [[r["window"], f"{r['shift_std']:g}", *[fmt(r["models"][i]["detection_rate"]) for i in ids],
                  fmt(r["detection_rate"]), fmt(r["test_alone_rate"]), fmt(r["false_alarm_rate"]),
                  "yes" if r["judged_by_posture"] else "no (< 200)"]
                 for r in results])
    flips = {model.id: flip_trials(model, flip_trials_n) for model in registry}
    print_table("bench/drift: label-flip audit, 5% of the reference labels flipped",
                ["model", "rows", "flipped", "precision", "recall", "finding raised", "finding on clean data"],
                [[i, f["rows"], f["flipped"], f"{f['precision']:.2f}", f"{f['recall']:.2f}", fmt(f["finding_rate"]),
                  "yes" if f["clean_finding"] else "no"] for i, f in flips.items()])
    payload = {"trials": trials, "shifts": list(SHIFTS), "windows": list(WINDOWS), "min_rows": MIN_ROWS,
               "drift": results, "label_flips": flips}
    path = write_json("drift", payload)
    print(f"wrote {path}")
    return payload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--flip-trials", type=int, default=5)
    parser.add_argument("--models-dir", type=Path, default=None, help="where the demo models are built")
    args = parser.parse_args()
    run(args.trials, args.flip_trials, args.models_dir or Path(tempfile.mkdtemp()) / "models")


if __name__ == "__main__":
    main()
