"""Model performance: binary classification and regression metrics, as scikit-learn computes them.

One sort of the scores gives the ROC curve, the AUC (trapezoids, as ``roc_auc_score``), the credit-scoring
KS and the points for a chart; everything else comes from the four confusion counts. Undefined values (an
AUC with one class, a precision with no predicted positives) are None with a reason, where scikit-learn
would return 0 or NaN with a warning.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._values import binary_labels, finite_or_none, floats, format_label, ints
from .errors import EmptyDataError, InvalidInputError

ROC_POINTS = 200
CALIBRATION_BINS = 10


def binary_classification_report(
    y_true: Sequence[Any] | np.ndarray,
    scores: Sequence[float] | np.ndarray | None = None,
    y_pred: Sequence[Any] | np.ndarray | None = None,
    *,
    pos_label: Any = 1,
    threshold: float = 0.5,
    roc_points: int = ROC_POINTS,
    calibration_bins: int = CALIBRATION_BINS,
) -> dict[str, Any]:
    """Accuracy, precision, recall, F1, confusion matrix; with scores also ROC AUC, Gini, KS, Brier score,
    a calibration table and at most ``roc_points`` ROC points.

    ``y_pred`` defaults to ``scores >= threshold``. Guarantees: JSON-safe; numbers equal scikit-learn's
    (``accuracy_score``, ``precision_score``, ``recall_score``, ``f1_score``, ``confusion_matrix`` with
    labels [negative, positive], ``roc_auc_score``, ``brier_score_loss``) where those are defined.
    """
    truth = binary_labels(y_true, pos_label, "y_true")
    score_values = None if scores is None else _finite(scores, "scores", truth.shape[0])
    if y_pred is None:
        if score_values is None:
            raise InvalidInputError("Pass y_pred, scores, or both")
        predicted = score_values >= threshold
    else:
        predicted = binary_labels(y_pred, pos_label, "y_pred")
        if predicted.shape != truth.shape:
            raise InvalidInputError(f"y_pred has {predicted.shape[0]} rows but y_true has {truth.shape[0]}")
    report: dict[str, Any] = {
        "kind": "binary_classification",
        "rows": int(truth.shape[0]),
        "positive_label": format_label(pos_label),
        "threshold": threshold if y_pred is None else None,
    }
    report |= _label_metrics(truth, predicted)
    if score_values is not None:
        report |= _score_metrics(truth, score_values, roc_points, calibration_bins)
    return report


def regression_report(
    y_true: Sequence[float] | np.ndarray, y_pred: Sequence[float] | np.ndarray
) -> dict[str, Any]:
    """MAE, RMSE and R², as ``mean_absolute_error``, ``root_mean_squared_error`` and ``r2_score``.

    R² is None (with the reason) when y_true is constant; scikit-learn returns 0.0 or 1.0 there.
    """
    truth = _finite(y_true, "y_true", None)
    predicted = _finite(y_pred, "y_pred", truth.shape[0])
    errors = truth - predicted
    residual = float(np.sum(errors**2))
    total = float(np.sum((truth - np.average(truth)) ** 2))
    r2 = None if total == 0 else 1.0 - residual / total
    return {
        "kind": "regression",
        "rows": int(truth.shape[0]),
        "mae": float(np.average(np.abs(errors))),
        "rmse": math.sqrt(float(np.average(errors**2))),
        "r2": finite_or_none(r2),
        "r2_reason": "y_true is constant, so R² is undefined" if r2 is None else None,
    }


def roc_curve(truth: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds) at every distinct score, highest first, starting at (0, 0), as scikit-learn's
    ``roc_curve(drop_intermediate=False)``; needs both classes present."""
    order = np.argsort(scores, kind="mergesort")[::-1]
    ordered_scores = scores[order]
    ordered_truth = truth[order]
    distinct = np.flatnonzero(np.diff(ordered_scores))
    ends = np.r_[distinct, ordered_truth.size - 1]
    true_positives = np.cumsum(ordered_truth, dtype=np.float64)[ends]
    false_positives = 1 + ends - true_positives
    tpr = np.r_[0.0, true_positives] / true_positives[-1]
    fpr = np.r_[0.0, false_positives] / false_positives[-1]
    thresholds = np.r_[np.inf, ordered_scores[ends]]
    return fpr, tpr, thresholds


def roc_auc(truth: np.ndarray, scores: np.ndarray) -> tuple[float | None, str | None]:
    """Area under the ROC curve (trapezoids) and None with a reason when only one class is present."""
    reason = _one_class_reason(truth)
    if reason:
        return None, reason
    fpr, tpr, _ = roc_curve(truth, scores)
    return float(np.trapezoid(tpr, fpr)), None


def _one_class_reason(truth: np.ndarray) -> str | None:
    positives = int(truth.sum())
    if truth.size == 0:
        return "no rows"
    if positives == 0:
        return "y_true has no positives, so the ROC curve is undefined"
    if positives == truth.size:
        return "y_true has no negatives, so the ROC curve is undefined"
    return None


def _label_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    tp = int(np.count_nonzero(truth & predicted))
    fp = int(np.count_nonzero(~truth & predicted))
    fn = int(np.count_nonzero(truth & ~predicted))
    tn = int(truth.size - tp - fp - fn)
    precision = _divide(tp, tp + fp)
    recall = _divide(tp, tp + fn)
    f1 = _divide(2 * tp, 2 * tp + fp + fn)
    undefined = {}
    if precision is None:
        undefined["precision"] = "no predicted positives"
    if recall is None:
        undefined["recall"] = "no actual positives"
    if f1 is None:
        undefined["f1"] = "no actual or predicted positives"
    return {
        "accuracy": (tp + tn) / truth.size,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "confusion_matrix": {"labels": ["negative", "positive"], "matrix": [[tn, fp], [fn, tp]]},
        "undefined": undefined,
    }


def _score_metrics(
    truth: np.ndarray, scores: np.ndarray, roc_points: int, calibration_bins: int
) -> dict[str, Any]:
    reason = _one_class_reason(truth)
    out: dict[str, Any] = {
        "roc_auc": None,
        "gini": None,
        "ks": None,
        "roc_curve": None,
        "ranking_reason": reason,
    }
    if reason is None:
        fpr, tpr, thresholds = roc_curve(truth, scores)
        auc = float(np.trapezoid(tpr, fpr))
        gap = tpr - fpr
        best = int(np.argmax(np.abs(gap)))
        out |= {
            "roc_auc": auc,
            "gini": 2.0 * auc - 1.0,
            "ks": {"statistic": float(abs(gap[best])), "at_score": finite_or_none(thresholds[best])},
            "roc_curve": _downsample_curve(fpr, tpr, thresholds, roc_points),
        }
    probabilities = bool(scores.min() >= 0.0 and scores.max() <= 1.0)
    out["brier_score"] = float(np.average((truth - scores) ** 2)) if probabilities else None
    out["brier_reason"] = (
        None if probabilities else "scores are not within [0, 1], so they are not probabilities"
    )
    out["calibration"] = _calibration(truth, scores, calibration_bins)
    return out


def _downsample_curve(fpr: np.ndarray, tpr: np.ndarray, thresholds: np.ndarray, limit: int) -> dict[str, Any]:
    """At most ``limit`` points, evenly spaced along the curve, always keeping both ends."""
    keep = np.arange(fpr.size)
    if fpr.size > limit:
        keep = np.unique(np.linspace(0, fpr.size - 1, limit).round().astype(np.intp))
    return {
        "fpr": floats(fpr[keep]),
        "tpr": floats(tpr[keep]),
        "thresholds": floats(thresholds[keep]),
        "points_in_full_curve": int(fpr.size),
    }


def _calibration(truth: np.ndarray, scores: np.ndarray, bins: int) -> dict[str, Any]:
    """Score deciles (edges = np.quantile, duplicates dropped, a score equal to an edge goes above)."""
    edges = np.unique(np.quantile(scores, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    index = np.searchsorted(edges, scores, side="right")
    size = edges.size + 1
    counts = np.bincount(index, minlength=size)
    score_sums = np.bincount(index, weights=scores, minlength=size)
    positives = np.bincount(index, weights=truth.astype(np.float64), minlength=size)
    present = counts > 0
    return {
        "edges": floats(edges),
        "count": ints(counts[present]),
        "mean_predicted": floats(score_sums[present] / counts[present]),
        "observed_rate": floats(positives[present] / counts[present]),
    }


def _divide(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


def _finite(values: Any, name: str, rows: int | None) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise InvalidInputError(f"{name} must be 1-D, got shape {array.shape}")
    if array.size == 0:
        raise EmptyDataError(f"{name} is empty")
    if rows is not None and array.size != rows:
        raise InvalidInputError(f"{name} has {array.size} rows but y_true has {rows}")
    if not np.isfinite(array).all():
        raise InvalidInputError(f"{name} has {int((~np.isfinite(array)).sum())} missing or infinite values")
    return array
