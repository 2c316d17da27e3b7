"""Dataset profiles: per column the type, missing share, and numeric summaries or top categories.

Pure functions over pyarrow tables (no Django), vectorised with ``pyarrow.compute`` so that a
million rows of twenty columns profile in about a second. NaN counts as missing, like a null.
"""

from __future__ import annotations

import math
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

PROFILE_FORMAT = "attest-dataset-profile/1"
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
TOP_CATEGORIES = 20


def read_table(fileobj: BinaryIO, file_format: str) -> pa.Table:
    """The whole file as an Arrow table (CSV types inferred over all rows, multi-threaded)."""
    fileobj.seek(0)
    if file_format == "parquet":
        return pq.read_table(fileobj)
    parse_options = pa_csv.ParseOptions(newlines_in_values=True)
    return pa_csv.read_csv(fileobj, parse_options=parse_options)


class ProfileError(ValueError):
    """The table cannot be profiled; the message says where and why."""


def profile_table(table: pa.Table) -> dict[str, Any]:
    """``{"format", "rows", "columns": [{"name", "dtype", "kind", "missing", "missing_share", ...}]}``.

    Raises ProfileError for a NUL character in a column name or a text value: no database column can
    store it, so the profile could never be saved.
    """
    _refuse_nul(table)
    rows = table.num_rows
    columns = [_profile_column(name, table.column(name), rows) for name in table.column_names]
    return {"format": PROFILE_FORMAT, "rows": rows, "columns": columns}


def _refuse_nul(table: pa.Table) -> None:
    for name in table.column_names:
        if "\x00" in name:
            raise ProfileError(f"A column name holds a NUL character (byte 0): {name!r}.")
        column = table.column(name)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        found = pc.match_substring(column, "\x00")
        if pc.any(found).as_py():
            row = pc.index(found, True).as_py() + 1
            raise ProfileError(
                f"Column {name!r} holds a NUL character (byte 0) in data row {row}, which cannot be "
                "stored; upload the file again without it."
            )


def _profile_column(name: str, column: pa.ChunkedArray, rows: int) -> dict[str, Any]:
    kind = _kind(column.type)
    missing = column.null_count
    if kind == "numeric" and pa.types.is_floating(column.type):
        missing += pc.sum(pc.is_nan(column).cast(pa.int64())).as_py() or 0
    summary: dict[str, Any] = {
        "name": name,
        "dtype": str(column.type),
        "kind": kind,
        "missing": missing,
        "missing_share": (missing / rows) if rows else 0.0,
    }
    if kind == "numeric":
        summary.update(_numeric_summary(column))
    elif kind in {"categorical", "boolean"}:
        summary.update(_categorical_summary(column, rows))
    elif kind == "temporal":
        summary.update(_temporal_summary(column))
    return summary


def _kind(arrow_type: pa.DataType) -> str:
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "numeric"
    if pa.types.is_temporal(arrow_type):
        return "temporal"
    if (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_dictionary(arrow_type)
    ):
        return "categorical"
    return "other"


def _numeric_summary(column: pa.ChunkedArray) -> dict[str, Any]:
    """One sort per column gives min, max, exact quantiles and the distinct count (hashing a million
    floats for ``count_distinct`` costs twenty times the sort)."""
    values = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
    ordered = np.sort(values[~np.isnan(values)])
    if ordered.size == 0:
        return {"min": None, "max": None, "mean": None, "std": None, "distinct": 0, "quantiles": {}}
    return {
        "min": _finite(ordered[0]),
        "max": _finite(ordered[-1]),
        "mean": _finite(ordered.mean()),
        "std": _finite(ordered.std(ddof=1)) if ordered.size > 1 else None,
        "distinct": int(np.count_nonzero(np.diff(ordered))) + 1,
        "quantiles": {f"p{round(q * 100):02d}": _finite(_quantile(ordered, q)) for q in QUANTILES},
    }


def _quantile(ordered: np.ndarray, q: float) -> float:
    """Linear interpolation between closest ranks (numpy's and pandas' default) on sorted values."""
    position = q * (ordered.size - 1)
    low = int(np.floor(position))
    high = min(low + 1, ordered.size - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def _categorical_summary(column: pa.ChunkedArray, rows: int) -> dict[str, Any]:
    counts = pc.value_counts(pc.drop_null(column).cast(pa.string()))
    labels = counts.field("values").to_pylist()
    frequencies = counts.field("counts").to_pylist()
    ranked = sorted(zip(labels, frequencies, strict=True), key=lambda item: (-item[1], item[0]))
    return {
        "distinct": len(ranked),
        "top": [
            {"value": label, "count": count, "share": (count / rows) if rows else 0.0}
            for label, count in ranked[:TOP_CATEGORIES]
        ],
    }


def _temporal_summary(column: pa.ChunkedArray) -> dict[str, Any]:
    extremes = pc.min_max(column)
    low, high = extremes["min"].as_py(), extremes["max"].as_py()
    return {"min": low.isoformat() if low else None, "max": high.isoformat() if high else None}


def _finite(value: float | None) -> float | None:
    """JSON has no NaN or infinity; the profile says null instead."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def profile_file(fileobj: BinaryIO, file_format: str) -> dict[str, Any]:
    return profile_table(read_table(fileobj, file_format))
