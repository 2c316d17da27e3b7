"""SHAP explanations of a fitted model: global importance, per-feature summaries, local explanations.

The explainer follows the model: ``shap.TreeExplainer`` for tree ensembles (scikit-learn trees, forests and
boosting, XGBoost, LightGBM, CatBoost), ``shap.LinearExplainer`` for scikit-learn linear models, and the
sampled model-agnostic ``shap.explainers.Permutation`` for anything else. Rows are a seeded sample whose size
comes from ``max_rows`` and, when a time budget is given, from the per-row cost measured on a first chunk.
The SHAP values are shap's own (nothing is recomputed), so the overhead over calling shap directly is the
summaries and an additivity check on at most ``additivity_rows`` rows.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._kernels import column_summaries
from ._values import finite_or_none, floats
from .categorical import numeric_view
from .errors import EmptyDataError, InvalidInputError

ADDITIVITY_TOLERANCE = 1e-4  # relative to max(1, |output|); shap's own check allows 1e-2
TREE_MODULES = ("xgboost", "lightgbm", "catboost", "sklearn.tree", "sklearn.ensemble")
TREE_NAMES = ("Tree", "Forest", "Boosting", "Trees")
EXPLAINERS = ("auto", "tree", "linear", "permutation")
PROGRESS_BATCHES = 20  # with a progress callback, rows go to shap in about this many batches


@dataclass
class _Explainer:
    """A shap explainer with what the result must say about it and how to get the explained output."""

    name: str
    reason: str
    explain: Callable[[pd.DataFrame], tuple[np.ndarray, Any]]
    output: Callable[[pd.DataFrame], np.ndarray]
    output_space: str
    background_rows: int | None
    first_chunk: int = 64  # rows in the chunk that measures the per-row cost


def explain_model(
    model: Any,
    X: pd.DataFrame,
    *,
    background: pd.DataFrame | None = None,
    max_rows: int | None = 1000,
    time_budget_s: float | None = 60.0,
    background_size: int = 100,
    local_rows: int = 5,
    beeswarm_points: int = 200,
    class_index: int | None = None,
    additivity_rows: int = 1000,
    seed: int = 0,
    explainer: str = "auto",
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Explain ``model`` on a seeded sample of the rows of ``X`` and summarise the SHAP values.

    ``progress(rows_done, rows_to_explain)`` is called after each batch of rows (about ``PROGRESS_BATCHES``
    of them); batches go to shap in row order, so the SHAP values are those of one call on all the rows.

    Guarantees: JSON-safe; SHAP values equal shap's for the same explainer and rows; rows are a seeded
    random sample (all rows, in order, when they fit); at most ``max_rows`` rows, and when
    ``time_budget_s`` is set, as many as the per-row cost measured on a first chunk allows;
    the additivity check reports ``max |base + sum(SHAP) - model output|`` in the explained output space.
    """
    frame = _frame(X)
    if explainer not in EXPLAINERS:
        raise InvalidInputError(f"explainer must be one of {EXPLAINERS}, not {explainer!r}")
    rng = np.random.default_rng(seed)
    # Text/categorical inputs are explained through integer codes (see monitoring.metrics.categorical).
    coded, background, model, coded_columns = numeric_view(frame, background, model)
    chosen = _build_explainer(model, coded, background, background_size, explainer, rng)
    values, base, rows, timing = _explain_rows(chosen, coded, max_rows, time_budget_s, rng, progress)
    values, base, output_note = _single_output(values, base, class_index)
    stats = column_summaries(values)
    shap_version = __import__("shap").__version__
    return {
        "kind": "explainability",
        "explainer": chosen.name,
        "explainer_reason": chosen.reason,
        "output": f"{chosen.output_space}{output_note}",
        "shap_version": shap_version,
        "seed": seed,
        "background_rows": chosen.background_rows,
        "rows_available": len(frame),
        "rows_explained": len(rows),
        "base_value": finite_or_none(np.mean(base)),
        "global_importance": _global_importance(frame.columns, stats),
        "features": _feature_summaries(frame, rows, values, stats, beeswarm_points, rng),
        "local": _local_explanations(frame, rows, values, base, local_rows, rng),
        "additivity": _additivity(chosen, coded.iloc[rows[:additivity_rows]], values, base, class_index),
        "categorical_columns": coded_columns,
        "timing": timing,
    }


def _frame(X: Any) -> pd.DataFrame:
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise EmptyDataError("Nothing to explain: X has no rows or no columns")
    return frame


def _build_explainer(
    model: Any,
    frame: pd.DataFrame,
    background: pd.DataFrame | None,
    size: int,
    kind: str,
    rng: np.random.Generator,
) -> _Explainer:
    import shap

    detected, reason = _detect(model)
    kind = detected if kind == "auto" else kind
    reason = reason if kind == detected else f"requested explainer={kind!r}"
    if kind == "tree":
        try:
            return _tree_explainer(shap, model, reason)
        except Exception as exc:  # shap raises bare Exceptions for unsupported trees
            reason = f"TreeExplainer refused the model ({exc}); fell back to the permutation explainer"
            kind = "permutation"
    sample = _background(frame, background, size, rng)
    if kind == "linear":
        return _linear_explainer(shap, model, sample, reason)
    return _permutation_explainer(shap, model, sample, reason)


def _detect(model: Any) -> tuple[str, str]:
    cls = type(model)
    module, name = cls.__module__, cls.__name__
    if module.startswith(TREE_MODULES) and (
        not module.startswith("sklearn") or any(t in name for t in TREE_NAMES)
    ):
        return "tree", f"{name} is a tree model, so exact TreeSHAP applies"
    if module.startswith("sklearn.linear_model") and hasattr(model, "coef_"):
        return "linear", f"{name} is a linear model, so exact linear SHAP applies"
    return (
        "permutation",
        f"{name} is neither a tree nor a linear model, so the model-agnostic explainer is used",
    )


def _tree_explainer(shap: Any, model: Any, reason: str) -> _Explainer:
    explainer = shap.TreeExplainer(model)

    def explain(rows: pd.DataFrame) -> tuple[np.ndarray, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # LightGBM's notice that its output format changed
            values = np.asarray(explainer.shap_values(rows, check_additivity=False))
        return values, _per_row(explainer.expected_value, values)

    return _Explainer(
        "TreeExplainer", reason, explain, lambda rows: _tree_output(explainer, rows), "raw model output", None
    )


def _tree_output(explainer: Any, rows: pd.DataFrame) -> np.ndarray:
    """The raw output TreeSHAP explains (margins / log-odds for boosting, probabilities for forests)."""
    ensemble = explainer.model
    if ensemble.model_type == "xgboost":
        import xgboost

        return np.asarray(ensemble.original_model.predict(xgboost.DMatrix(rows), output_margin=True))
    if ensemble.model_type == "lightgbm":
        return np.asarray(ensemble.original_model.predict(rows, raw_score=True))
    return np.asarray(ensemble.predict(rows.to_numpy(dtype=np.float64)))


def _linear_explainer(shap: Any, model: Any, background: pd.DataFrame, reason: str) -> _Explainer:
    explainer = shap.LinearExplainer(model, background)

    def explain(rows: pd.DataFrame) -> tuple[np.ndarray, Any]:
        values = np.asarray(explainer.shap_values(rows))
        return values, _per_row(explainer.expected_value, values)

    space = (
        "decision function (log-odds for logistic models)"
        if hasattr(model, "decision_function")
        else "prediction"
    )
    return _Explainer(
        "LinearExplainer", reason, explain, lambda rows: _linear_output(model, rows), space, len(background)
    )


def _linear_output(model: Any, rows: pd.DataFrame) -> np.ndarray:
    """``X @ coef.T + intercept``: what a linear model's decision function / prediction computes, without
    scikit-learn's input validation (which costs more than the whole explanation for small inputs)."""
    coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))
    output = rows.to_numpy(dtype=np.float64) @ coef.T + np.asarray(model.intercept_, dtype=np.float64)
    return output[:, 0] if output.shape[1] == 1 else output


def _permutation_explainer(shap: Any, model: Any, background: pd.DataFrame, reason: str) -> _Explainer:
    predict = _prediction_function(model)
    explainer = shap.explainers.Permutation(predict, shap.maskers.Independent(background), seed=0)

    def explain(rows: pd.DataFrame) -> tuple[np.ndarray, Any]:
        explanation = explainer(rows, silent=True)
        values = np.asarray(explanation.values)
        return values, _per_row(explanation.base_values, values)

    space = "positive-class probability" if hasattr(model, "predict_proba") else "prediction"
    # Each row costs hundreds of model calls here, so the cost is measured on one row, not 64.
    return _Explainer("PermutationExplainer", reason, explain, predict, space, len(background), first_chunk=1)


def _prediction_function(model: Any) -> Callable[[Any], np.ndarray]:
    if hasattr(model, "predict_proba"):
        return lambda rows: np.asarray(model.predict_proba(rows))[:, -1]
    if hasattr(model, "predict"):
        return lambda rows: np.asarray(model.predict(rows))
    if callable(model):
        return lambda rows: np.asarray(model(rows))
    raise InvalidInputError(f"{type(model).__name__} has no predict_proba or predict to explain")


def _background(
    frame: pd.DataFrame, background: pd.DataFrame | None, size: int, rng: np.random.Generator
) -> pd.DataFrame:
    source = frame if background is None else _frame(background)
    if len(source) <= size:
        return source
    return source.iloc[np.sort(rng.choice(len(source), size=size, replace=False))]


def _explain_rows(
    chosen: _Explainer,
    frame: pd.DataFrame,
    max_rows: int | None,
    budget: float | None,
    rng: np.random.Generator,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """SHAP values for a seeded sample of rows, in chunks that grow while the time budget allows.

    Without a budget all ``max_rows`` rows go to shap in one call (in their original order when that is
    every row), or, to report progress, in consecutive batches of those rows in the same order: the same
    values (the permutation explainer draws from one seeded generator row after row either way). With a
    budget, a first small chunk measures the per-row cost and each next chunk is as large as the remaining
    budget (kept 10 % short) affords, and no larger than a progress batch when progress is reported.
    """
    target = len(frame) if max_rows is None else min(max_rows, len(frame))
    batch = max(1, math.ceil(target / PROGRESS_BATCHES)) if progress is not None else target
    started = time.perf_counter()
    if budget is None:
        rows = (
            np.arange(len(frame)) if target == len(frame) else np.sort(rng.permutation(len(frame))[:target])
        )
        if progress is None:
            values, base = chosen.explain(frame if target == len(frame) else frame.iloc[rows])
        else:
            parts = []
            for start in range(0, len(rows), batch):
                parts.append(chosen.explain(frame.iloc[rows[start : start + batch]]))
                progress(min(start + batch, len(rows)), len(rows))
            values = np.concatenate([part[0] for part in parts])
            base = np.concatenate([part[1] for part in parts])
        return values, base, rows, _timing(time.perf_counter() - started, len(rows), budget, limited=False)
    order = rng.permutation(len(frame))
    chunk = min(target, chosen.first_chunk, batch)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    done = 0
    while chunk > 0:
        rows = np.sort(order[done : done + chunk])
        values, base = chosen.explain(frame.iloc[rows])
        parts.append((rows, values, base))
        done += chunk
        if progress is not None:
            progress(done, target)
        elapsed = time.perf_counter() - started
        affordable = int(max(0.0, budget * 0.9 - elapsed) / (elapsed / done))
        chunk = min(target - done, affordable, batch)
    # Chunk boundaries depend on timing; sorting makes the result depend only on which rows were explained.
    rows = np.concatenate([p[0] for p in parts])
    by_row = np.argsort(rows)
    rows = rows[by_row]
    values = np.concatenate([p[1] for p in parts])[by_row]
    base = np.concatenate([p[2] for p in parts])[by_row]
    elapsed = time.perf_counter() - started
    return values, base, rows, _timing(elapsed, len(rows), budget, limited=done < target)


def _per_row(base: Any, values: np.ndarray) -> np.ndarray:
    """Base values as ``(rows,)`` or ``(rows, outputs)`` whatever shape the explainer gave them."""
    array = np.asarray(base, dtype=np.float64)
    shape = (values.shape[0], *values.shape[2:])
    if array.shape == shape:
        return array
    if array.size == 1:
        return np.full(shape, float(array.reshape(-1)[0]))
    return np.broadcast_to(array, shape).copy()


def _timing(elapsed: float, rows: int, budget: float | None, *, limited: bool) -> dict[str, Any]:
    return {
        "seconds": elapsed,
        "seconds_per_row": elapsed / rows,
        "time_budget_s": budget,
        "limited_by_budget": limited,
        "note": "the only machine-dependent part: with limited_by_budget false the result is reproducible",
    }


def _single_output(
    values: np.ndarray, base: np.ndarray, class_index: int | None
) -> tuple[np.ndarray, np.ndarray, str]:
    """Reduce multi-output SHAP values ``(rows, features, outputs)`` to one output (class 1 of 2 by default)."""
    if values.ndim == 2:
        return values, base, ""
    outputs = values.shape[2]
    index = class_index if class_index is not None else (1 if outputs == 2 else 0)
    if not 0 <= index < outputs:
        raise InvalidInputError(f"class_index {index} is out of range for a model with {outputs} outputs")
    return values[:, :, index], base[:, index], f", output {index} of {outputs}"


def _global_importance(columns: pd.Index, stats: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    importance = stats["mean_abs"]
    order = np.argsort(-importance, kind="stable")
    return [{"feature": str(columns[i]), "mean_abs_shap": finite_or_none(importance[i])} for i in order]


def _feature_summaries(
    frame: pd.DataFrame,
    rows: np.ndarray,
    values: np.ndarray,
    stats: dict[str, np.ndarray],
    points: int,
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """Per feature: mean, mean |SHAP|, min, max, and (feature value, SHAP value) pairs for a beeswarm."""
    chosen = np.sort(rng.choice(len(values), size=min(points, len(values)), replace=False))
    sample = _sample_columns(frame.iloc[rows[chosen]])
    means, mean_abs, lows, highs = stats["mean"], stats["mean_abs"], stats["min"], stats["max"]
    summaries = []
    for position, column in enumerate(frame.columns):
        feature_values = sample[position]
        shap_values = floats(values[chosen, position])
        summaries.append(
            {
                "feature": str(column),
                "mean_shap": finite_or_none(means[position]),
                "mean_abs_shap": finite_or_none(mean_abs[position]),
                "min_shap": finite_or_none(lows[position]),
                "max_shap": finite_or_none(highs[position]),
                "sample": [list(pair) for pair in zip(feature_values, shap_values, strict=True)],
            }
        )
    return summaries


def _sample_columns(sample: pd.DataFrame) -> list[list[float | str | None]]:
    """Each column of a small frame as JSON values; all-numeric frames go through NumPy in one step."""
    numeric = all(
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        for dtype in sample.dtypes
    )
    if numeric:
        matrix = sample.to_numpy(dtype=np.float64, na_value=np.nan)
        return [floats(matrix[:, position]) for position in range(matrix.shape[1])]
    return [_json_values(sample.iloc[:, position]) for position in range(sample.shape[1])]


def _json_values(column: pd.Series) -> list[float | str | None]:
    """Feature values as JSON: numbers as floats (None for NaN/inf), anything else as text (None if missing)."""
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        return floats(column.to_numpy(dtype=np.float64, na_value=np.nan))
    return [_feature_value(v) for v in column.tolist()]


def _feature_value(value: Any) -> float | str | None:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return finite_or_none(value)
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value)


def _local_explanations(
    frame: pd.DataFrame,
    rows: np.ndarray,
    values: np.ndarray,
    base: np.ndarray,
    count: int,
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """A seeded handful of rows: base value, output and every feature's value and SHAP value, largest first."""
    picks = np.sort(rng.choice(len(values), size=min(count, len(values)), replace=False))
    explained = frame.iloc[rows[picks]]
    feature_values = _sample_columns(explained)
    names = [str(column) for column in frame.columns]
    out = []
    for position, row in enumerate(picks):
        contributions = values[row]
        order = np.argsort(-np.abs(contributions), kind="stable")
        out.append(
            {
                "row": _feature_value(explained.index[position]),
                "base_value": finite_or_none(base[row]),
                "output": finite_or_none(base[row] + contributions.sum()),
                "contributions": [
                    {
                        "feature": names[i],
                        "value": feature_values[i][position],
                        "shap": finite_or_none(contributions[i]),
                    }
                    for i in order
                ],
            }
        )
    return out


def _additivity(
    chosen: _Explainer, checked: pd.DataFrame, values: np.ndarray, base: np.ndarray, class_index: int | None
) -> dict[str, Any]:
    """max |base + sum(SHAP) - output| over ``checked``, the first explained rows."""
    rows = len(checked)
    output = np.asarray(chosen.output(checked), dtype=np.float64)
    if output.ndim == 2:
        index = class_index if class_index is not None else (1 if output.shape[1] == 2 else 0)
        output = output[:, index]
    deviation = np.abs(base[:rows] + values[:rows].sum(axis=1) - output)
    worst = float(deviation.max())
    scale = max(1.0, float(np.abs(output).max()))
    return {
        "rows_checked": rows,
        "max_abs_deviation": finite_or_none(worst),
        "tolerance": ADDITIVITY_TOLERANCE * scale,
        "holds": bool(worst <= ADDITIVITY_TOLERANCE * scale),
        "note": "float32 tree libraries (XGBoost, LightGBM) typically deviate by about 1e-6",
    }
