"""Fairness check: group rates and disparities of a binary classifier across sensitive columns.

The positive label is the favourable outcome (``inputs.positive_label``: declared on the dataset or the
model, or requested): selection rates are the rates of that outcome, and scores are its probability.

Numbers come from ``monitoring.metrics.fairness`` (fairlearn's conventions). Each grouping (each
sensitive column, and their intersection) is judged on the demographic-parity ratio (four-fifths rule
by default) and, when a threshold is set, on the equalized-odds difference. Groups smaller than
``min_group_size`` are reported but not judged; a grouping with fewer than two judged groups warns.
"""

from __future__ import annotations

from typing import Any

from monitoring.checks import inputs
from monitoring.checks.base import CheckContext, maximum_rule, minimum_rule
from monitoring.checks.predictions import labels_from_scores, scores_and_labels
from monitoring.metrics.fairness import FOUR_FIFTHS, fairness_report

OPTIONS = {"min_group_size": int, "bootstrap": int, "confidence": float, "seed": int}
MAX_BOOTSTRAP = 10_000


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
    if not 0 <= options.get("bootstrap", 0) <= MAX_BOOTSTRAP:
        raise inputs.fail("config.options.bootstrap", f"Use 0 to {MAX_BOOTSTRAP} replicates.")
    if options.get("min_group_size", 30) < 0:
        raise inputs.fail("config.options.min_group_size", "Must not be negative.")
    if not 0 < options.get("confidence", 0.95) < 1:
        raise inputs.fail("config.options.confidence", "Must be between 0 and 1.")
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
    report = fairness_report(
        truth.to_numpy(),
        labels,
        frame[ctx.config["sensitive_columns"]],
        scores=scores,
        pos_label=positive,
        min_group_size=options.get("min_group_size", 30),
        bootstrap=options.get("bootstrap", 0),
        confidence=options.get("confidence", 0.95),
        seed=options.get("seed", 0),
    )
    return {"fairness": report, "predictions": source}


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
