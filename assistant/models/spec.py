"""The `model.yaml` contract: a typed, validated description of one model folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assistant.errors import ConfigError

FeatureType = Literal["numeric", "categorical", "boolean"]


class Feature(BaseModel):
    """One input the model reads, in business words."""

    model_config = ConfigDict(extra="allow")

    name: str
    type: FeatureType = "numeric"
    description: str = ""
    unit: str | None = None
    values: list[Any] | None = None
    aliases: list[str] = Field(default_factory=list)
    # Extension: whether a customer can change it (counterfactuals only move actionable features).
    actionable: bool = True

    @field_validator("values")
    @classmethod
    def _values(cls, values: list[Any] | None) -> list[Any] | None:
        if values is not None and not values:
            raise ValueError("must list at least one value")
        return values

    @model_validator(mode="after")
    def _categorical_values(self) -> "Feature":
        if self.type == "categorical" and not self.values:
            raise ValueError(f"categorical feature {self.name!r} needs `values`")
        return self

    @property
    def label(self) -> str:
        """The feature's plain name: its first alias, else its name with spaces."""
        return self.name.replace("_", " ")


class Tier(BaseModel):
    name: str
    max: float = Field(ge=0.0, le=1.0)
    action: str = ""
    meaning: str | None = None


class Records(BaseModel):
    path: str
    id_column: str
    entity: str = "record"


class ModelSpec(BaseModel):
    """A model registered by its folder's `model.yaml` (see PRODUCT.md, "Bringing your own model")."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    name: str
    owner: str = ""
    task: Literal["binary_classification"] = "binary_classification"
    artifact: str
    positive_label: str = "positive"
    description: str = ""
    version: str | None = None
    features: list[Feature] = Field(min_length=1)
    records: Records | None = None
    reference: str | None = None
    target_column: str | None = None
    adversarial: bool = False
    decision_threshold: float = Field(0.5, gt=0.0, lt=1.0)
    risk_tiers: list[Tier] = Field(min_length=1)

    @field_validator("features")
    @classmethod
    def _unique_features(cls, features: list[Feature]) -> list[Feature]:
        names = [f.name for f in features]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate feature names: {', '.join(dupes)}")
        return features

    @field_validator("risk_tiers")
    @classmethod
    def _ordered_tiers(cls, tiers: list[Tier]) -> list[Tier]:
        bounds = [t.max for t in tiers]
        if any(b2 <= b1 for b1, b2 in zip(bounds, bounds[1:])):
            raise ValueError("must be ordered lowest risk first, with increasing `max`")
        if abs(bounds[-1] - 1.0) > 1e-9:
            raise ValueError("the last tier must have max: 1.0 so every probability has a tier")
        return tiers

    @model_validator(mode="after")
    def _check(self) -> "ModelSpec":
        if self.reference and not self.target_column:
            raise ValueError("`target_column` is required when `reference` is given")
        return self

    def feature(self, name: str) -> Feature:
        for f in self.features:
            if f.name == name:
                return f
        from assistant.errors import not_found

        raise not_found(f"feature of model {self.id}", name, [f.name for f in self.features])

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def entity(self) -> str:
        return self.records.entity if self.records else "record"


def load_spec(folder: Path) -> ModelSpec:
    """Read and validate `folder/model.yaml`; errors name the file and the field at fault."""
    path = folder / "model.yaml"
    if not path.is_file():
        raise ConfigError(f"{path}: missing model.yaml")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of fields, got {type(raw).__name__}")
    try:
        return ModelSpec.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
            problems.append(f"field `{loc}`: {err['msg']}")
        raise ConfigError(f"{path}: " + "; ".join(problems)) from None
