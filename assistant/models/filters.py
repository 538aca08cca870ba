"""Cohort filters: `{"feature", "op", "value"}` conditions that must all hold."""

from __future__ import annotations

import operator
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel

from assistant.errors import BadInput, not_found
from assistant.models.features import coerce, parse_number

Op = Literal["==", "!=", ">", ">=", "<", "<="]
_OPS = {"==": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


class Filter(BaseModel):
    feature: str
    op: Op = "=="
    value: Any

    def describe(self) -> str:
        words = {"==": "is", "!=": "is not", ">": "above", ">=": "at least", "<": "below", "<=": "at most"}
        return f"{self.feature.replace('_', ' ')} {words[self.op]} {self.value}"


def apply_filters(model, frame: pd.DataFrame, filters: list[Filter] | None) -> pd.DataFrame:
    """Rows of `frame` where every filter holds; a filter on an unknown column names the valid ones."""
    mask = pd.Series(True, index=frame.index)
    for flt in filters or []:
        if flt.feature not in frame.columns:
            raise not_found(f"feature or column of model {model.id}", flt.feature, list(frame.columns))
        column = frame[flt.feature]
        value = _value_for(model, flt, column)
        if isinstance(value, str) and flt.op in {"==", "!="}:
            hit = column.astype(str).str.lower() == value.lower()
            mask &= hit if flt.op == "==" else ~hit
        else:
            try:
                mask &= _OPS[flt.op](column, value)
            except TypeError:
                raise BadInput(f"cannot compare {flt.feature} with {flt.value!r} using {flt.op}") from None
    return frame[mask]


def _value_for(model, flt: Filter, column: pd.Series) -> Any:
    if flt.feature in model.spec.feature_names:
        feature = model.spec.feature(flt.feature)
        if feature.type != "categorical" or flt.op in {"==", "!="}:
            return coerce(feature, flt.value)
    if pd.api.types.is_numeric_dtype(column):
        number = parse_number(flt.value)
        if number is None:
            raise BadInput(f"{flt.feature} is numeric; {flt.value!r} is not a number")
        return number
    if flt.op not in {"==", "!="}:
        raise BadInput(f"{flt.feature} is not numeric, so only == and != apply")
    known = sorted(column.astype(str).unique())
    if len(known) <= 50 and str(flt.value).lower() not in {k.lower() for k in known}:
        raise not_found(f"value of {flt.feature}", str(flt.value), known)
    return str(flt.value)
