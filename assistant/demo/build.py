"""Fit the demo models and write their folders: deterministic, idempotent, atomic.

A folder is rebuilt only when its stamp (`.demo-build.json`) is missing or stale: the stamp holds a
fingerprint of everything that determines the content (the spec, sizes and seeds, the estimator,
this package's source, the scikit-learn version) and the SHA-256 of every file written. A build
happens in a temporary sibling folder that replaces the old one only once it is complete and valid.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn
import yaml
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from assistant.demo.catalog import DEMO_VERSION, MODELS, DemoModel
from assistant.errors import ConfigError

STAMP = ".demo-build.json"
FILES = ("model.yaml", "model.joblib", "records.csv", "reference.csv")
_PENDING = "model.yaml.pending"
_PACKAGE_DIR = Path(__file__).resolve().parent
_HEADER = (
    "# Demo model built by `python -m assistant.demo` from seeded synthetic data.\n"
    "# Do not edit: the folder is rebuilt when the demo definition changes.\n"
)


@dataclass
class BuildResult:
    """What happened to one model folder."""

    model_id: str
    path: Path
    built: bool  # False: the folder was already up to date
    seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        m = self.metrics
        state = f"built in {self.seconds:.1f}s" if self.built else "up to date"
        tiers = " · ".join(f"{name} {share:.0%}" for name, share in m.get("tier_shares", {}).items())
        return (
            f"{self.model_id:<18} {state:<15} {self.path}\n"
            f"{'':<18} {m.get('records', '?')} {m.get('entity', 'record')}s; reference {m.get('reference_rows', '?')} rows, "
            f"{m.get('reference_positive_rate', 0):.1%} positive, AUC {m.get('reference_auc', 0):.3f}; tiers {tiers}"
        )


# ----------------------------------------------------------------------------- fingerprints


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _source_digest() -> str:
    h = hashlib.sha256()
    for path in sorted(_PACKAGE_DIR.glob("*.py")):
        if path.name == "__main__.py":
            continue
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def fingerprint(model: DemoModel) -> str:
    """A digest of everything that determines the content of `model`'s folder."""
    payload = {
        "demo_version": DEMO_VERSION,
        "model": model.fingerprint_data(),
        "source": _source_digest(),
        "sklearn": sklearn.__version__,
        "numpy": np.__version__.split(".")[0],
    }
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def read_stamp(folder: Path) -> dict[str, Any] | None:
    try:
        stamp = json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) else None


def is_current(model: DemoModel, folder: Path) -> bool:
    """True when `folder` holds an intact build of `model` with the current fingerprint."""
    stamp = read_stamp(folder)
    if not stamp or stamp.get("fingerprint") != fingerprint(model):
        return False
    files = stamp.get("files") or {}
    if set(files) != set(FILES):
        return False
    for name, digest in files.items():
        path = folder / name
        if not path.is_file() or _sha256(path) != digest:
            return False
    return True


# ----------------------------------------------------------------------------- data and fitting


def tier_of(probabilities: np.ndarray, bounds: list[float]) -> np.ndarray:
    """Index of the tier each probability falls in (a tier holds p <= its `max`)."""
    return np.minimum(np.searchsorted(np.asarray(bounds), probabilities, side="left"), len(bounds) - 1)


def make_frames(model: DemoModel) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(train, reference, records): the first two labelled, records keyed by the id column."""
    pool = model.generate(model.n_train + model.n_reference, model.train_seed)
    train, reference = train_test_split(
        pool,
        test_size=model.n_reference,
        stratify=pool[model.target],
        random_state=model.train_seed,
    )
    train = train.reset_index(drop=True)
    reference = reference[model.features + [model.target]].reset_index(drop=True)

    people = model.generate(model.n_records, model.records_seed)
    ids = [f"{model.id_prefix}{model.id_start + i}" for i in range(len(people))]
    records = pd.concat(
        [pd.DataFrame({model.id_column: ids}), people[model.record_extras + model.features].reset_index(drop=True)],
        axis=1,
    )
    return train, reference, records


def fit(model: DemoModel, train: pd.DataFrame) -> Any:
    estimator = model.make_estimator()
    estimator.fit(train[model.features], train[model.target].to_numpy())
    return estimator


def measure(model: DemoModel, estimator: Any, reference: pd.DataFrame, records: pd.DataFrame) -> dict[str, Any]:
    tiers = model.spec["risk_tiers"]
    p_ref = estimator.predict_proba(reference[model.features])[:, 1]
    p_rec = estimator.predict_proba(records[model.features])[:, 1]
    counts = np.bincount(tier_of(p_rec, [t["max"] for t in tiers]), minlength=len(tiers))
    return {
        "entity": model.spec["records"]["entity"],
        "records": int(len(records)),
        "reference_rows": int(len(reference)),
        "reference_positive_rate": round(float(reference[model.target].mean()), 4),
        "reference_auc": round(float(roc_auc_score(reference[model.target], p_ref)), 4),
        "tier_shares": {t["name"]: round(float(c) / len(records), 4) for t, c in zip(tiers, counts)},
    }


# ----------------------------------------------------------------------------- writing


def _yaml_text(model: DemoModel) -> str:
    return _HEADER + yaml.safe_dump(model.spec, sort_keys=False, allow_unicode=True, width=110)


def _check_spec(text: str, folder: Path, estimator: Any) -> None:
    """Refuse to publish a folder the loader would reject (the same checks as `load_spec`)."""
    from pydantic import ValidationError

    from assistant.models.spec import ModelSpec

    try:
        spec = ModelSpec.model_validate(yaml.safe_load(text))
    except ValidationError as exc:
        raise ConfigError(f"{folder / 'model.yaml'}: generated spec is invalid: {exc}") from None
    names = [str(n) for n in getattr(estimator, "feature_names_in_", [])]
    if names != spec.feature_names:
        raise ConfigError(f"{folder / 'model.joblib'}: fitted on {names}, the spec lists {spec.feature_names}")


def _write_folder(model: DemoModel, folder: Path) -> dict[str, Any]:
    """Fit and write everything into `folder`; `model.yaml` is left as `model.yaml.pending`."""
    train, reference, records = make_frames(model)
    estimator = fit(model, train)
    metrics = measure(model, estimator, reference, records)

    text = _yaml_text(model)
    _check_spec(text, folder, estimator)
    joblib.dump(estimator, folder / "model.joblib", compress=3)
    records.to_csv(folder / "records.csv", index=False)
    reference.to_csv(folder / "reference.csv", index=False)
    (folder / _PENDING).write_text(text, encoding="utf-8")
    return metrics


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _discard(path: Path) -> None:
    """Remove a retired or abandoned folder, its model.yaml first so no registry scan picks it up."""
    for name in ("model.yaml", _PENDING):
        try:
            (path / name).unlink()
        except OSError:
            pass
    shutil.rmtree(path, ignore_errors=True)


def _clean_leftovers(target: Path, model_id: str, older_than: float = 600.0) -> None:
    """Remove staging or retired folders that an interrupted build left behind."""
    now = time.time()
    for pattern in (f".{model_id}.building-*", f".{model_id}.old-*"):
        for path in target.glob(pattern):
            try:
                if path.is_dir() and now - path.stat().st_mtime > older_than:
                    _discard(path)
            except OSError:
                pass


def _replace(folder: Path, staged: Path) -> None:
    """Swap `staged` in for `folder` (two renames; the old copy is removed afterwards)."""
    os.replace(staged / _PENDING, staged / "model.yaml")
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}-{time.monotonic_ns()}")
        folder.rename(old)
    try:
        staged.rename(folder)
    except OSError:
        if old is not None and not folder.exists():
            old.rename(folder)
        raise
    if old is not None:
        _discard(old)


def build_one(model: DemoModel, target: Path, *, force: bool = False) -> BuildResult:
    """Build `model` under `target/` unless an intact, current build is already there."""
    start = time.perf_counter()
    folder = target / model.id
    if not force and folder.exists():
        if is_current(model, folder):
            stamp = read_stamp(folder) or {}
            return BuildResult(model.id, folder, False, time.perf_counter() - start, stamp.get("metrics", {}))
        if read_stamp(folder) is None and any(folder.iterdir()):
            raise ConfigError(
                f"{folder}: exists and was not built by the demo builder; move it away or rebuild with force"
            )

    target.mkdir(parents=True, exist_ok=True)
    _clean_leftovers(target, model.id)
    # Staged next to the final folder (same filesystem, so the swap is a rename); hidden, and
    # without a model.yaml until the swap, so a registry scanning `target` never registers it.
    staged = Path(tempfile.mkdtemp(prefix=f".{model.id}.building-", dir=target))
    try:
        os.chmod(staged, 0o777 & ~_umask())  # mkdtemp makes it private; publish it like mkdir would
        metrics = _write_folder(model, staged)
        seconds = time.perf_counter() - start
        digests = {name: _sha256(staged / (_PENDING if name == "model.yaml" else name)) for name in FILES}
        stamp = {
            "builder": "assistant.demo",
            "demo_version": DEMO_VERSION,
            "model_id": model.id,
            "fingerprint": fingerprint(model),
            "sklearn": sklearn.__version__,
            "build_seconds": round(seconds, 2),
            "files": digests,
            "metrics": metrics,
        }
        (staged / STAMP).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
        _replace(folder, staged)
    except BaseException:
        _discard(staged)
        raise
    return BuildResult(model.id, folder, True, time.perf_counter() - start, metrics)


def build_demo(target: Path, *, force: bool = False, only: list[str] | None = None) -> list[BuildResult]:
    """Build (or confirm) every demo model folder under `target`; see `build_demo_models`."""
    target = Path(target)
    chosen = [m for m in MODELS if only is None or m.id in only]
    if only is not None:
        unknown = sorted(set(only) - {m.id for m in MODELS})
        if unknown:
            from assistant.errors import not_found

            raise not_found("demo model", unknown[0], [m.id for m in MODELS])
    return [build_one(m, target, force=force) for m in chosen]


def build_demo_models(target: Path, *, force: bool = False) -> list[Path]:
    """Create the three demo model folders under `target`, returning their paths.

    Deterministic (fixed seeds) and idempotent: a folder whose stamp matches the current demo
    definition is left untouched; `force=True` refits and rewrites every folder.
    """
    return [r.path for r in build_demo(target, force=force)]
