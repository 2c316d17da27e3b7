"""Group fairness of a binary classifier: per-group rates and the usual disparity aggregates.

Every number derives from one confusion table per group. The rows' group codes (one per sensitive column,
combined into the intersection by mixed-radix arithmetic) and their (y_true, y_pred) cell go through a single
``np.bincount``; the tables of each sensitive column alone are sums over that finest table. Conventions are
fairlearn's (``MetricFrame.difference()`` = max - min across groups, ``.ratio()`` = min / max; equalized
odds = the larger TPR/FPR difference, the smaller ratio), and the values are bit-identical to fairlearn's
where both are defined. Where fairlearn reports 0 for an undefined rate (a TPR with no actual positives),
this module reports None with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._values import binary_labels, finite_or_none, format_label
from .errors import InvalidInputError

CONVENTION = (
    "fairlearn: difference = max - min across groups, ratio = min / max; equalized odds difference = the "
    "larger of the TPR and FPR differences, equalized odds ratio = the smaller of the two ratios; equal "
    "opportunity difference = TPR difference; disparate impact = a group's selection rate / the highest "
    "group selection rate (most favoured group); four-fifths rule flags disparate impact < 0.8"
)
FOUR_FIFTHS = 0.8
MAX_CELLS = 50_000_000  # beyond this many intersection cells the groups are compacted first

# cell index = 2 * y_true + y_pred
TN, FP, FN, TP = 0, 1, 2, 3

METRICS: dict[str, tuple[tuple[int, ...], tuple[int, ...], str]] = {
    # name: (numerator cells, denominator cells, reason when the denominator is zero)
    "selection_rate": ((FP, TP), (TN, FP, FN, TP), "the group is empty"),
    "true_positive_rate": ((TP,), (TP, FN), "no actual positives in the group"),
    "false_positive_rate": ((FP,), (FP, TN), "no actual negatives in the group"),
    "false_negative_rate": ((FN,), (TP, FN), "no actual positives in the group"),
    "precision": ((TP,), (TP, FP), "no predicted positives in the group"),
    "accuracy": ((TP, TN), (TN, FP, FN, TP), "the group is empty"),
    "base_rate": ((TP, FN), (TN, FP, FN, TP), "the group is empty"),
}


def fairness_report(
    y_true: Sequence[Any] | np.ndarray | pd.Series,
    y_pred: Sequence[Any] | np.ndarray | pd.Series,
    sensitive_features: pd.DataFrame | pd.Series | Mapping[str, Any] | np.ndarray,
    *,
    scores: Sequence[float] | np.ndarray | pd.Series | None = None,
    pos_label: Any = 1,
    min_group_size: int = 30,
    bootstrap: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Per-group rates and disparity aggregates for each sensitive column and for their intersection.

    Guarantees: JSON-safe output; every group present in the data is reported, but only groups with at
    least ``min_group_size`` rows are judged (enter the aggregates); an undefined rate is None with a
    reason; ``bootstrap > 0`` adds percentile confidence intervals from that many seeded replicates
    (resampling rows is the same as drawing the cell counts from a multinomial, which is what is done).
    Raises InvalidInputError for labels that are not binary or inputs of different lengths.
    """
    truth, predicted = _binary_labels(y_true, y_pred, pos_label)
    features = _feature_frame(sensitive_features, len(truth))
    _check_settings(min_group_size, bootstrap, confidence)
    codes, sizes, labels = _codes(features)
    cells = _finest_cells(codes, sizes, truth, predicted)
    replicates = _bootstrap_cells(cells, bootstrap, seed)
    names = list(features.columns)
    groupings = [[name] for name in names] + ([names] if len(names) > 1 else [])
    score_values = None if scores is None else _scores(scores, len(truth))
    return {
        "kind": "fairness",
        "rows": len(truth),
        "positive_label": format_label(pos_label),
        "min_group_size": min_group_size,
        "convention": CONVENTION,
        "groupings": [
            _grouping(grouping, names, cells, replicates, labels, min_group_size, confidence)
            | _score_block(grouping, names, codes, sizes, labels, truth, score_values)
            for grouping in groupings
        ],
        "bootstrap": _bootstrap_description(bootstrap, confidence, seed),
    }


def _binary_labels(y_true: Any, y_pred: Any, pos_label: Any) -> tuple[np.ndarray, np.ndarray]:
    truth = binary_labels(y_true, pos_label, "y_true")
    predicted = binary_labels(y_pred, pos_label, "y_pred")
    if truth.shape != predicted.shape:
        raise InvalidInputError(f"y_true has {truth.shape[0]} rows but y_pred has {predicted.shape[0]}")
    return truth, predicted


def _feature_frame(sensitive: Any, rows: int) -> pd.DataFrame:
    if isinstance(sensitive, pd.DataFrame):
        frame = sensitive.reset_index(drop=True)
    elif isinstance(sensitive, pd.Series):
        frame = sensitive.reset_index(drop=True).to_frame(sensitive.name or "sensitive")
    elif isinstance(sensitive, Mapping):
        frame = pd.DataFrame({name: np.asarray(values) for name, values in sensitive.items()})
    else:
        frame = pd.DataFrame({"sensitive": np.asarray(sensitive)})
    if frame.shape[1] == 0:
        raise InvalidInputError("At least one sensitive feature is needed")
    if len(frame) != rows:
        raise InvalidInputError(f"Sensitive features have {len(frame)} rows but the labels have {rows}")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _check_settings(min_group_size: int, bootstrap: int, confidence: float) -> None:
    if min_group_size < 0:
        raise InvalidInputError(f"min_group_size must not be negative, not {min_group_size!r}")
    if bootstrap < 0:
        raise InvalidInputError(f"bootstrap must not be negative, not {bootstrap!r}")
    if not 0.0 < confidence < 1.0:
        raise InvalidInputError(f"confidence must be in (0, 1), not {confidence!r}")


def _codes(features: pd.DataFrame) -> tuple[list[np.ndarray], list[int], list[list[str]]]:
    """Integer codes per sensitive column (sorted labels; a missing value is its own group 'missing')."""
    codes, sizes, labels = [], [], []
    for name in features.columns:
        column_codes, uniques = pd.factorize(features[name], sort=True, use_na_sentinel=True)
        column_labels = [format_label(u) for u in uniques]
        if (column_codes < 0).any():
            column_codes = np.where(column_codes < 0, len(column_labels), column_codes)
            column_labels.append("missing")
        codes.append(column_codes.astype(np.int64))
        sizes.append(len(column_labels))
        labels.append(column_labels)
    return codes, sizes, labels


def _finest_cells(
    codes: list[np.ndarray], sizes: list[int], truth: np.ndarray, predicted: np.ndarray
) -> np.ndarray:
    """Counts with shape ``(*sizes, 4)``: one bincount over intersection code x confusion cell."""
    total = int(np.prod(sizes)) * 4
    if total > MAX_CELLS:
        raise InvalidInputError(
            f"The sensitive features form {total // 4} possible intersections; "
            "pass fewer or coarser sensitive columns"
        )
    combined = codes[0]
    for column_codes, size in zip(codes[1:], sizes[1:], strict=True):
        combined = combined * size + column_codes
    cell = combined * 4 + truth.astype(np.int64) * 2 + predicted.astype(np.int64)
    return np.bincount(cell, minlength=total).reshape(*sizes, 4)


def _bootstrap_cells(cells: np.ndarray, replicates: int, seed: int) -> np.ndarray | None:
    if not replicates:
        return None
    flat = cells.reshape(-1)
    total = int(flat.sum())
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(total, flat / total, size=replicates)
    return draws.reshape(replicates, *cells.shape)


def _marginal(cells: np.ndarray, keep_axes: list[int], leading: int = 0) -> np.ndarray:
    """Sum the finest table over the sensitive columns not in ``keep_axes``; result ``(..., groups, 4)``."""
    n_features = cells.ndim - 1 - leading
    drop = tuple(leading + axis for axis in range(n_features) if axis not in keep_axes)
    reduced = cells.sum(axis=drop) if drop else cells
    return reduced.reshape(*reduced.shape[:leading], -1, 4)


def rates(cells: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric of :data:`METRICS` from confusion cells ``(..., 4)``; NaN where undefined."""
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, (numerator, denominator, _reason) in METRICS.items():
            num = cells[..., list(numerator)].sum(axis=-1)
            den = cells[..., list(denominator)].sum(axis=-1)
            out[name] = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
    return out


def _grouping(
    grouping: list[str],
    names: list[str],
    cells: np.ndarray,
    replicates: np.ndarray | None,
    labels: list[list[str]],
    min_group_size: int,
    confidence: float,
) -> dict[str, Any]:
    axes = [names.index(name) for name in grouping]
    group_cells = _marginal(cells, axes)
    present = np.flatnonzero(group_cells.sum(axis=-1) > 0)
    group_cells = group_cells[present]
    counts = group_cells.sum(axis=-1)
    judged = counts >= min_group_size
    values = rates(group_cells)
    aggregates = _aggregates(values, judged)
    groups = _group_entries(grouping, axes, labels, present, group_cells, values, judged, aggregates)
    if replicates is not None:
        replicate_values = rates(_marginal(replicates, axes, leading=1)[:, present])
        _add_intervals(groups, aggregates, replicate_values, judged, confidence)
    notes = [
        f"group {entry['label']!r} has {entry['count']} rows, fewer than the minimum {min_group_size}: "
        "reported but not judged"
        for entry in groups
        if not entry["judged"]
    ]
    return {"features": grouping, "groups": groups, "aggregates": aggregates, "notes": notes}


def _group_entries(
    grouping: list[str],
    axes: list[int],
    labels: list[list[str]],
    present: np.ndarray,
    group_cells: np.ndarray,
    values: dict[str, np.ndarray],
    judged: np.ndarray,
    aggregates: dict[str, Any],
) -> list[dict[str, Any]]:
    shape = [len(labels[axis]) for axis in axes]
    favoured = aggregates["disparate_impact"]["most_favoured_selection_rate"]
    entries = []
    for row, flat_index in enumerate(present):
        position = np.unravel_index(flat_index, shape)
        group = {name: labels[axis][int(i)] for name, axis, i in zip(grouping, axes, position, strict=True)}
        metrics, undefined = {}, {}
        for name, (_num, _den, reason) in METRICS.items():
            metrics[name] = finite_or_none(values[name][row])
            if metrics[name] is None:
                undefined[name] = reason
        selection = metrics["selection_rate"]
        impact = None if favoured in (None, 0) or selection is None else selection / favoured
        cell = group_cells[row]
        entries.append(
            {
                "group": group,
                "label": " & ".join(group.values()),
                "count": int(cell.sum()),
                "judged": bool(judged[row]),
                "confusion": {
                    "tn": int(cell[TN]),
                    "fp": int(cell[FP]),
                    "fn": int(cell[FN]),
                    "tp": int(cell[TP]),
                },
                "metrics": metrics,
                "undefined": undefined,
                "disparate_impact": impact,
                "four_fifths_flag": None if impact is None or not judged[row] else impact < FOUR_FIFTHS,
            }
        )
    return entries


def _spread(values: np.ndarray) -> tuple[float | None, float | None, str | None]:
    """(max - min, min / max) over defined values; None with a reason when fewer than two are defined."""
    defined = values[~np.isnan(values)]
    if defined.size < 2:
        return None, None, f"needs at least two judged groups with a defined value, found {defined.size}"
    high, low = float(defined.max()), float(defined.min())
    ratio = low / high if high > 0 else None
    return high - low, ratio, None if high > 0 else "every judged group has a value of 0, so no ratio"


def _aggregates(values: dict[str, np.ndarray], judged: np.ndarray) -> dict[str, Any]:
    selection = _spread(values["selection_rate"][judged])
    tpr = _spread(values["true_positive_rate"][judged])
    fpr = _spread(values["false_positive_rate"][judged])
    excluded = {
        name: int(np.isnan(values[name][judged]).sum())
        for name in ("selection_rate", "true_positive_rate", "false_positive_rate")
    }
    eo_difference = None if tpr[0] is None or fpr[0] is None else max(tpr[0], fpr[0])
    eo_ratio = None if tpr[1] is None or fpr[1] is None else min(tpr[1], fpr[1])
    eo_reason = tpr[2] or fpr[2]
    defined_selection = values["selection_rate"][judged]
    favoured = float(np.nanmax(defined_selection)) if np.isfinite(defined_selection).any() else None
    return {
        "demographic_parity_difference": _aggregate(selection[0], selection[2]),
        "demographic_parity_ratio": _aggregate(selection[1], selection[2]),
        "equalized_odds_difference": _aggregate(eo_difference, eo_reason),
        "equalized_odds_ratio": _aggregate(eo_ratio, eo_reason),
        "equal_opportunity_difference": _aggregate(tpr[0], tpr[2]),
        "equal_opportunity_ratio": _aggregate(tpr[1], tpr[2]),
        "disparate_impact": {
            "value": selection[1],
            "reason": selection[2],
            "most_favoured_selection_rate": favoured,
            "four_fifths_flag": None if selection[1] is None else selection[1] < FOUR_FIFTHS,
        },
        "judged_groups": int(judged.sum()),
        "groups_left_out_for_undefined_values": excluded,
    }


def _aggregate(value: float | None, reason: str | None) -> dict[str, Any]:
    return {"value": finite_or_none(value), "reason": None if value is not None else reason}


def _add_intervals(
    groups: list[dict[str, Any]],
    aggregates: dict[str, Any],
    replicate_values: dict[str, np.ndarray],
    judged: np.ndarray,
    confidence: float,
) -> None:
    tail = (1.0 - confidence) / 2.0 * 100.0
    for row, entry in enumerate(groups):
        entry["intervals"] = {
            name: _interval(replicate_values[name][:, row], tail) for name in METRICS if name != "base_rate"
        }
    for name, samples in _replicate_aggregates(replicate_values, judged).items():
        aggregates[name]["interval"] = _interval(samples, tail)


def _replicate_aggregates(values: dict[str, np.ndarray], judged: np.ndarray) -> dict[str, np.ndarray]:
    """The aggregates of every bootstrap replicate at once; NaN where a replicate leaves one undefined."""
    selection = _spreads(values["selection_rate"][:, judged])
    tpr = _spreads(values["true_positive_rate"][:, judged])
    fpr = _spreads(values["false_positive_rate"][:, judged])
    return {
        "demographic_parity_difference": selection[0],
        "demographic_parity_ratio": selection[1],
        # np.maximum / np.minimum propagate NaN, so an undefined part leaves the whole undefined
        "equalized_odds_difference": np.maximum(tpr[0], fpr[0]),
        "equalized_odds_ratio": np.minimum(tpr[1], fpr[1]),
        "equal_opportunity_difference": tpr[0],
        "equal_opportunity_ratio": tpr[1],
        "disparate_impact": selection[1],
    }


def _spreads(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise (max - min, min / max) over defined values of ``(replicates, groups)``; NaN if < 2 defined."""
    defined = ~np.isnan(values)
    enough = defined.sum(axis=1) >= 2
    high = np.where(defined, values, -np.inf).max(axis=1, initial=-np.inf)
    low = np.where(defined, values, np.inf).min(axis=1, initial=np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        difference = np.where(enough, high - low, np.nan)
        ratio = np.where(enough & (high > 0), low / np.where(high > 0, high, 1.0), np.nan)
    return difference, ratio


def _interval(samples: np.ndarray, tail: float) -> list[float] | None:
    defined = samples[~np.isnan(samples)]
    if defined.size == 0:
        return None
    low, high = np.percentile(defined, [tail, 100.0 - tail])
    return [float(low), float(high)]


def _bootstrap_description(replicates: int, confidence: float, seed: int) -> dict[str, Any] | None:
    if not replicates:
        return None
    return {
        "replicates": replicates,
        "confidence": confidence,
        "seed": seed,
        "method": "nonparametric row bootstrap, drawn as multinomial cell counts; percentile intervals "
        "over the replicates where the value is defined; judged groups fixed from the data",
    }


def _scores(scores: Any, rows: int) -> np.ndarray:
    values = np.asarray(scores, dtype=np.float64)
    if values.shape != (rows,):
        raise InvalidInputError(f"scores must have one value per row ({rows}), got shape {values.shape}")
    return values


def _score_block(
    grouping: list[str],
    names: list[str],
    codes: list[np.ndarray],
    sizes: list[int],
    labels: list[list[str]],
    truth: np.ndarray,
    scores: np.ndarray | None,
) -> dict[str, Any]:
    """Per-group mean score and ROC AUC (only when scores were given)."""
    if scores is None:
        return {}
    from .performance import roc_auc

    axes = [names.index(name) for name in grouping]
    combined = codes[axes[0]]
    for axis in axes[1:]:
        combined = combined * sizes[axis] + codes[axis]
    order = np.argsort(combined, kind="stable")
    boundaries = np.flatnonzero(np.diff(combined[order])) + 1
    blocks = []
    for rows in np.split(order, boundaries):
        position = np.unravel_index(int(combined[rows[0]]), [sizes[a] for a in axes])
        label = " & ".join(labels[a][int(i)] for a, i in zip(axes, position, strict=True))
        auc, reason = roc_auc(truth[rows], scores[rows])
        blocks.append(
            {
                "label": label,
                "mean_score": finite_or_none(np.nanmean(scores[rows])) if rows.size else None,
                "roc_auc": auc,
                "roc_auc_reason": reason,
            }
        )
    return {"scores": blocks}
