"""Per-feature data drift and prediction drift between a reference and a current dataset.

The reference is reduced once to a :class:`~.profile.ReferenceProfile`; each current batch is then compared
column by column on a thread pool. A numeric column is sorted once, and one merge of the two sorted samples
(Numba, GIL released) gives the exact KS statistic, the Wasserstein-1 distance and the pooled distinct count;
PSI and Jensen-Shannon use the reference's decile bins, counted by ``searchsorted`` into the sorted sample.
Categorical columns are counted with one hash pass. Which test decides, with which threshold and why, follows
Evidently's DataDriftPreset defaults (see :mod:`.drift_config`) and is written into every column's result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import scipy

from . import stattests
from ._kernels import NUMBA_VERSION, merge_sorted
from ._values import (
    CATEGORICAL,
    NUMERIC,
    category_counts,
    finite_or_none,
    floats,
    format_label,
    ints,
    numeric_array,
)
from .drift_config import EVIDENTLY_SOURCE, DriftConfig, choose_test
from .drift_statistics import TESTS, Cells, Comparison, NumericSamples, compute_all
from .errors import EmptyDataError
from .profile import (
    ColumnProfile,
    ReferenceProfile,
    build_reference_profile,
    decile_edges,
    require_columns,
    sorted_sample,
)
from .stattests import bin_counts

__all__ = [
    "DriftConfig",
    "ReferenceProfile",
    "build_reference_profile",
    "column_drift",
    "compare_with_profile",
    "dataset_drift",
    "prediction_drift",
]

_BIN_RULE = "(-inf, e1), [e1, e2), ..., [ek, +inf): a value equal to an edge is counted in the bin above it"


def dataset_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    column_kinds: Mapping[str, str] | None = None,
    config: DriftConfig | None = None,
) -> dict[str, Any]:
    """Profile ``reference`` and compare ``current`` with it (see :func:`compare_with_profile`)."""
    config = config or DriftConfig()
    profile = build_reference_profile(
        reference,
        columns=columns,
        column_kinds=column_kinds,
        psi_bins=config.psi_bins,
        infinite=config.infinite,
        workers=config.workers,
    )
    return compare_with_profile(profile, current, config=config)


def compare_with_profile(
    profile: ReferenceProfile, current: pd.DataFrame, *, config: DriftConfig | None = None
) -> dict[str, Any]:
    """Drift of every profiled column of ``current``, and whether the dataset as a whole drifted.

    Guarantees: the result is JSON-safe; columns keep the profile's order; a column that cannot be tested
    (no valid values on one side) is reported with ``status: not_tested`` and its reason and left out of the
    drifted share; extra columns in ``current`` are ignored; a profiled column missing from ``current``
    raises SchemaMismatchError, an empty ``current`` EmptyDataError, a numeric column holding text
    ColumnTypeError.
    """
    config = config or DriftConfig(psi_bins=profile.psi_bins, infinite=profile.infinite)
    if len(current) == 0:
        raise EmptyDataError("The current dataset has no rows")
    names = list(profile.columns)
    require_columns(current, names, "current")
    results = _run_columns(profile, current, names, config)
    return {
        "kind": "data_drift",
        "reference_rows": profile.rows,
        "current_rows": len(current),
        "columns": results,
        "summary": _summary(results, config),
        "psi_bands": _psi_bands(results),
        "method": method_description(config),
    }


def column_drift(
    reference: pd.Series | np.ndarray | Sequence[Any],
    current: pd.Series | np.ndarray | Sequence[Any],
    *,
    name: str = "value",
    kind: str | None = None,
    config: DriftConfig | None = None,
) -> dict[str, Any]:
    """Drift of one column given as two arrays; the same result as one entry of ``columns`` above."""
    config = config or DriftConfig()
    reference_frame = pd.DataFrame({name: _as_series(reference, name)})
    current_frame = pd.DataFrame({name: _as_series(current, name)})
    profile = build_reference_profile(
        reference_frame,
        column_kinds={name: kind} if kind else None,
        psi_bins=config.psi_bins,
        infinite=config.infinite,
    )
    if len(current_frame) == 0:
        raise EmptyDataError(f"Column {name!r} has no rows in the current data", column=name)
    return _column_result(profile.columns[name], current_frame[name], profile, config)


def prediction_drift(
    reference: pd.Series | np.ndarray | Sequence[Any],
    current: pd.Series | np.ndarray | Sequence[Any],
    *,
    name: str = "prediction",
    kind: str | None = None,
    config: DriftConfig | None = None,
) -> dict[str, Any]:
    """Drift of a model's output: a score (numeric) or a predicted label (categorical), reported on its own.

    The same tests and defaults as for features; ``kind`` forces ``numeric`` or ``categorical`` when the
    dtype would mislead (e.g. integer class labels).
    """
    config = config or DriftConfig()
    result = column_drift(reference, current, name=name, kind=kind, config=config)
    return {"kind": "prediction_drift", "prediction": result, "method": method_description(config)}


def method_description(config: DriftConfig) -> dict[str, Any]:
    """What was computed and how, for readers of a stored result."""
    return {
        "config": config.as_dict(),
        "tests": {
            name: {"label": spec.label, "default_threshold": spec.default_threshold, "rule": spec.rule}
            for name, spec in TESTS.items()
        },
        "test_selection": f"{EVIDENTLY_SOURCE}: reference <= {config.small_reference_rows} non-missing rows: "
        f"KS for numeric columns with more than {config.few_values} distinct values, chi-square for "
        "categorical and few-valued numeric columns, two-proportion Z-test for binary ones; larger "
        "references: normed Wasserstein for numeric, Jensen-Shannon for categorical and few-valued numeric",
        "dataset_rule": f"dataset drifts when share of drifted tested columns >= {config.drift_share}",
        "psi": f"{config.psi_bins} bins on the reference deciles (np.quantile, linear), duplicate edges dropped; "
        f"{_BIN_RULE}; shares floored at {config.psi_floor}; categories: union of both samples",
        **{name: spec.method for name, spec in TESTS.items() if spec.method},
        "missing_values": "NaN and None are counted and left out of every test; "
        + (
            "+-inf are counted separately and left out too (Evidently's handling)"
            if config.infinite == "missing"
            else "+-inf are refused"
        ),
        "library_versions": {
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "scipy": scipy.__version__,
            "numba": NUMBA_VERSION,
        },
    }


def _as_series(values: Any, name: str) -> pd.Series:
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True).rename(name)
    return pd.Series(values, name=name)


def _run_columns(
    profile: ReferenceProfile, current: pd.DataFrame, names: list[str], config: DriftConfig
) -> list[dict[str, Any]]:
    # Numeric columns (sort + merge) take most of the time; start them first so the pool stays busy.
    order = sorted(names, key=lambda name: profile.columns[name].kind != NUMERIC)

    def task(name: str) -> dict[str, Any]:
        return _column_result(profile.columns[name], current[name], profile, config)

    if config.workers == 1 or len(order) == 1:
        by_name = {name: task(name) for name in order}
    else:
        with ThreadPoolExecutor(max_workers=config.workers) as pool:
            by_name = dict(zip(order, pool.map(task, order), strict=True))
    return [by_name[name] for name in names]


def _column_result(
    reference: ColumnProfile, series: pd.Series, profile: ReferenceProfile, config: DriftConfig
) -> dict[str, Any]:
    if reference.kind == NUMERIC:
        return _numeric_result(reference, series, profile, config)
    return _categorical_result(reference, series, config)


def _sample_block(dtype: str, rows: int, missing: int, infinite: int) -> dict[str, Any]:
    valid = rows - missing - infinite
    return {
        "dtype": dtype,
        "rows": rows,
        "missing": missing,
        "missing_share": finite_or_none(missing / rows) if rows else None,
        "infinite": infinite,
        "valid": valid,
    }


def _base_result(reference: ColumnProfile, current_block: dict[str, Any]) -> dict[str, Any]:
    notes = []
    if current_block["dtype"] != reference.dtype:
        notes.append(f"dtype changed from {reference.dtype} in the reference to {current_block['dtype']}")
    if reference.infinite or current_block["infinite"]:
        notes.append("infinite values were counted and left out of the tests, like missing values")
    return {
        "column": reference.name,
        "kind": reference.kind,
        "status": "tested",
        "reason": None,
        "drift_detected": None,
        "test": None,
        "reference": _sample_block(reference.dtype, reference.rows, reference.missing, reference.infinite),
        "current": current_block,
        "statistics": {},
        "notes": notes,
    }


def _untested(result: dict[str, Any]) -> dict[str, Any] | None:
    empty_sides = [side for side in ("reference", "current") if result[side]["valid"] == 0]
    if not empty_sides:
        return None
    result["status"] = "not_tested"
    result["reason"] = " and ".join(empty_sides) + " ha" + ("ve" if len(empty_sides) > 1 else "s")
    result["reason"] += " no non-missing values, so no test can compare them"
    return result


def _numeric_result(
    reference: ColumnProfile, series: pd.Series, profile: ReferenceProfile, config: DriftConfig
) -> dict[str, Any]:
    name = reference.name
    current = sorted_sample(numeric_array(series, name), name, config.infinite)
    block = _sample_block(str(series.dtype), current.rows, current.missing, current.infinite)
    result = _base_result(reference, block)
    if _untested(result):
        return result
    ref_values, cur_values = _common_dtype(reference.sorted_values, current.values)
    d_plus, d_minus, area, distinct = merge_sorted(ref_values, cur_values)
    edges = reference.psi_edges
    if config.psi_bins != profile.psi_bins:
        edges = decile_edges(ref_values, config.psi_bins)
    bins = Cells(bin_counts(ref_values, edges), bin_counts(cur_values, edges), "psi bins")
    discrete = None
    if distinct <= config.few_values:
        values, ref_counts, cur_counts = _distinct_value_counts(ref_values, cur_values)
        discrete = Cells(ref_counts, cur_counts, "distinct values", [format_label(v) for v in values])
    choice = choose_test(name, NUMERIC, reference.valid, distinct, config)
    threshold, threshold_source = config.threshold_for(name, choice.name)
    numeric = NumericSamples(ref_values, cur_values, d_plus, d_minus, area, reference.std)
    statistics = compute_all(
        Comparison(NUMERIC, bins, discrete, numeric, choice.name, _alpha(choice.name, threshold), config)
    )
    statistics["psi"] = statistics["psi"] | {"bins": _bins_block(edges, bins.reference, bins.current)}
    statistics["distinct_values"] = distinct
    result["statistics"] = statistics
    return _decide(result, choice, threshold, threshold_source)


def _categorical_result(reference: ColumnProfile, series: pd.Series, config: DriftConfig) -> dict[str, Any]:
    name = reference.name
    labels, counts, missing = category_counts(series)
    result = _base_result(reference, _sample_block(str(series.dtype), len(series), missing, 0))
    if _untested(result):
        return result
    known = set(reference.labels)
    union = list(reference.labels) + [label for label in labels if label not in known]
    position = {label: i for i, label in enumerate(union)}
    ref_counts = np.zeros(len(union), dtype=np.int64)
    ref_counts[: len(reference.labels)] = reference.counts
    cur_counts = np.zeros(len(union), dtype=np.int64)
    cur_counts[[position[label] for label in labels]] = counts
    order = np.argsort(np.array(union, dtype=object), kind="stable")
    union = [union[i] for i in order]
    ref_counts, cur_counts = ref_counts[order], cur_counts[order]
    choice = choose_test(name, CATEGORICAL, reference.valid, len(union), config)
    threshold, threshold_source = config.threshold_for(name, choice.name)
    categories = Cells(ref_counts, cur_counts, "categories", union)
    alpha = _alpha(choice.name, threshold)
    statistics = compute_all(
        Comparison(CATEGORICAL, categories, categories, None, choice.name, alpha, config)
    )
    statistics["distinct_values"] = len(union)
    statistics["categories"] = _categories_block(
        union, ref_counts, cur_counts, config.max_categories_reported
    )
    unseen = {label: int(count) for label, count in zip(labels, counts, strict=True) if label not in known}
    statistics["unseen_categories"] = unseen
    result["statistics"] = statistics
    return _decide(result, choice, threshold, threshold_source)


def _alpha(test: str, threshold: float) -> float:
    """The significance a p-value test reports at: the deciding test's threshold when that is a p-value."""
    return threshold if TESTS[test].is_p_value else 0.05


def _decide(result: dict[str, Any], choice: Any, threshold: float, threshold_source: str) -> dict[str, Any]:
    spec = TESTS[choice.name]
    score = spec.score(result["statistics"])
    result["test"] = {
        "name": spec.name,
        "label": spec.label,
        "reason": choice.reason,
        "selection_source": choice.source,
        "score_name": spec.score_name,
        "score": score,
        "threshold": threshold,
        "threshold_source": threshold_source,
        "rule": spec.rule,
    }
    result["drift_detected"] = None if score is None else spec.drifted(score, threshold)
    return result


def _bins_block(edges: np.ndarray, ref_counts: np.ndarray, cur_counts: np.ndarray) -> dict[str, Any]:
    return {
        "edges": floats(edges),
        "rule": _BIN_RULE,
        "reference_counts": ints(ref_counts),
        "current_counts": ints(cur_counts),
        "reference_shares": floats(stattests.shares(ref_counts)),
        "current_shares": floats(stattests.shares(cur_counts)),
    }


def _categories_block(
    labels: list[str], ref_counts: np.ndarray, cur_counts: np.ndarray, limit: int
) -> dict[str, Any]:
    """Counts and shares per category; beyond ``limit`` categories the smallest are pooled as 'other'."""
    ref_shares = stattests.shares(ref_counts)
    cur_shares = stattests.shares(cur_counts)
    keep = np.arange(len(labels))
    if len(labels) > limit:
        keep = np.sort(np.argsort(-(ref_counts + cur_counts), kind="stable")[:limit])
    rest = np.setdiff1d(np.arange(len(labels)), keep)
    return {
        "labels": [labels[i] for i in keep],
        "reference_counts": ints(ref_counts[keep]),
        "current_counts": ints(cur_counts[keep]),
        "reference_shares": floats(ref_shares[keep]),
        "current_shares": floats(cur_shares[keep]),
        "other": {
            "categories": int(rest.size),
            "reference_count": int(ref_counts[rest].sum()),
            "current_count": int(cur_counts[rest].sum()),
        },
    }


def _common_dtype(reference: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if reference.dtype == current.dtype:
        return reference, current
    return reference.astype(np.float64, copy=False), current.astype(np.float64, copy=False)


def _distinct_value_counts(
    reference: np.ndarray, current: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct values of two sorted samples (few of them) and each sample's count of every value."""
    values = np.union1d(_sorted_unique(reference), _sorted_unique(current))
    return values, _counts_at(reference, values), _counts_at(current, values)


def _sorted_unique(ordered: np.ndarray) -> np.ndarray:
    starts = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    return ordered[starts]


def _counts_at(ordered: np.ndarray, values: np.ndarray) -> np.ndarray:
    return (
        np.searchsorted(ordered, values, side="right") - np.searchsorted(ordered, values, side="left")
    ).astype(np.int64)


def _summary(results: list[dict[str, Any]], config: DriftConfig) -> dict[str, Any]:
    tested = [r for r in results if r["status"] == "tested" and r["drift_detected"] is not None]
    drifted = [r["column"] for r in tested if r["drift_detected"]]
    share = len(drifted) / len(tested) if tested else None
    return {
        "columns": len(results),
        "tested_columns": len(tested),
        "not_tested_columns": [r["column"] for r in results if r["status"] != "tested"],
        "drifted_columns": drifted,
        "number_of_drifted_columns": len(drifted),
        "share_of_drifted_columns": share,
        "drift_share": config.drift_share,
        "drift_share_source": EVIDENTLY_SOURCE
        if config.drift_share == DriftConfig.drift_share
        else "configured",
        "dataset_drift": None if share is None else share >= config.drift_share,
        "rule": "share_of_drifted_columns >= drift_share (untested columns left out)",
    }


def _psi_bands(results: list[dict[str, Any]]) -> dict[str, list[str]]:
    bands: dict[str, list[str]] = {"stable": [], "moderate": [], "significant": []}
    for result in results:
        psi = result["statistics"].get("psi")
        if psi is not None:
            bands[psi["band"]].append(result["column"])
    return bands
