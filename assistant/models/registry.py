"""The model registry: finds model folders, validates them, loads artifacts and data lazily."""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from assistant.errors import BadInput, ConfigError, not_found
from assistant.models.features import coerce
from assistant.models.scoring import CHECK_ROWS, FastScorer, Unsupported, fast_scorer
from assistant.models.spec import ModelSpec, Tier, load_spec

log = logging.getLogger(__name__)
FAST_ROWS = 64  # up to this many rows are scored through the fast path (answers); more through scikit-learn


@dataclass(frozen=True)
class Problem:
    """A model folder that could not be registered, and why (file and field)."""

    path: str
    message: str


class Model:
    """One registered model: its spec plus lazily loaded artifact, records and reference data."""

    def __init__(self, spec: ModelSpec, folder: Path):
        self.spec = spec
        self.folder = folder
        self._lock = threading.RLock()
        self._memo: dict[str, Any] = {}

    def memo(self, key: str, factory):
        """A derived object (explainer, importance table) built once per loaded model."""
        if key not in self._memo:
            with self._lock:
                if key not in self._memo:
                    self._memo[key] = factory()
        return self._memo[key]

    # -- files -------------------------------------------------------------------------------
    def path(self, relative: str) -> Path:
        return self.folder / relative

    @property
    def id(self) -> str:
        return self.spec.id

    @cached_property
    def estimator(self) -> Any:
        """The fitted estimator, loaded on first use and checked against the spec."""
        with self._lock:
            path = self.path(self.spec.artifact)
            try:
                if path.suffix == ".skops":
                    import skops.io as sio

                    estimator = sio.load(path, trusted=sio.get_untrusted_types(file=path))
                else:
                    import joblib

                    estimator = joblib.load(path)
            except Exception as exc:  # a corrupt or incompatible file
                raise ConfigError(f"{path}: field `artifact`: cannot load ({type(exc).__name__}: {exc})") from None
            self._check_estimator(estimator, path)
            return estimator

    def _check_estimator(self, estimator: Any, path: Path) -> None:
        where = f"{path}: field `features`"
        if not hasattr(estimator, "predict_proba"):
            raise ConfigError(f"{path}: field `artifact`: estimator has no predict_proba")
        names = getattr(estimator, "feature_names_in_", None)
        expected = self.spec.feature_names
        if names is not None:
            names = [str(n) for n in names]
            missing = [n for n in names if n not in expected]
            extra = [n for n in expected if n not in names]
            if missing or extra:
                parts = []
                if missing:
                    parts.append("the artifact needs " + ", ".join(missing) + " which the spec does not list")
                if extra:
                    parts.append("the spec lists " + ", ".join(extra) + " which the artifact does not use")
                raise ConfigError(f"{where}: do not match the artifact: " + "; ".join(parts))
        elif getattr(estimator, "n_features_in_", len(expected)) != len(expected):
            raise ConfigError(
                f"{where}: the artifact expects {estimator.n_features_in_} features, the spec lists {len(expected)}"
            )
        classes = list(getattr(estimator, "classes_", []))
        if len(classes) != 2:
            raise ConfigError(f"{path}: field `task`: binary_classification needs 2 classes, artifact has {classes}")

    @cached_property
    def column_order(self) -> list[str]:
        names = getattr(self.estimator, "feature_names_in_", None)
        return [str(n) for n in names] if names is not None else self.spec.feature_names

    @cached_property
    def positive_index(self) -> int:
        classes = [str(c).lower() for c in self.estimator.classes_]
        for wanted in (self.spec.positive_label.lower(), "1", "true", "yes"):
            if wanted in classes:
                return classes.index(wanted)
        return 1

    @cached_property
    def records(self) -> pd.DataFrame:
        """Entities looked up by id (index is the id as a string)."""
        if not self.spec.records:
            return pd.DataFrame(columns=self.spec.feature_names)
        frame = self._read_csv(self.spec.records.path, "records.path")
        id_column = self.spec.records.id_column
        if id_column not in frame.columns:
            raise ConfigError(
                f"{self.path(self.spec.records.path)}: field `records.id_column`: no column {id_column!r}"
            )
        frame[id_column] = frame[id_column].astype(str)
        return frame.set_index(id_column, drop=False)

    @cached_property
    def reference(self) -> pd.DataFrame:
        """The labelled reference sample (explanations' baseline, metrics, drift baseline)."""
        if not self.spec.reference:
            return self.records.reset_index(drop=True)
        frame = self._read_csv(self.spec.reference, "reference")
        if self.spec.target_column not in frame.columns:
            raise ConfigError(
                f"{self.path(self.spec.reference)}: field `target_column`: no column {self.spec.target_column!r}"
            )
        return frame

    @cached_property
    def labels(self) -> np.ndarray:
        """Reference labels as 0/1 (1 = the positive class)."""
        raw = self.reference[self.spec.target_column]
        positive = {self.spec.positive_label.lower(), "1", "1.0", "true", "yes"}
        return raw.astype(str).str.lower().isin(positive).to_numpy(dtype=int)

    def _read_csv(self, relative: str, field: str) -> pd.DataFrame:
        path = self.path(relative)
        try:
            frame = pd.read_csv(path)
        except FileNotFoundError:
            raise ConfigError(f"{path}: field `{field}`: file not found") from None
        except Exception as exc:
            raise ConfigError(f"{path}: field `{field}`: cannot read CSV ({exc})") from None
        missing = [f for f in self.spec.feature_names if f not in frame.columns]
        if missing:
            raise ConfigError(f"{path}: field `{field}`: missing feature columns {', '.join(missing)}")
        return frame

    @cached_property
    def fingerprint(self) -> str:
        """sha256 of the artifact file (provenance)."""
        return hashlib.sha256(self.path(self.spec.artifact).read_bytes()).hexdigest()

    # -- scoring -----------------------------------------------------------------------------
    def features_frame(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Rows restricted to the model's features, in the estimator's column order and dtypes."""
        frame = rows.loc[:, self.column_order].copy()
        template = self.template
        for column in frame.columns:
            try:
                frame[column] = frame[column].astype(template[column])
            except (TypeError, ValueError):
                pass
        return frame.reset_index(drop=True)

    @cached_property
    def template(self) -> dict[str, Any]:
        """Column dtypes as in the model's data (records, else reference)."""
        source = self.records if len(self.records) else self.reference
        return {c: source[c].dtype for c in self.spec.feature_names}

    def probabilities(self, rows: pd.DataFrame) -> np.ndarray:
        """Positive-class probabilities for rows holding the feature columns."""
        if len(rows) == 0:
            return np.zeros(0)
        if len(rows) <= FAST_ROWS and self.scorer is not None:
            try:
                return self.scorer.probabilities(rows)
            except Unsupported:
                pass  # e.g. a value the fitted encoders never saw: scikit-learn decides, as before
        proba = self.estimator.predict_proba(self.features_frame(rows))
        return np.asarray(proba)[:, self.positive_index].astype(float)

    def transformed(self, rows: pd.DataFrame) -> np.ndarray | None:
        """The pipeline's preprocessing output for a few rows through the fast path, or None."""
        if len(rows) > FAST_ROWS or self.scorer is None:
            return None
        try:
            return self.scorer.transform(rows)
        except Unsupported:
            return None

    @cached_property
    def scorer(self) -> FastScorer | None:
        """The fitted pipeline read as plain arithmetic (assistant.models.scoring), when it reproduces
        the estimator on the reference rows; None otherwise."""
        sample = self.reference if len(self.reference) else self.records
        if not len(sample):
            return None
        sample = self.features_frame(sample.iloc[:CHECK_ROWS])
        expected = np.asarray(self.estimator.predict_proba(sample))[:, self.positive_index].astype(float)
        transformed = None
        steps = getattr(self.estimator, "steps", None)
        if steps and len(steps) == 2:
            try:
                transformed = steps[0][1].transform(sample)
                transformed = np.asarray(transformed.toarray() if hasattr(transformed, "toarray") else transformed,
                                         dtype=float)
            except Exception:  # noqa: BLE001 - no fast path then
                return None
        return fast_scorer(self.estimator, self.positive_index, sample, expected, transformed)

    @cached_property
    def record_probabilities(self) -> pd.Series:
        """Scores of every record, computed once (records and artifact are fixed while loaded)."""
        return pd.Series(self.probabilities(self.records), index=self.records.index)

    def tier_for(self, probability: float) -> tuple[Tier, int]:
        """The ranked risk tier (1 = lowest risk) that a probability falls in."""
        for rank, tier in enumerate(self.spec.risk_tiers, start=1):
            if probability <= tier.max + 1e-12:
                return tier, rank
        return self.spec.risk_tiers[-1], len(self.spec.risk_tiers)

    def tier_ranks(self, probabilities: np.ndarray) -> np.ndarray:
        bounds = np.array([t.max for t in self.spec.risk_tiers])
        return np.minimum(np.searchsorted(bounds, probabilities - 1e-12, side="left"), len(bounds) - 1) + 1

    # -- lookups -----------------------------------------------------------------------------
    def record(self, record_id: str) -> pd.Series:
        """The record with this id (case-insensitive); NotFound names the closest ids."""
        key = str(record_id).strip()
        index = self.records.index
        if key in index:
            return self.records.loc[key]
        upper = key.upper()
        if upper in index:
            return self.records.loc[upper]
        raise not_found(f"{self.spec.entity} id for model {self.id}", key, list(index.astype(str)))

    def row_from_values(self, values: dict[str, Any], base: pd.Series | None = None) -> pd.DataFrame:
        """A one-row frame from explicit feature values (validated), filling gaps from `base`."""
        row: dict[str, Any] = {}
        for name, raw in values.items():
            row[name] = coerce(self.spec.feature(name), raw)
        missing = [f for f in self.spec.feature_names if f not in row and (base is None or f not in base)]
        if missing:
            raise BadInput(f"model {self.id} needs values for: {', '.join(missing)}")
        full = {f: row.get(f, base[f] if base is not None else None) for f in self.spec.feature_names}
        return pd.DataFrame([full])


class Registry:
    """All models found under the configured folders; broken ones are kept as problems."""

    def __init__(self, folders: Iterable[Path]):
        self.models: dict[str, Model] = {}
        self.problems: list[Problem] = []
        for folder in folders:
            self._discover(Path(folder))

    def _discover(self, folder: Path) -> None:
        if not folder.exists():
            self.problems.append(Problem(str(folder), "models folder does not exist"))
            return
        candidates = [folder] if (folder / "model.yaml").exists() else sorted(
            p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        for candidate in candidates:
            if not (candidate / "model.yaml").exists():
                continue
            try:
                spec = load_spec(candidate)
                self._check_files(spec, candidate)
            except ConfigError as exc:
                log.warning("model not loaded: %s", exc)
                self.problems.append(Problem(str(candidate / "model.yaml"), str(exc)))
                continue
            if spec.id in self.models:
                self.problems.append(
                    Problem(str(candidate / "model.yaml"), f"field `id`: {spec.id!r} already registered from "
                            f"{self.models[spec.id].folder}")
                )
                continue
            self.models[spec.id] = Model(spec, candidate)

    @staticmethod
    def _check_files(spec: ModelSpec, folder: Path) -> None:
        files = {"artifact": spec.artifact, "reference": spec.reference}
        if spec.records:
            files["records.path"] = spec.records.path
        for field, relative in files.items():
            if relative and not (folder / relative).is_file():
                raise ConfigError(f"{folder / 'model.yaml'}: field `{field}`: file {relative!r} not found in {folder}")

    def get(self, model_id: str) -> Model:
        if model_id in self.models:
            return self.models[model_id]
        lowered = {k.lower(): k for k in self.models}
        if str(model_id).lower() in lowered:
            return self.models[lowered[str(model_id).lower()]]
        raise not_found("model", model_id, sorted(self.models))

    def __iter__(self):
        return iter(self.models.values())

    def __len__(self) -> int:
        return len(self.models)

    def check(self) -> list[Problem]:
        """Load every artifact and dataset now; models that fail are moved to `problems`."""
        for model_id, model in list(self.models.items()):
            try:
                _ = model.estimator, model.records, model.reference, model.record_probabilities, model.scorer
            except ConfigError as exc:
                self.problems.append(Problem(str(model.folder / "model.yaml"), str(exc)))
                del self.models[model_id]
        return self.problems
