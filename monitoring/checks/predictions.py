"""Labels and scores for checks that judge predictions: from a dataset column or the sandboxed model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from monitoring.checks.base import CheckContext, CheckInputError
from registry import labels


def _negative_label(truth: pd.Series, positive: Any) -> Any:
    others = [value for value in pd.unique(truth.dropna()) if value != positive]
    return others[0] if len(others) == 1 else f"not {positive}"


def _looks_like_scores(values: pd.Series) -> bool:
    """Numeric values that are not all 0/1 are scores; 0/1 (or text) are labels."""
    if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return False
    finite = values.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = finite[np.isfinite(finite)]
    return bool(finite.size) and not np.isin(finite, (0.0, 1.0)).all()


def _finite_scores(values: np.ndarray, where: str) -> np.ndarray:
    scores = np.asarray(values, dtype=np.float64)
    bad = int((~np.isfinite(scores)).sum())
    if bad:
        raise CheckInputError(f"{where} has {bad} missing or infinite score(s); scores must all be finite.")
    return scores


def scores_and_labels(
    ctx: CheckContext, frame: pd.DataFrame, truth: pd.Series
) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """(scores or None, predicted labels or None, description of where they came from).

    Scores are P(target = positive label): the model's are mapped through its classes in the sandbox; a
    score column holds P(``score_label``), turned into 1 - score when that is the other label of a binary
    target. Labels are None when scores are given: the metrics then threshold the scores themselves.
    """
    spec = ctx.config["predictions"]
    positive = ctx.config.get("positive_label")
    target = ctx.config["target"]
    threshold = spec["decision_threshold"]
    decided = f"; label = {positive} where P({target} = {positive}) >= {threshold}"
    if spec["source"] == "model":
        if ctx.score is None:
            raise CheckInputError("This check needs the model's scores but no sandbox is available.")
        scores = _finite_scores(ctx.score(frame), "The model's output")
        output = (ctx.diagnostics.get("sandbox") or {}).get("output") or "its output"
        if positive is None:
            return scores, None, f"scored by the model artifact in the sandbox: {output}"
        read = f"scored by the model artifact in the sandbox: {output}, read as P({target} = {positive})"
        return scores, None, read + decided
    column = spec["column"]
    values = frame[column]
    kind = spec["type"]
    if kind == "auto":
        kind = "score" if _looks_like_scores(values) else "label"
    if kind == "label":
        return None, values.to_numpy(), f"predicted labels from column {column!r}"
    scores = _finite_scores(values.to_numpy(dtype=np.float64, na_value=np.nan), f"Column {column!r}")
    if positive is None:
        return scores, None, f"values from column {column!r}"
    score_label = spec.get("score_label", positive)
    read = f"scores in column {column!r} read as P({target} = {score_label})"
    if labels.same_label(score_label, positive):
        return scores, None, read + decided
    _require_binary(truth, positive, score_label, column)
    return 1.0 - scores, None, f"{read}, so P({target} = {positive}) = 1 - score" + decided


def _require_binary(truth: pd.Series, positive: Any, score_label: Any, column: str) -> None:
    """1 - P(score label) is P(positive) only when the target holds no third label."""
    found = pd.unique(truth.dropna())
    strays = [
        value
        for value in found
        if not (labels.same_label(value, positive) or labels.same_label(value, score_label))
    ]
    if strays:
        raise CheckInputError(
            f"The scores in column {column!r} are P({score_label}) (config.score_label), which gives "
            f"P({positive}) = 1 - score only for a binary target; the target also holds "
            f"{labels.listing(strays)}."
        )


def labels_from_scores(scores: np.ndarray, threshold: float, truth: pd.Series, positive: Any) -> np.ndarray:
    """Predicted labels in the target's own vocabulary (positive where score >= threshold)."""
    negative = _negative_label(truth, positive)
    return np.where(scores >= threshold, np.array(positive, dtype=object), np.array(negative, dtype=object))
