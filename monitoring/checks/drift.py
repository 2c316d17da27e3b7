"""Drift check: per-feature data drift between a reference and a current dataset, and prediction drift.

Numbers come from ``monitoring.metrics.drift`` (Evidently's default test choice and thresholds); this
module only picks the columns, passes the thresholds and judges the result: PSI bands per column, the
deciding statistical test per column (a detected drift warns), the dataset-level drift share (fails).
"""

from __future__ import annotations

from typing import Any

from monitoring.checks import inputs
from monitoring.checks.base import FAIL, PASS, WARN, CheckContext, evaluation, threshold_value
from monitoring.metrics.drift import DriftConfig, dataset_drift, prediction_drift
from monitoring.metrics.drift_statistics import TESTS
from monitoring.metrics.errors import MetricsError

OPTIONS = {
    "column_tests": inputs.Option(
        dict,
        entries=inputs.MAX_COLUMNS,
        meaning=f"column → the deciding test ({', '.join(TESTS)})",
    ),
    "column_thresholds": inputs.Option(
        dict, entries=inputs.MAX_COLUMNS, meaning="column → that test's threshold, a number from 0 to 1,000"
    ),
    "test_thresholds": inputs.Option(
        dict, entries=100, meaning="test → its threshold wherever it decides, a number from 0 to 1,000"
    ),
    "psi_bins": inputs.Option(int, 2, 1_000, meaning="bins of the PSI on the reference's quantiles (10)"),
    "include_prediction": inputs.Option(bool, meaning="also compare the prediction column (true)"),
}
# a drift test's threshold: a p-value in [0, 1] or a distance (PSI, Wasserstein, Jensen-Shannon) up to this
MAX_TEST_THRESHOLD = 1_000.0


def normalise(raw: dict[str, Any], *, version, reference, current) -> dict[str, Any]:
    options = inputs.check_keys(raw, OPTIONS)
    for name in ("column_thresholds", "test_thresholds"):
        _check_test_thresholds(name, options.get(name) or {})
    reference = inputs.require_dataset(reference, "reference_dataset", "drift")
    current = inputs.require_dataset(current, "current_dataset", "drift")
    excluded = {name for name in (reference.target_column, reference.prediction_column) if name}
    # by default the model's declared inputs: a score column beside them is model output, not a feature
    columns = inputs.column_list(raw.get("columns"), "config.columns") or inputs.default_features(
        version, reference, excluded
    )
    inputs.require_in("config.columns", columns, reference, "reference")
    inputs.require_in("config.columns", columns, current, "current")
    prediction = reference.prediction_column if options.get("include_prediction", True) else ""
    if prediction and prediction not in inputs.columns_of(current):
        prediction = ""
    config = {
        "columns": columns,
        "prediction_column": prediction or None,
        "thresholds": inputs.requested_thresholds(raw, "drift"),
        "options": options,
    }
    try:
        drift_config(config, {})
    except MetricsError as exc:
        raise inputs.fail("config.options", str(exc)) from None
    return config


def _check_test_thresholds(name: str, thresholds: dict[str, Any]) -> None:
    for key, value in thresholds.items():
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not 0 <= value <= MAX_TEST_THRESHOLD:
            raise inputs.fail(
                f"config.options.{name}.{key}", f"Expected a number from 0 to {MAX_TEST_THRESHOLD:g}."
            )


def needs_model(config: dict[str, Any]) -> bool:
    return False


def drift_config(config: dict[str, Any], thresholds: dict[str, Any]) -> DriftConfig:
    options = config.get("options", {})
    defaults = DriftConfig()
    return DriftConfig(
        psi_bins=options.get("psi_bins", defaults.psi_bins),
        psi_moderate=_value_or(thresholds, "psi_warn", defaults.psi_moderate),
        psi_significant=_value_or(thresholds, "psi_fail", defaults.psi_significant),
        drift_share=_value_or(thresholds, "drift_share", defaults.drift_share),
        column_tests=options.get("column_tests", {}),
        column_thresholds=options.get("column_thresholds", {}),
        test_thresholds=options.get("test_thresholds", {}),
    )


def _value_or(thresholds: dict[str, Any], name: str, default: float) -> float:
    value = threshold_value(thresholds, name)[0]
    return default if value is None else value


def compute(ctx: CheckContext) -> dict[str, Any]:
    config = drift_config(ctx.config, ctx.thresholds)
    metrics: dict[str, Any] = {
        "data_drift": dataset_drift(ctx.reference, ctx.current, columns=ctx.config["columns"], config=config),
        "prediction_drift": None,
    }
    column = ctx.config.get("prediction_column")
    if column:
        metrics["prediction_drift"] = prediction_drift(
            ctx.reference[column], ctx.current[column], name=column, config=config
        )
    return metrics


def evaluate(metrics: dict[str, Any], thresholds: dict[str, Any]) -> list[dict[str, Any]]:
    data = metrics["data_drift"]
    found: list[dict[str, Any]] = []
    for column in data["columns"]:
        found.extend(_column_evaluations(column, thresholds, scope=f"column {column['column']!r}"))
    summary = data["summary"]
    if summary["dataset_drift"] is not None:
        share, limit = summary["share_of_drifted_columns"], summary["drift_share"]
        drifted = summary["dataset_drift"]
        found.append(
            evaluation(
                metric="share_of_drifted_columns",
                scope="dataset",
                value=share,
                threshold=limit,
                threshold_name="drift_share",
                threshold_source=threshold_value(thresholds, "drift_share")[1],
                rule="fails when share_of_drifted_columns >= drift_share",
                status=FAIL if drifted else PASS,
                explanation=f"{summary['number_of_drifted_columns']} of {summary['tested_columns']} tested "
                f"columns drifted ({share:.0%}), {'at or above' if drifted else 'below'} the drift share {limit:g}",
            )
        )
    if metrics.get("prediction_drift"):
        result = metrics["prediction_drift"]["prediction"]
        found.extend(_column_evaluations(result, thresholds, scope=f"prediction {result['column']!r}"))
    return found


def _column_evaluations(column: dict[str, Any], thresholds: dict[str, Any], scope: str) -> list[dict]:
    if column["status"] != "tested":
        return [
            evaluation(
                metric="drift_test",
                scope=scope,
                value=None,
                status=WARN,
                explanation=f"{scope} was not tested: {column['reason']}",
            )
        ]
    found = [_psi_evaluation(column["statistics"]["psi"]["value"], thresholds, scope)]
    test = column["test"]
    if column["drift_detected"] is not None:
        detected = column["drift_detected"]
        found.append(
            evaluation(
                metric=f"drift_test:{test['name']}",
                scope=scope,
                value=test["score"],
                threshold=test["threshold"],
                threshold_name=f"{test['name']} threshold",
                threshold_source=test["threshold_source"],
                rule=f"drift when {test['rule']}; a drifted column warns",
                status=WARN if detected else PASS,
                explanation=f"{test['label']} on {scope}: {test['score_name']} = {test['score']:.4g}, "
                f"threshold {test['threshold']:g}: {'drift detected' if detected else 'no drift'} "
                f"({test['reason']})",
            )
        )
    return found


def _psi_evaluation(value: float | None, thresholds: dict[str, Any], scope: str) -> dict[str, Any]:
    warn_at = _value_or(thresholds, "psi_warn", DriftConfig.psi_moderate)
    fail_at = _value_or(thresholds, "psi_fail", DriftConfig.psi_significant)
    source = threshold_value(thresholds, "psi_warn")[1]
    status = PASS
    if value is not None and value >= fail_at:
        status = FAIL
    elif value is not None and value >= warn_at:
        status = WARN
    return evaluation(
        metric="psi",
        scope=scope,
        value=value,
        threshold=fail_at if status == FAIL else warn_at,
        threshold_name="psi_fail" if status == FAIL else "psi_warn",
        threshold_source=source,
        rule="pass below psi_warn, warn from psi_warn, fail from psi_fail",
        status=status,
        explanation=f"PSI of {scope} = {value:.4g} ({status}; warn at {warn_at:g}, fail at {fail_at:g})",
    )


def charts(metrics: dict[str, Any]) -> dict[str, Any]:
    """PSI bars and reference/current distributions per column, as plain numbers."""
    columns = metrics["data_drift"]["columns"]
    bars, distributions = [], []
    for column in columns:
        statistics = column.get("statistics") or {}
        psi = statistics.get("psi")
        if psi is not None:
            bars.append({"column": column["column"], "psi": psi["value"], "band": psi["band"]})
        distributions.append(_distribution(column, statistics))
    return {"psi_bars": bars, "distributions": [d for d in distributions if d is not None]}


def _distribution(column: dict[str, Any], statistics: dict[str, Any]) -> dict[str, Any] | None:
    bins = (statistics.get("psi") or {}).get("bins")
    if bins is not None:
        return {
            "column": column["column"],
            "type": "histogram",
            "edges": bins["edges"],
            "reference_shares": bins["reference_shares"],
            "current_shares": bins["current_shares"],
        }
    categories = statistics.get("categories")
    if categories is not None:
        return {
            "column": column["column"],
            "type": "categories",
            "labels": categories["labels"],
            "reference_shares": categories["reference_shares"],
            "current_shares": categories["current_shares"],
        }
    return None
