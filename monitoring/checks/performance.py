"""Performance check: how well the model's predictions match the target on the current dataset.

Numbers come from ``monitoring.metrics.performance`` (equal to scikit-learn's). A binary classifier is
judged on ROC AUC (0.7 by default) and, when thresholds are set, accuracy and F1; a regression model on
R² and RMSE when thresholds are set. An undefined metric (one class only, labels without scores) warns.
A binary check's positive label is the favourable outcome (``inputs.positive_label``), as in fairness.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from monitoring.checks import inputs
from monitoring.checks.base import CheckContext, CheckInputError, maximum_rule, minimum_rule
from monitoring.checks.predictions import scores_and_labels
from monitoring.metrics.performance import binary_classification_report, regression_report

OPTIONS = {
    "roc_points": inputs.Option(int, 2, 10_000, meaning="points of the ROC curve"),
    "calibration_bins": inputs.Option(int, 2, 1_000, meaning="bins of the calibration curve"),
}
TASKS = ("binary", "regression")


def normalise(raw: dict[str, Any], *, version, reference, current) -> dict[str, Any]:
    options = inputs.check_keys(raw, OPTIONS)
    current = inputs.require_dataset(current, "current_dataset", "performance")
    task = raw.get("task", "binary")
    if task not in TASKS:
        raise inputs.fail("config.task", f"Use one of {', '.join(TASKS)}.")
    target = inputs.target_column(raw, current)
    if task == "regression" and raw.get("positive_label") is not None:
        raise inputs.fail("config.positive_label", "A regression check has no positive label.")
    positive = inputs.positive_label(raw, version, current, target) if task == "binary" else {}
    config: dict[str, Any] = {
        "task": task,
        "target": target,
        **positive,
        "predictions": inputs.predictions(
            raw, version, current, positive=positive.get("positive_label"), target=target
        ),
        "thresholds": inputs.requested_thresholds(raw, "performance"),
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
    scores, labels, source = scores_and_labels(ctx, frame, truth)
    if ctx.config["task"] == "regression":
        if scores is None:
            raise CheckInputError("A regression check needs numeric predictions, not labels.")
        return {
            "performance": regression_report(truth.to_numpy(dtype=np.float64), scores),
            "predictions": source,
        }
    options = ctx.options
    report = binary_classification_report(
        truth.to_numpy(),
        scores=scores,
        y_pred=labels,
        pos_label=ctx.config["positive_label"],
        threshold=ctx.config["predictions"]["decision_threshold"],
        **{name: options[name] for name in OPTIONS if name in options},
    )
    return {"performance": report, "predictions": source}


def evaluate(metrics: dict[str, Any], thresholds: dict[str, Any]) -> list[dict[str, Any]]:
    report = metrics["performance"]
    if report["kind"] == "regression":
        rules = [
            (minimum_rule, "r2", "r2_min", report.get("r2_reason")),
            (maximum_rule, "rmse", "rmse_max", None),
        ]
    else:
        ranking = report.get("ranking_reason") or (
            None if "roc_auc" in report else "the predictions are labels without scores"
        )
        undefined = report.get("undefined", {})
        rules = [
            (minimum_rule, "roc_auc", "roc_auc_min", ranking),
            (minimum_rule, "accuracy", "accuracy_min", None),
            (minimum_rule, "f1", "f1_min", undefined.get("f1")),
        ]
    found = []
    for rule, metric, name, reason in rules:
        judged = rule(
            metric=metric,
            scope="current dataset",
            value=report.get(metric),
            reason=reason,
            thresholds=thresholds,
            name=name,
        )
        if judged is not None:
            found.append(judged)
    return found


def charts(metrics: dict[str, Any]) -> dict[str, Any]:
    """Confusion matrix, ROC curve and calibration table (binary); nothing extra for regression."""
    report = metrics["performance"]
    if report["kind"] == "regression":
        return {}
    matrix = dict(report["confusion_matrix"])
    positive = report.get("positive_label")
    if positive is not None:  # name the classes as the data does: "good" / "not good", not positive/negative
        matrix["labels"] = [f"not {positive}", str(positive)]
    return {
        "confusion_matrix": matrix,
        "roc": report.get("roc_curve"),
        "calibration": report.get("calibration"),
    }
