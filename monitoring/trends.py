"""Metric trends over a monitoring plan's runs: one series per metric and subject, read from the runs.

A series is one metric in one scope (``psi`` of ``column 'age'``, ``roc_auc`` of ``current dataset``,
``demographic_parity_ratio`` of ``grouping sex``), with one point per succeeded run of the plan, oldest
first. Judged metrics come from the run's evaluations (value, status and threshold exactly as the run
recorded them: nothing here re-judges a value), as the monitoring report's series do; the headline
performance metrics and the fairness disparities a run measured without a threshold are added from its
results with status ``info``, so a plan's accuracy or equal-opportunity ratio can be followed too.

``thresholds`` of a series are the distinct thresholds its points were judged against (for PSI both
the warning and the failing band, as each run applied them), drawn as the chart's dashed lines.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from monitoring import results
from monitoring.metrics import catalogue
from monitoring.models import CheckRun

RANK = {"fail": 2, "warn": 1}
PERFORMANCE_SCOPE = "current dataset"
FAIRNESS_AGGREGATES = (
    "demographic_parity_ratio",
    "demographic_parity_difference",
    "equal_opportunity_ratio",
    "equal_opportunity_difference",
    "equalized_odds_ratio",
    "equalized_odds_difference",
)


@dataclass(frozen=True)
class TrendPoint:
    run_id: int
    at: dt.datetime
    value: float | None
    status: str
    threshold: float | None


@dataclass
class Trend:
    kind: str
    metric: str
    scope: str
    points: list[TrendPoint] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.metric}:{self.scope}"

    @property
    def declared(self) -> catalogue.Metric:
        return catalogue.lookup(self.metric)

    @property
    def label(self) -> str:
        return f"{self.declared.label} ({self.scope})" if self.scope else self.declared.label

    @property
    def thresholds(self) -> list[float]:
        return sorted({point.threshold for point in self.points if point.threshold is not None})

    @property
    def log_scale(self) -> bool:
        return self.declared.scale == "log"

    @property
    def worst(self) -> str:
        return max(
            (point.status for point in self.points), key=lambda status: RANK.get(status, 0), default="info"
        )

    @property
    def latest(self) -> TrendPoint | None:
        return self.points[-1] if self.points else None

    @property
    def subject(self) -> str:
        """The column a series is about (``column 'age'`` → ``age``), else empty."""
        prefix = "column "
        if self.scope.startswith(prefix) and len(self.scope) > len(prefix) + 1:
            return self.scope[len(prefix) + 1 : -1]
        return ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "metric": self.metric,
            "scope": self.scope,
            "label": self.label,
            "direction": self.declared.direction,
            "log_scale": self.log_scale,
            "thresholds": self.thresholds,
            "points": [
                {
                    "check_run": point.run_id,
                    "at": point.at,
                    "value": point.value,
                    "status": point.status,
                    "threshold": point.threshold,
                }
                for point in self.points
            ],
        }


def plan_trends(runs: Iterable[CheckRun]) -> list[Trend]:
    """One series per (kind, metric, scope), in first-seen order; ``runs`` oldest first and succeeded."""
    found: dict[tuple[str, str, str], Trend] = {}

    def add(run: CheckRun, metric: str, scope: str, value, status: str, threshold) -> None:
        key = (run.kind, metric, scope)
        trend = found.setdefault(key, Trend(kind=run.kind, metric=metric, scope=scope))
        trend.points.append(
            TrendPoint(
                run_id=run.pk,
                at=run.finished_at or run.created_at,
                value=_number(value),
                status=status,
                threshold=_number(threshold),
            )
        )

    for run in runs:
        judged = set()
        for item in results.evaluations_of(run):
            judged.add((item.metric, item.scope))
            add(run, item.metric, item.scope, item.value, item.status, item.threshold)
        for metric, scope, value in _measured(run):
            if (metric, scope) not in judged:
                add(run, metric, scope, value, "info", None)
    return list(found.values())


def worst_first(trends: list[Trend]) -> list[Trend]:
    """Series with failures first, then warnings, then the rest; the original order within each."""
    return sorted(trends, key=lambda trend: -RANK.get(trend.worst, 0))


def _measured(run: CheckRun) -> list[tuple[str, str, Any]]:
    """Numbers a run measured without judging them: performance headlines, fairness disparities."""
    if not run.results:
        return []
    stored = results.of(run)
    if run.kind == "performance":
        report = stored.metrics.performance
        return [
            (name, PERFORMANCE_SCOPE, value)
            for name in results.HEADLINE_METRICS
            if (value := report.headline(name)) is not None
        ]
    if run.kind == "fairness":
        measured = []
        for grouping in stored.metrics.fairness.groupings:
            scope = "grouping " + " & ".join(grouping.features)
            for name in FAIRNESS_AGGREGATES:
                aggregate = getattr(grouping.aggregates, name, None)
                if aggregate is not None and _number(aggregate.value) is not None:
                    measured.append((name, scope, aggregate.value))
        return measured
    return []


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def time_labels(moments: list[dt.datetime]) -> list[str]:
    """Dates alone unless two runs fall on the same day, then date and time (UTC)."""
    days = [moment.astimezone(dt.UTC).date() for moment in moments]
    if len(set(days)) == len(days):
        return [day.isoformat() for day in days]
    return [moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") for moment in moments]
