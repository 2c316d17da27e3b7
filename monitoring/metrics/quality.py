"""Data quality of a current dataset measured against the training/reference data.

Schema differences, missing-value changes, values outside the reference range and categories the reference
never saw, each reported as an issue with a severity (``error``, ``warning``, ``info``) and the numbers
behind it. The reference can be a DataFrame or an already built :class:`~.profile.ReferenceProfile`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._values import NUMERIC, category_counts, finite_or_none
from .errors import EmptyDataError
from .profile import ColumnProfile, ReferenceProfile, build_reference_profile

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class QualityThresholds:
    """When a finding becomes a warning or an error (shares are fractions of the current rows)."""

    missing_share_increase: float = 0.05  # warning when the missing share grows by more than this
    out_of_range_error_share: float = 0.05  # any value out of range is a warning; this share makes an error
    unseen_error_share: float = 0.05  # any unseen category is a warning; this share of rows makes an error


def data_quality_report(
    reference: pd.DataFrame | ReferenceProfile,
    current: pd.DataFrame,
    *,
    column_kinds: Mapping[str, str] | None = None,
    thresholds: QualityThresholds | None = None,
) -> dict[str, Any]:
    """Issues of ``current`` relative to ``reference``, most severe first, and a per-column table.

    Guarantees: JSON-safe; every reference column appears in ``columns``; a column missing from
    ``current`` is an error issue (not an exception); extra columns are info issues; an empty ``current``
    raises EmptyDataError.
    """
    thresholds = thresholds or QualityThresholds()
    profile = (
        reference
        if isinstance(reference, ReferenceProfile)
        else build_reference_profile(reference, column_kinds=column_kinds)
    )
    if len(current) == 0:
        raise EmptyDataError("The current dataset has no rows")
    issues: list[dict[str, Any]] = []
    columns = []
    for name, column in profile.columns.items():
        if name not in current.columns:
            issues.append(
                _issue("error", "missing_column", name, f"column {name!r} is missing from the current data")
            )
            columns.append({"column": name, "kind": column.kind, "present": False})
            continue
        entry, column_issues = _check_column(column, current[name], thresholds)
        columns.append(entry)
        issues.extend(column_issues)
    for name in current.columns:
        if name not in profile.columns:
            issues.append(
                _issue("info", "extra_column", str(name), f"column {name!r} is not in the reference")
            )
    issues.sort(key=lambda issue: SEVERITIES.index(issue["severity"]))
    return {
        "kind": "data_quality",
        "reference_rows": profile.rows,
        "current_rows": len(current),
        "issues": issues,
        "columns": columns,
        "summary": _summary(issues),
        "thresholds": asdict(thresholds),
    }


def _issue(severity: str, code: str, column: str, message: str, **details: Any) -> dict[str, Any]:
    return {"severity": severity, "code": code, "column": column, "message": message, **details}


def _summary(issues: list[dict[str, Any]]) -> dict[str, Any]:
    counts = {severity: sum(1 for i in issues if i["severity"] == severity) for severity in SEVERITIES}
    worst = next((severity for severity in SEVERITIES if counts[severity]), None)
    return {"errors": counts["error"], "warnings": counts["warning"], "infos": counts["info"], "worst": worst}


def _check_column(
    column: ColumnProfile, series: pd.Series, thresholds: QualityThresholds
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    name = column.name
    issues: list[dict[str, Any]] = []
    dtype = str(series.dtype)
    numeric_now = pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)
    if column.kind == NUMERIC and not numeric_now:
        issues.append(
            _issue(
                "error",
                "kind_changed",
                name,
                f"column {name!r} was numeric ({column.dtype}) and is now {dtype}",
            )
        )
        return {"column": name, "kind": column.kind, "present": True, "dtype": dtype}, issues
    if dtype != column.dtype:
        issues.append(
            _issue(
                "warning", "dtype_changed", name, f"dtype of {name!r} changed from {column.dtype} to {dtype}"
            )
        )
    if column.kind == NUMERIC:
        entry, value_issues = _numeric_checks(column, series, thresholds)
    else:
        entry, value_issues = _categorical_checks(column, series, thresholds)
    issues.extend(value_issues)
    issues.extend(_missing_checks(column, entry, thresholds))
    return entry | {"column": name, "kind": column.kind, "present": True, "dtype": dtype}, issues


def _missing_checks(
    column: ColumnProfile, entry: dict[str, Any], thresholds: QualityThresholds
) -> list[dict]:
    name = column.name
    before = column.missing / column.rows if column.rows else 0.0
    after = entry["current_missing_share"]
    entry["reference_missing_share"] = before
    if after == 1.0 and before < 1.0:
        return [_issue("error", "all_missing", name, f"every value of {name!r} is missing", share=after)]
    if after - before > thresholds.missing_share_increase:
        message = f"missing share of {name!r} rose from {before:.1%} to {after:.1%}"
        return [
            _issue("warning", "missing_share_increased", name, message, reference_share=before, share=after)
        ]
    return []


def _numeric_checks(
    column: ColumnProfile, series: pd.Series, thresholds: QualityThresholds
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    name = column.name
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    rows = values.shape[0]
    missing = int(np.isnan(values).sum())
    infinite = int(np.isinf(values).sum())
    entry: dict[str, Any] = {"current_missing_share": missing / rows, "current_infinite": infinite}
    issues = []
    if infinite:
        issues.append(_issue("warning", "infinite_values", name, f"{infinite} infinite value(s) in {name!r}"))
    if not column.valid:
        return entry, issues
    assert column.sorted_values is not None
    low, high = float(column.sorted_values[0]), float(column.sorted_values[-1])
    finite = values[np.isfinite(values)]
    below, above = int((finite < low).sum()), int((finite > high).sum())
    share = (below + above) / rows
    entry["out_of_range"] = {
        "reference_min": low,
        "reference_max": high,
        "current_min": finite_or_none(finite.min()) if finite.size else None,
        "current_max": finite_or_none(finite.max()) if finite.size else None,
        "below": below,
        "above": above,
        "share": share,
    }
    if below or above:
        severity = "error" if share >= thresholds.out_of_range_error_share else "warning"
        message = (
            f"{below + above} value(s) of {name!r} ({share:.2%}) outside the reference range [{low}, {high}]"
        )
        issues.append(_issue(severity, "out_of_range", name, message, below=below, above=above, share=share))
    return entry, issues


def _categorical_checks(
    column: ColumnProfile, series: pd.Series, thresholds: QualityThresholds
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    name = column.name
    labels, counts, missing = category_counts(series)
    rows = len(series)
    known = set(column.labels)
    unseen = {label: int(count) for label, count in zip(labels, counts, strict=True) if label not in known}
    unseen_rows = sum(unseen.values())
    share = unseen_rows / rows
    entry = {
        "current_missing_share": missing / rows,
        "unseen_categories": dict(sorted(unseen.items(), key=lambda item: -item[1])[:100]),
        "unseen_categories_count": len(unseen),
        "unseen_share": share,
    }
    issues = []
    if unseen:
        severity = "error" if share >= thresholds.unseen_error_share else "warning"
        message = f"{len(unseen)} categor{'y' if len(unseen) == 1 else 'ies'} of {name!r} unseen in the reference ({share:.2%} of rows)"
        issues.append(
            _issue(severity, "unseen_categories", name, message, categories=len(unseen), share=share)
        )
    return entry, issues
