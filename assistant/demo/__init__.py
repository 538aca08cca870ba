"""Demo models: three seeded synthetic model folders that follow the `model.yaml` contract.

    from assistant.demo import build_demo_models
    build_demo_models(Path(".modeldesk/models"))        # idempotent; force=True rebuilds

or `python -m assistant.demo --out DIR [--force]`. Each folder holds `model.yaml`, `model.joblib`,
`records.csv` and `reference.csv` (see PRODUCT.md, "Bringing your own model"). The heavy imports
(pandas, scikit-learn) happen on first use, not on import of this package.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.demo.build import BuildResult

# Kept in step with assistant.demo.catalog.MODELS (a test checks it).
MODEL_IDS: tuple[str, ...] = ("credit-default", "customer-churn", "transaction-fraud")

__all__ = ["MODEL_IDS", "build_demo", "build_demo_models"]


def build_demo_models(target: Path, *, force: bool = False) -> list[Path]:
    """Create (or confirm up to date) the three demo model folders under `target`; return their paths."""
    from assistant.demo.build import build_demo_models as _build

    return _build(Path(target), force=force)


def build_demo(target: Path, *, force: bool = False, only: list[str] | None = None) -> list[BuildResult]:
    """Like `build_demo_models`, returning per-model results (built or skipped, seconds, metrics)."""
    from assistant.demo.build import build_demo as _build

    return _build(Path(target), force=force, only=only)
