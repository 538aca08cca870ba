"""Picking the best positions from an array of scores, as both search indexes need."""

from __future__ import annotations

import numpy as np


def top_positions(scores: np.ndarray, n: int, candidates: np.ndarray) -> list[int]:
    """The `n` best of `candidates` (positions into `scores`), best first; ties go to the lower position.

    Exact: every candidate tied with the n-th best score is kept until the final sort, so the
    partial selection never changes which positions win.
    """
    if n <= 0 or candidates.size == 0:
        return []
    values = scores[candidates]
    if candidates.size > n:
        cut = np.partition(values, candidates.size - n)[candidates.size - n]
        keep = values >= cut
        candidates, values = candidates[keep], values[keep]
    order = np.lexsort((candidates, -values))[:n]
    return candidates[order].tolist()
