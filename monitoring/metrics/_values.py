"""Small helpers that keep results JSON-serialisable and column values comparable.

Results are stored as JSON and hashed, so they hold only dicts, lists, str, int, float, bool and None, and
never NaN or infinity (``json.dumps(..., allow_nan=False)`` must accept them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from .errors import ColumnTypeError, EmptyDataError, InvalidInputError

NUMERIC = "numeric"
CATEGORICAL = "categorical"
KINDS = (NUMERIC, CATEGORICAL)


def finite_or_none(value: Any) -> float | None:
    """The value as a Python float, or None when it is NaN, infinite or None."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def floats(values: Iterable[Any]) -> list[float | None]:
    """A list of Python floats with every non-finite entry replaced by None."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        listed = values.tolist()
        if np.isfinite(values).all():
            return listed
        return [v if math.isfinite(v) else None for v in listed]
    return [finite_or_none(v) for v in values]


def ints(values: Iterable[Any]) -> list[int]:
    """A list of Python ints (from NumPy integers)."""
    return [int(v) for v in values]


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``, or None when the denominator is zero."""
    if denominator == 0:
        return None
    return finite_or_none(numerator / denominator)


def format_label(value: Any) -> str:
    """The text a category is known by, the same for 1, 1.0 and np.int64(1).

    Categories are matched between datasets by this text, so an int column in the reference and a float
    column in the current batch still line up.
    """
    if isinstance(value, bool | np.bool_):
        return "True" if value else "False"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if number.is_integer():
            return str(int(number))
        return repr(number)
    return str(value)


def infer_kind(series: pd.Series, column: str) -> str:
    """``numeric`` for int and float columns, ``categorical`` for bool, text, object and category columns.

    Datetime and timedelta columns are refused: their drift needs a decision (epoch seconds? calendar
    features?) that belongs to the caller.
    """
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return CATEGORICAL
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        raise ColumnTypeError(
            f"Column {column!r} has dtype {dtype}; convert dates to numbers or categories before measuring drift",
            column=column,
        )
    if pd.api.types.is_numeric_dtype(dtype):
        return NUMERIC
    return CATEGORICAL


def numeric_array(series: pd.Series, column: str) -> np.ndarray:
    """The column as a float array (float32 kept as is, everything else float64), missing values as NaN."""
    dtype = series.dtype
    if dtype == np.float64 or dtype == np.float32:
        return series.to_numpy()
    if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        raise ColumnTypeError(
            f"Column {column!r} is compared as numeric but has dtype {dtype} in this dataset",
            column=column,
        )
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def category_counts(series: pd.Series) -> tuple[list[str], np.ndarray, int]:
    """Labels (sorted), their counts and the number of missing values of a column.

    One hash pass (``value_counts``) over the raw values; only the few distinct keys are turned into text.
    """
    counts = series.value_counts(dropna=True, sort=False)
    missing = int(len(series) - int(counts.sum()))
    merged: dict[str, int] = {}
    for value, count in zip(counts.index, counts.to_numpy(), strict=True):
        if count:
            label = format_label(value)
            merged[label] = merged.get(label, 0) + int(count)
    labels = sorted(merged)
    return labels, np.array([merged[label] for label in labels], dtype=np.int64), missing


def binary_labels(values: Any, pos_label: Any, name: str) -> np.ndarray:
    """``values == pos_label`` as a bool array, after checking there are at most two labels and no gaps."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise InvalidInputError(f"{name} must be 1-D, got shape {array.shape}")
    if array.size == 0:
        raise EmptyDataError(f"{name} is empty")
    distinct = pd.unique(array)
    if pd.isna(distinct).any():
        raise InvalidInputError(f"{name} has missing values")
    others = [value for value in distinct if value != pos_label]
    if len(others) > 1:
        shown = ", ".join(map(repr, distinct[:10]))
        raise InvalidInputError(
            f"{name} must hold two labels, one of them pos_label={pos_label!r}; found {shown}"
        )
    return array == pos_label
