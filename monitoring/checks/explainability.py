"""Explainability check: SHAP values of the model on the current dataset, computed in the sandbox.

``monitoring.metrics.explain.explain_model`` runs inside the sandbox child (it has to load the model).
By default rows are a seeded sample of at most 1000 and there is no time budget, so a rerun explains the
same rows and gives the same numbers; the measured timing goes to the run's diagnostics, not its results.
The check is judged on SHAP's additivity (base value + SHAP values = model output): a failure warns.
"""

from __future__ import annotations

from typing import Any

from monitoring.checks import inputs
from monitoring.checks.base import PASS, WARN, CheckContext, evaluation

OPTIONS = {
    "max_rows": int,
    "background_size": int,
    "local_rows": int,
    "beeswarm_points": int,
    "class_index": int,
    "additivity_rows": int,
    "seed": int,
    "explainer": str,
    "time_budget_s": (int, float),
}
DEFAULTS = {"max_rows": 1000, "time_budget_s": None, "seed": 0}
EXPLAINERS = ("auto", "tree", "linear", "permutation")


def normalise(raw: dict[str, Any], *, version, reference, current) -> dict[str, Any]:
    options = inputs.check_keys(raw, OPTIONS)
    current = inputs.require_dataset(current, "current_dataset", "explainability")
    inputs.require_executable(version, "An explainability check runs the model")
    if options.get("explainer", "auto") not in EXPLAINERS:
        raise inputs.fail("config.options.explainer", f"Use one of {', '.join(EXPLAINERS)}.")
    for name in ("max_rows", "background_size", "local_rows", "beeswarm_points", "additivity_rows"):
        if options.get(name, 1) < 1:
            raise inputs.fail(f"config.options.{name}", "Must be at least 1.")
    excluded = {name for name in (current.target_column, current.prediction_column) if name}
    features = inputs.features(raw, version, current, excluded)
    if reference is not None:
        inputs.require_in("config.features", features, reference, "reference (background)")
    return {"features": features, "thresholds": {}, "options": DEFAULTS | options}


def needs_model(config: dict[str, Any]) -> bool:
    return True


def compute(ctx: CheckContext) -> dict[str, Any]:
    if ctx.explain is None:
        raise ValueError("An explainability check needs the sandbox.")
    explanation = ctx.explain(ctx.current, ctx.reference, ctx.options)
    # Machine-dependent parts go to diagnostics so that the hashed results are reproducible.
    ctx.diagnostics["shap_timing"] = explanation.pop("timing", None)
    ctx.diagnostics["sandbox"] = explanation.pop("sandbox", None)
    return {"explanation": explanation}


def evaluate(metrics: dict[str, Any], thresholds: dict[str, Any]) -> list[dict[str, Any]]:
    additivity = metrics["explanation"]["additivity"]
    holds = additivity["holds"]
    deviation = additivity["max_abs_deviation"]
    return [
        evaluation(
            metric="shap_additivity",
            scope=f"{additivity['rows_checked']} explained rows",
            value=deviation,
            threshold=additivity["tolerance"],
            threshold_name="additivity tolerance",
            threshold_source="monitoring.metrics.explain.ADDITIVITY_TOLERANCE",
            rule="max |base + sum(SHAP) - output| <= tolerance",
            status=PASS if holds else WARN,
            explanation="SHAP values add up to the model output"
            if holds
            else f"SHAP values miss the model output by up to {deviation}, so they may mislead",
        )
    ]


def charts(metrics: dict[str, Any]) -> dict[str, Any]:
    """SHAP bar chart (mean |SHAP| per feature) and beeswarm points ([feature value, SHAP] per feature)."""
    explanation = metrics["explanation"]
    return {
        "shap_bar": explanation["global_importance"],
        "beeswarm": [
            {"feature": feature["feature"], "points": feature["sample"]}
            for feature in explanation["features"]
        ],
    }
