"""95% intervals: Wilson for proportions, percentile bootstrap for agreement and advantage."""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for successes / n ((nan, nan) when n is 0)."""
    if n <= 0:
        return (float("nan"), float("nan"))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def proportion(successes: int, n: int) -> dict:
    lo, hi = wilson(successes, n)
    return {"k": int(successes), "n": int(n), "rate": successes / n if n else float("nan"), "ci95": [lo, hi]}


def bootstrap_mean(matches: np.ndarray, reps: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Percentile interval for the mean of per-row matches (agreement) over resampled held-out rows."""
    matches = np.asarray(matches, dtype=float)
    if len(matches) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = matches[rng.integers(0, len(matches), size=(reps, len(matches)))].mean(axis=1)
    return (float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5)))


def agreement(a: np.ndarray, b: np.ndarray) -> dict:
    """Share of rows where a and b agree, with its bootstrap 95% interval."""
    matches = np.asarray(a) == np.asarray(b)
    lo, hi = bootstrap_mean(matches)
    return {"value": float(matches.mean()) if len(matches) else float("nan"), "ci95": [lo, hi], "n": int(len(matches))}


def bootstrap_advantage(member_hits: np.ndarray, nonmember_hits: np.ndarray, reps: int = 1000,
                        seed: int = 0) -> tuple[float, float]:
    """Percentile interval for TPR - FPR, resampling members and non-members separately."""
    m, n = np.asarray(member_hits, float), np.asarray(nonmember_hits, float)
    if not len(m) or not len(n):
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    tpr = m[rng.integers(0, len(m), size=(reps, len(m)))].mean(axis=1)
    fpr = n[rng.integers(0, len(n), size=(reps, len(n)))].mean(axis=1)
    adv = tpr - fpr
    return (float(np.percentile(adv, 2.5)), float(np.percentile(adv, 97.5)))
