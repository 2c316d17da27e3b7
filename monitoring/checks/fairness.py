"""Fairness check: group rates and disparities of a binary classifier across sensitive columns.

The positive label is the favourable outcome (``inputs.positive_label``: declared on the dataset or the
model, or requested): selection rates are the rates of that outcome, and scores are its probability.

Numbers come from ``monitoring.metrics.fairness`` (fairlearn's conventions). Each grouping (each
sensitive column, and their intersection) is judged on the demographic-parity ratio (four-fifths rule
by default) and, when a threshold is set, on the equalized-odds difference. Groups smaller than
``min_group_size`` are reported but not judged; a grouping with fewer than two judged groups warns.

A numeric sensitive column with more than ``BANDED_ABOVE`` distinct values (age, income) is grouped into
bands before it is judged: the edges given in ``config.options.bins`` for it, else the quartiles of the
current data. One group per distinct age would give dozens of groups too small to judge, and a parity
ratio driven by whichever of them happens to be smallest. The bands used are stored with the results.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd

from monitoring.checks import inputs
from monitoring.checks.base import CheckContext, maximum_rule, minimum_rule
from monitoring.checks.predictions import labels_from_scores, scores_and_labels
from monitoring.metrics.fairness import FOUR_FIFTHS, fairness_report

OPTIONS = {
    "min_group_size": inputs.Option(int, 0, 1_000_000, meaning="smallest group that is judged (30)"),
    "bootstrap": inputs.Option(
        int, 0, 10_000, meaning="bootstrap replicates for confidence intervals (0: none)"
    ),
    "confidence": inputs.Option(float, 0.5, 0.999, meaning="level of the bootstrap intervals (0.95)"),
    "seed": inputs.Option(int, 0, 2**32 - 1, meaning="seed of the bootstrap (0)"),
    "bins": inputs.Option(
        dict, entries=inputs.MAX_COLUMNS, meaning="sensitive column → 1 to 20 increasing band edges"
    ),
}
BANDED_ABOVE = 10  # distinct values of a numeric sensitive column above which it is grouped into bands
QUARTILES = (0.25, 0.5, 0.75)
MAX_BIN_EDGES = 20


def normalise(raw: dict[str, Any], *, version, reference, current) -> dict[str, Any]:
    options = inputs.check_keys(raw, OPTIONS)
    current = inputs.require_dataset(current, "current_dataset", "fairness")
    target = inputs.target_column(raw, current)
    sensitive = inputs.column_list(raw.get("sensitive_columns"), "config.sensitive_columns")
    sensitive = sensitive or list(current.sensitive_columns)
    if not sensitive:
        raise inputs.fail(
            "config.sensitive_columns", f"Name the sensitive columns: dataset {current} declares none."
        )
    inputs.require_in("config.sensitive_columns", sensitive, current, "current")
    _check_bins(options.get("bins") or {}, sensitive)
    positive = inputs.positive_label(raw, version, current, target)
    config: dict[str, Any] = {
        "target": target,
        **positive,
        "sensitive_columns": sensitive,
        "predictions": inputs.predictions(
            raw, version, current, positive=positive["positive_label"], target=target
        ),
        "thresholds": inputs.requested_thresholds(raw, "fairness"),
        "options": options,
    }
    if config["predictions"]["source"] == "model":
        config["features"] = inputs.features(raw, version, current, {target})
    return config


def _check_bins(bins: dict[str, Any], sensitive: list[str]) -> None:
    """``{column: [edges]}``: a sensitive column, 1 to 20 finite numbers in increasing order."""
    for column, edges in bins.items():
        field = f"config.options.bins.{column}"
        if column not in sensitive:
            raise inputs.fail(
                field, f"Only sensitive columns are banded; {column!r} is not one of {sensitive}."
            )
        numbers = isinstance(edges, list) and all(
            isinstance(edge, int | float) and not isinstance(edge, bool) and math.isfinite(edge)
            for edge in edges
        )
        if not numbers or not 1 <= len(edges) <= MAX_BIN_EDGES:
            raise inputs.fail(field, f"A list of 1 to {MAX_BIN_EDGES} numbers (band edges).")
        if any(low >= high for low, high in itertools.pairwise(edges)):
            raise inputs.fail(field, "Band edges must increase strictly.")


def needs_model(config: dict[str, Any]) -> bool:
    return config["predictions"]["source"] == "model"


def compute(ctx: CheckContext) -> dict[str, Any]:
    frame = ctx.current
    truth = frame[ctx.config["target"]]
    positive = ctx.config["positive_label"]
    scores, labels, source = scores_and_labels(ctx, frame, truth)
    if labels is None:
        labels = labels_from_scores(scores, ctx.config["predictions"]["decision_threshold"], truth, positive)
    options = ctx.options
    groups, bands = banded(frame[ctx.config["sensitive_columns"]], options.get("bins") or {})
    report = fairness_report(
        truth.to_numpy(),
        labels,
        groups,
        scores=scores,
        pos_label=positive,
        min_group_size=options.get("min_group_size", 30),
        bootstrap=options.get("bootstrap", 0),
        confidence=options.get("confidence", 0.95),
        seed=options.get("seed", 0),
    )
    return {"fairness": report, "predictions": source, "bands": bands}


def banded(frame: pd.DataFrame, bins: dict[str, list[float]]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The sensitive columns as groups: numeric columns with many values (or configured) in bands."""
    grouped, bands = {}, {}
    for name in frame.columns:
        column = frame[name]
        if name in bins or _many_numeric_values(column):
            edges = [float(edge) for edge in bins[name]] if name in bins else _quartile_edges(column)
            source = "config.options.bins" if name in bins else "quartiles of the current data"
            grouped[name], labels = _bands(column, edges)
            bands[name] = {"edges": edges, "labels": labels, "source": source}
        else:
            grouped[name] = column
    return pd.DataFrame(grouped, index=frame.index), bands


def _many_numeric_values(column: pd.Series) -> bool:
    numeric = pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)
    return numeric and column.nunique(dropna=True) > BANDED_ABOVE


def _quartile_edges(column: pd.Series) -> list[float]:
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    values = values[np.isfinite(values)]
    edges = np.quantile(values, QUARTILES)
    if np.all(values == np.round(values)):
        edges = np.ceil(edges)  # whole-number data (age in years) gets whole-number edges
    return sorted({float(edge) for edge in edges})


def _bands(column: pd.Series, edges: list[float]) -> tuple[pd.Series, list[str]]:
    """Each value's band ``under 27`` / ``27 to under 33`` / ``42 and over`` (missing stays missing)."""
    shown = [_edge(edge) for edge in edges]
    labels = [f"under {shown[0]}"]
    labels += [f"{low} to under {high}" for low, high in itertools.pairwise(shown)]
    labels.append(f"{shown[-1]} and over")
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    index = np.searchsorted(np.asarray(edges), values, side="right")
    named = np.where(
        np.isnan(values), None, np.asarray(labels, dtype=object)[np.minimum(index, len(labels) - 1)]
    )
    return pd.Series(pd.Categorical(named, categories=labels, ordered=True), index=column.index), labels


def _edge(edge: float) -> str:
    return str(int(edge)) if float(edge).is_integer() else f"{edge:g}"


def evaluate(metrics: dict[str, Any], thresholds: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for grouping in metrics["fairness"]["groupings"]:
        scope = "grouping " + " & ".join(grouping["features"])
        aggregates = grouping["aggregates"]
        for metric, rule, name in (
            ("demographic_parity_ratio", minimum_rule, "demographic_parity_ratio_min"),
            ("equalized_odds_difference", maximum_rule, "equalized_odds_difference_max"),
        ):
            judged = rule(
                metric=metric,
                scope=scope,
                value=aggregates[metric]["value"],
                reason=aggregates[metric]["reason"],
                thresholds=thresholds,
                name=name,
            )
            if judged is not None:
                found.append(judged)
    return found


def charts(metrics: dict[str, Any]) -> dict[str, Any]:
    """Per grouping, one bar per group: selection rate, TPR, FPR, disparate impact, size."""
    groupings = []
    for grouping in metrics["fairness"]["groupings"]:
        groups = [
            {
                "label": group["label"],
                "count": group["count"],
                "judged": group["judged"],
                "selection_rate": group["metrics"]["selection_rate"],
                "true_positive_rate": group["metrics"]["true_positive_rate"],
                "false_positive_rate": group["metrics"]["false_positive_rate"],
                "disparate_impact": group["disparate_impact"],
            }
            for group in grouping["groups"]
        ]
        groupings.append({"features": grouping["features"], "groups": groups})
    return {"group_bars": groupings, "disparate_impact_line": FOUR_FIFTHS}
