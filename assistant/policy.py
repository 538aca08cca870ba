"""Output policy: what each role may see of a tool result."""

from __future__ import annotations

from typing import Any

# Fields that carry model scores or their building blocks. Business users see tiers and words only.
_SCORE_KEYS = {"probability", "mean_probability", "expected_rate", "base_value", "output_value", "contribution",
               "importance", "min_probability", "max_probability"}
# A stored record's full input vector: business users see the inputs their question names (what-if
# changes, the reasons behind a tier), not the whole row; id-and-row pairs are what a surrogate is
# trained on (bench/attacks, "records by id").
_RECORD_KEYS = {"inputs"}
MAX_ROWS = 20  # no answer carries more per-record results than this


def shape(result: Any, role: str) -> Any:
    """A JSON-ready tool result as `role` may see it: scores and whole input rows dropped for business,
    scores rounded for analysts."""
    if isinstance(result, dict):
        out = {}
        for key, value in result.items():
            if key in _SCORE_KEYS or key in _RECORD_KEYS:
                if role == "business":
                    continue
                if role == "analyst" and isinstance(value, float):
                    value = round(value, 2)
            out[key] = shape(value, role)
        return out
    if isinstance(result, list):
        return [shape(v, role) for v in result[:MAX_ROWS]]
    return result
