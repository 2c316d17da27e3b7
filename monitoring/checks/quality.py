"""Data-quality check: schema, missing values, out-of-range values and unseen categories of a batch.

Numbers and issues come from ``monitoring.metrics.quality`` with its severities; an ``error`` issue
fails the check, a ``warning`` warns, ``info`` is reported only. A column the current batch lacks is an
error issue here, not a refused request: finding it is what this check is for.
"""

from __future__ import annotations

from typing import Any

from monitoring.checks import inputs
from monitoring.checks.base import FAIL, PASS, WARN, CheckContext, evaluation, threshold_value
from monitoring.metrics.quality import QualityThresholds, data_quality_report

STATUS_BY_SEVERITY = {"error": FAIL, "warning": WARN}
OPTIONS: dict[str, inputs.Option] = {}  # none: its thresholds say everything this check can be told


def normalise(raw: dict[str, Any], *, version, reference, current) -> dict[str, Any]:
    options = inputs.check_keys(raw, OPTIONS)
    reference = inputs.require_dataset(reference, "reference_dataset", "data quality")
    inputs.require_dataset(current, "current_dataset", "data quality")
    columns = inputs.column_list(raw.get("columns"), "config.columns") or inputs.columns_of(reference)
    inputs.require_in("config.columns", columns, reference, "reference")
    return {
        "columns": columns,
        "thresholds": inputs.requested_thresholds(raw, "data_quality"),
        "options": options,
    }


def needs_model(config: dict[str, Any]) -> bool:
    return False


def compute(ctx: CheckContext) -> dict[str, Any]:
    values = {
        name: threshold_value(ctx.thresholds, name)[0]
        for name in ("missing_share_increase", "out_of_range_error_share", "unseen_error_share")
    }
    limits = QualityThresholds(**{name: value for name, value in values.items() if value is not None})
    columns = ctx.config["columns"]
    current = ctx.current[[name for name in columns if name in ctx.current.columns]]
    return {"quality": data_quality_report(ctx.reference[columns], current, thresholds=limits)}


def evaluate(metrics: dict[str, Any], thresholds: dict[str, Any]) -> list[dict[str, Any]]:
    report = metrics["quality"]
    found = [
        evaluation(
            metric=issue["code"],
            scope=f"column {issue['column']!r}",
            value=issue.get("share"),
            status=STATUS_BY_SEVERITY[issue["severity"]],
            rule=f"an issue of severity {issue['severity']} {'fails' if issue['severity'] == 'error' else 'warns'}",
            threshold_source="monitoring.metrics.quality severities",
            explanation=issue["message"],
        )
        for issue in report["issues"]
        if issue["severity"] in STATUS_BY_SEVERITY
    ]
    if not found:
        found.append(
            evaluation(
                metric="issues",
                scope="dataset",
                value=0,
                status=PASS,
                explanation=f"no warning or error issues in {len(report['columns'])} columns",
            )
        )
    return found


def charts(metrics: dict[str, Any]) -> dict[str, Any]:
    """Issue counts by severity and the missing share per column (reference and current)."""
    report = metrics["quality"]
    return {
        "issues_by_severity": {key: report["summary"][key] for key in ("errors", "warnings", "infos")},
        "missing_shares": [
            {
                "column": column["column"],
                "reference": column.get("reference_missing_share"),
                "current": column.get("current_missing_share"),
            }
            for column in report["columns"]
            if column.get("present")
        ],
    }
