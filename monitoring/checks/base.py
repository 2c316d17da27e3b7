"""What every kind of check shares: its context, its evaluations and how an outcome follows from them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from monitoring.metrics import catalogue

PASS, WARN, FAIL = "pass", "warn", "fail"
ORDER = {PASS: 0, WARN: 1, FAIL: 2}


class CheckInputError(ValueError):
    """The inputs cannot be checked as configured (a clear message for the run's error)."""


@dataclass
class CheckContext:
    """Everything a kind's ``compute`` may use: the run's config, the frames and the sandboxed model."""

    kind: str
    config: dict[str, Any]
    thresholds: dict[str, Any]
    reference: pd.DataFrame | None
    current: pd.DataFrame | None
    score: Callable[[pd.DataFrame], np.ndarray] | None = None
    # explain(frame, background, options, *, step=label of the progress step) -> explanation
    explain: Callable[..., dict[str, Any]] | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @property
    def options(self) -> dict[str, Any]:
        return self.config.get("options", {})


def evaluation(
    *,
    metric: str,
    scope: str,
    value: float | None,
    status: str,
    explanation: str,
    threshold: float | None = None,
    threshold_name: str | None = None,
    threshold_source: str | None = None,
    rule: str | None = None,
) -> dict[str, Any]:
    """One judged number: which metric, where, its value, the rule and threshold applied, and why.

    ``metric`` must be declared in ``monitoring.metrics.catalogue`` (KeyError otherwise): every reader
    of the evaluation learns its direction, unit and scale there.
    """
    declared = catalogue.metric(metric)
    return {
        "metric": metric,
        "direction": declared.direction,
        "scope": scope,
        "value": value,
        "threshold": threshold,
        "threshold_name": threshold_name,
        "threshold_source": threshold_source,
        "rule": rule,
        "status": status,
        "explanation": explanation,
    }


def threshold_value(thresholds: dict[str, Any], name: str) -> tuple[float | None, str]:
    entry = thresholds.get(name) or {}
    return entry.get("value"), entry.get("source", "not set")


def outcome_of(evaluations: list[dict[str, Any]]) -> tuple[str, str]:
    """The worst status among the evaluations, and a sentence saying why.

    With nothing judged the outcome is ``warn``: a check that could not judge anything is not a pass.
    """
    if not evaluations:
        return WARN, "no metric could be judged, so the check cannot pass"
    # the worst status, and among those the evaluation furthest past its threshold (the alert's order)
    worst = max(evaluations, key=lambda item: (ORDER[item["status"]], _exceedance(item)))
    if worst["status"] == PASS:
        return PASS, f"all {len(evaluations)} judged metric(s) passed"
    count = sum(1 for item in evaluations if item["status"] == worst["status"])
    return worst["status"], f"{count} metric(s) at {worst['status']}, e.g. {worst['explanation']}"


def _exceedance(item: dict[str, Any]) -> float:
    value, threshold = item.get("value"), item.get("threshold")
    numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (value, threshold))
    return catalogue.lookup(item["metric"]).exceedance(value, threshold) if numbers else 0.0


def minimum_rule(
    *, metric: str, scope: str, value: float | None, reason: str | None, thresholds: dict, name: str
) -> dict[str, Any] | None:
    """Judge ``value >= threshold``; None when no threshold is set; warn when the value is undefined."""
    limit, source = threshold_value(thresholds, name)
    if limit is None:
        return None
    common = {"metric": metric, "scope": scope, "threshold": limit, "threshold_name": name}
    common |= {"threshold_source": source, "rule": f"{metric} >= {name}"}
    if value is None:
        return evaluation(
            value=None,
            status=WARN,
            explanation=f"{metric} of {scope} is undefined ({reason}), so not judged",
            **common,
        )
    passed = value >= limit
    verb = "is at least" if passed else "is below"
    return evaluation(
        value=value,
        status=PASS if passed else FAIL,
        explanation=f"{metric} of {scope} = {value:.4g} {verb} {limit:g} ({source})",
        **common,
    )


def maximum_rule(
    *, metric: str, scope: str, value: float | None, reason: str | None, thresholds: dict, name: str
) -> dict[str, Any] | None:
    """Judge ``value <= threshold``; None when no threshold is set; warn when the value is undefined."""
    limit, source = threshold_value(thresholds, name)
    if limit is None:
        return None
    common = {"metric": metric, "scope": scope, "threshold": limit, "threshold_name": name}
    common |= {"threshold_source": source, "rule": f"{metric} <= {name}"}
    if value is None:
        return evaluation(
            value=None,
            status=WARN,
            explanation=f"{metric} of {scope} is undefined ({reason}), so not judged",
            **common,
        )
    passed = value <= limit
    verb = "is at most" if passed else "exceeds"
    return evaluation(
        value=value,
        status=PASS if passed else FAIL,
        explanation=f"{metric} of {scope} = {value:.4g} {verb} {limit:g} ({source})",
        **common,
    )
