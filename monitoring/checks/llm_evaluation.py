"""LLM evaluation check: deterministic metrics of an LLM application's recorded evaluation set.

The current dataset is the recorded set, one row per example: the input, the retrieved context, the
application's output, the reference answer, optionally a human label and slice columns. Column names
come from the request (``input_column``, ``context_column``, ``output_column``, ``reference_column``,
``label_column``, ``slice_columns``), else the defaults ``input``, ``context``, ``output``,
``reference``, ``label`` when the dataset has them. A column named in the request must exist (400 naming
the field); the output column must exist in any case. The model version is not executed: the outputs
were recorded.

Numbers come from ``monitoring.metrics.llm_evaluation`` (definitions in ``monitoring.metrics.text`` and
``monitoring.metrics.pii``). Judged, overall and for every slice group of at least ``min_slice_rows``
rows: ``pii_leak_rate`` at most ``pii_leak_rate_max`` (default 0: any leak fails); the other metrics only
when a threshold is set (policy or request), since no honest default exists for them. A metric a
threshold bounds but the set cannot measure (no reference column) warns.
"""

from __future__ import annotations

from typing import Any

import phonenumbers

from monitoring.checks import inputs
from monitoring.checks.base import CheckContext, maximum_rule, minimum_rule
from monitoring.metrics.llm_evaluation import llm_evaluation_report

KIND = "llm_evaluation"
OPTIONS = {
    "min_slice_rows": inputs.Option(int, 1, 1_000_000, meaning="smallest slice group that is judged (30)"),
    "phone_region": inputs.Option(
        str,
        nullable=True,
        meaning="region of national phone numbers, e.g. GB (null: only international +… numbers)",
    ),
}
DEFAULTS = {"min_slice_rows": 30, "phone_region": None}
COLUMN_KEYS = {
    "input_column": "input",
    "context_column": "context",
    "output_column": "output",
    "reference_column": "reference",
    "label_column": "label",
}
OWN_KEYS = (*COLUMN_KEYS, "slice_columns")
# metric -> (rule, threshold name)
RULES = {
    "exact_match": (minimum_rule, "exact_match_min"),
    "token_f1": (minimum_rule, "token_f1_min"),
    "rouge_l": (minimum_rule, "rouge_l_min"),
    "answer_support": (minimum_rule, "answer_support_min"),
    "refusal_rate": (maximum_rule, "refusal_rate_max"),
    "pii_leak_rate": (maximum_rule, "pii_leak_rate_max"),
}


def normalise(raw: dict[str, Any], *, version, reference, current) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise inputs.fail("config", "Expected a JSON object.")
    options = inputs.check_keys({k: v for k, v in raw.items() if k not in OWN_KEYS}, OPTIONS)
    for key in ("columns", "features", "target", "sensitive_columns", "prediction_column", "positive_label"):
        if key in raw:
            raise inputs.fail(
                f"config.{key}",
                "An llm_evaluation check names its columns with input_column, "
                "context_column, output_column, reference_column, label_column and slice_columns.",
            )
    current = inputs.require_dataset(current, "current_dataset", KIND)
    available = inputs.columns_of(current)
    columns: dict[str, Any] = {}
    for key, default in COLUMN_KEYS.items():
        field = f"config.{key}"
        name = raw.get(key)
        if name is None:
            columns[default] = default if default in available else None
            continue
        if not isinstance(name, str) or not name:
            raise inputs.fail(field, "Expected a column name.")
        inputs.require_in(field, [name], current, "current")
        columns[default] = name
    if columns["output"] is None:
        raise inputs.fail(
            "config.output_column",
            f"Dataset {current} has no column 'output'; name the column of recorded outputs "
            f"(its columns are: {inputs.listing(available)}).",
        )
    slices = inputs.column_list(raw.get("slice_columns"), "config.slice_columns") or []
    inputs.require_in("config.slice_columns", slices, current, "current")
    columns["slices"] = slices
    options = DEFAULTS | options
    region = options.get("phone_region")
    if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
        raise inputs.fail(
            "config.options.phone_region",
            "Expected a two-letter region code libphonenumber knows, e.g. GB or US.",
        )
    return {"columns": columns, "thresholds": inputs.requested_thresholds(raw, KIND), "options": options}


def needs_model(config: dict[str, Any]) -> bool:
    return False


def compute(ctx: CheckContext) -> dict[str, Any]:
    options = DEFAULTS | ctx.options
    report = llm_evaluation_report(
        ctx.current,
        columns=ctx.config["columns"],
        region=options["phone_region"],
        min_slice_rows=options["min_slice_rows"],
    )
    return {KIND: report}


def _scopes(report: dict[str, Any]):
    yield "all rows", report["overall"]
    for item in report["slices"]:
        for group in item["groups"]:
            if group["judged"]:
                yield f"slice {item['column']} = {group['value']}", group


def evaluate(metrics: dict[str, Any], thresholds: dict[str, Any]) -> list[dict[str, Any]]:
    report = metrics[KIND]
    found = []
    for scope, part in _scopes(report):
        for metric, (rule, name) in RULES.items():
            entry = part["metrics"][metric]
            judged = rule(
                metric=metric,
                scope=scope,
                value=entry.get("value"),
                reason=entry.get("reason"),
                thresholds=thresholds,
                name=name,
            )
            if judged is not None:
                found.append(judged)
    return found


def charts(metrics: dict[str, Any]) -> dict[str, Any]:
    """The overall means and the rows leaking each type of PII."""
    report = metrics[KIND]
    overall = report["overall"]
    return {
        "means": [
            {"metric": name, "value": entry.get("value")} for name, entry in overall["metrics"].items()
        ],
        "pii_rows": {kind: entry["rows"] for kind, entry in overall["pii"].items()},
    }
