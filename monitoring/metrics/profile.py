"""The reference profile: everything drift needs from the reference data, computed once.

Monitoring compares many current batches with one reference, so each numeric reference column is sorted once
(the exact KS and Wasserstein tests need the whole sorted sample), and its decile edges, standard deviation
and distinct count are kept beside it; each categorical column is reduced to labels and counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._kernels import sorted_moments
from ._values import CATEGORICAL, KINDS, NUMERIC, category_counts, finite_or_none, infer_kind, numeric_array
from .errors import (
    EmptyDataError,
    InvalidInputError,
    NonFiniteValueError,
    SchemaMismatchError,
)

PROFILE_FORMAT = "attest-reference-profile/1"
DEFAULT_PSI_BINS = 10
INFINITE_POLICIES = ("missing", "error")


@dataclass(frozen=True)
class SortedSample:
    """A numeric column split into its sorted finite values and the counts of what was left out."""

    values: np.ndarray  # ascending, finite
    rows: int
    missing: int
    infinite: int


@dataclass
class ColumnProfile:
    """One reference column: counts for both kinds, the sorted sample and edges for numeric columns."""

    name: str
    kind: str
    dtype: str
    rows: int
    missing: int
    infinite: int = 0
    sorted_values: np.ndarray | None = None
    psi_edges: np.ndarray | None = None
    std: float | None = None
    distinct: int = 0
    labels: list[str] = field(default_factory=list)
    counts: np.ndarray | None = None

    @property
    def valid(self) -> int:
        """Rows that take part in the tests (not missing, not infinite)."""
        return self.rows - self.missing - self.infinite

    def summary(self) -> dict[str, Any]:
        """JSON-safe description without the raw sorted sample."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "dtype": self.dtype,
            "rows": self.rows,
            "missing": self.missing,
            "infinite": self.infinite,
            "distinct": self.distinct,
        }
        if self.kind == NUMERIC and self.valid:
            assert self.sorted_values is not None
            assert self.psi_edges is not None
            out["min"] = float(self.sorted_values[0])
            out["max"] = float(self.sorted_values[-1])
            out["std"] = finite_or_none(self.std)
            out["psi_edges"] = [float(e) for e in self.psi_edges]
        if self.kind == CATEGORICAL:
            assert self.counts is not None
            out["categories"] = dict(zip(self.labels, (int(c) for c in self.counts), strict=True))
        return out


@dataclass
class ReferenceProfile:
    """All columns of a reference dataset, in order, plus how they were profiled."""

    columns: dict[str, ColumnProfile]
    rows: int
    psi_bins: int = DEFAULT_PSI_BINS
    infinite: str = "missing"

    def summary(self) -> dict[str, Any]:
        """JSON-safe summary (row count, per column: kind, counts, min/max, std, edges, categories)."""
        return {
            "format": PROFILE_FORMAT,
            "rows": self.rows,
            "psi_bins": self.psi_bins,
            "infinite": self.infinite,
            "columns": [column.summary() for column in self.columns.values()],
        }


def build_reference_profile(
    reference: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    column_kinds: Mapping[str, str] | None = None,
    psi_bins: int = DEFAULT_PSI_BINS,
    infinite: str = "missing",
    workers: int = 2,
) -> ReferenceProfile:
    """Profile ``reference`` once for any number of later drift comparisons.

    Guarantees: every listed column is present (else SchemaMismatchError via KeyError text); numeric columns
    keep their finite values sorted ascending (float64, or float32 when the column is float32); ``+-inf`` is
    counted and left out (``infinite="missing"``, Evidently's handling) or refused (``infinite="error"``);
    a column whose values are all missing is kept with zero valid rows and reported as untestable later.
    Columns are profiled on ``workers`` threads (NumPy's sort releases the GIL).
    """
    _check_settings(psi_bins, infinite)
    if len(reference) == 0:
        raise EmptyDataError("The reference dataset has no rows")
    names = list(reference.columns if columns is None else columns)
    if not names:
        raise EmptyDataError("The reference dataset has no columns to profile")
    require_columns(reference, names, "reference")
    kinds = dict(column_kinds or {})
    for name in names:
        kinds[name] = kinds.get(name) or infer_kind(reference[name], name)
        if kinds[name] not in KINDS:
            raise InvalidInputError(
                f"Column {name!r}: kind must be one of {KINDS}, not {kinds[name]!r}", column=name
            )

    def task(name: str) -> ColumnProfile:
        return profile_column(reference[name], name, kinds[name], psi_bins=psi_bins, infinite=infinite)

    if workers <= 1 or len(names) == 1:
        profiled = {name: task(name) for name in names}
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            profiled = dict(zip(names, pool.map(task, names), strict=True))
    return ReferenceProfile(columns=profiled, rows=len(reference), psi_bins=psi_bins, infinite=infinite)


def profile_column(series: pd.Series, name: str, kind: str, *, psi_bins: int, infinite: str) -> ColumnProfile:
    """Profile one reference column as ``kind`` (see :func:`build_reference_profile`)."""
    if kind == NUMERIC:
        sample = sorted_sample(numeric_array(series, name), name, infinite)
        values = sample.values
        moments = sorted_moments(values) if values.size else (None, 0)
        return ColumnProfile(
            name=name,
            kind=NUMERIC,
            dtype=str(series.dtype),
            rows=sample.rows,
            missing=sample.missing,
            infinite=sample.infinite,
            sorted_values=values,
            psi_edges=decile_edges(values, psi_bins),
            std=moments[0],
            distinct=moments[1],
        )
    labels, counts, missing = category_counts(series)
    return ColumnProfile(
        name=name,
        kind=CATEGORICAL,
        dtype=str(series.dtype),
        rows=len(series),
        missing=missing,
        labels=labels,
        counts=counts,
        distinct=len(labels),
    )


def sorted_sample(values: np.ndarray, name: str, infinite: str) -> SortedSample:
    """Sort once; NaN sorts last and +-inf sit at the ends, so the finite run is a slice (no extra copy)."""
    ordered = np.sort(values)
    rows = ordered.shape[0]
    n_not_nan = int(np.searchsorted(ordered, np.nan)) if ordered.dtype.kind == "f" else rows
    start = int(np.searchsorted(ordered[:n_not_nan], -np.inf, side="right"))
    stop = int(np.searchsorted(ordered[:n_not_nan], np.inf, side="left"))
    n_infinite = start + (n_not_nan - stop)
    if n_infinite and infinite == "error":
        raise NonFiniteValueError(f"Column {name!r} holds {n_infinite} infinite value(s)", column=name)
    return SortedSample(values=ordered[start:stop], rows=rows, missing=rows - n_not_nan, infinite=n_infinite)


def sorted_quantiles(ordered: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """``np.quantile(ordered, probabilities)`` (method 'linear') for an already sorted array, bit for bit.

    np.quantile partitions its input again (tens of ms per million values); on a sorted array the order
    statistics are plain indexing, and the interpolation below is NumPy's own ``_lerp``.
    """
    n = ordered.shape[0]
    virtual = (n - 1) * probabilities
    previous = np.floor(virtual).astype(np.intp)
    following = np.minimum(previous + 1, n - 1)
    gamma = virtual - previous
    low = ordered[previous]
    high = ordered[following]
    diff = high - low
    result = low + diff * gamma
    # NumPy interpolates from the upper neighbour when gamma >= 0.5 for better rounding; do the same.
    upper = gamma >= 0.5
    result[upper] = (high - diff * (1 - gamma))[upper]
    return result


def decile_edges(ordered: np.ndarray, bins: int) -> np.ndarray:
    """Inner PSI bin edges: the reference's ``1/bins .. (bins-1)/bins`` quantiles, duplicates dropped."""
    if ordered.size == 0:
        return np.empty(0, dtype=np.float64)
    probabilities = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    return np.unique(sorted_quantiles(ordered.astype(np.float64, copy=False), probabilities))


def _check_settings(psi_bins: int, infinite: str) -> None:
    if not isinstance(psi_bins, int) or psi_bins < 2:
        raise InvalidInputError(f"psi_bins must be an integer of at least 2, not {psi_bins!r}")
    if infinite not in INFINITE_POLICIES:
        raise InvalidInputError(f"infinite must be one of {INFINITE_POLICIES}, not {infinite!r}")


def require_columns(frame: pd.DataFrame, names: Sequence[str], which: str) -> None:
    """Raise SchemaMismatchError naming every column of ``names`` that ``frame`` lacks."""
    absent = [name for name in names if name not in frame.columns]
    if absent:
        raise SchemaMismatchError(
            f"The {which} dataset has no column(s) {', '.join(map(repr, absent))}",
            column=absent[0],
        )
