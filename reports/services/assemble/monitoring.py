"""The monitoring report's input: a version's scheduled check runs in a period, metric by metric.

A series is one judged metric in one scope (``psi (column 'age')``, ``roc_auc (current dataset)``):
one point per succeeded monitoring-plan run that finished in ``[period_start, period_end)``, with the
value, status and threshold the run recorded. Alerts raised in the period and findings raised on the
version or its model in the period follow.
"""

from __future__ import annotations

import math
from typing import Any

from django.db.models import Q

from monitoring import results
from monitoring.metrics import catalogue
from monitoring.models import CheckRun, MonitoringAlert, RunStatus
from monitoring.results import Evaluation
from monitoring.services.alerts import alert_state
from reports.models import Report
from reports.rendering.monitoring import AlertItem, MonitoringReportInput, MonitorPoint, MonitorSeries
from reports.services.assemble import common
from workflow.models import Deployment, Finding

BREACHING = {"warn", "fail"}


def monitoring_input(report: Report) -> MonitoringReportInput:
    """Everything the monitoring report of ``report.model_version`` for its period shows."""
    version = report.model_version
    start, end = report.period_start, report.period_end
    runs = list(
        CheckRun.objects.filter(
            model_version=version,
            plan__isnull=False,
            status=RunStatus.SUCCEEDED,
            finished_at__gte=start,
            finished_at__lt=end,
        ).order_by("finished_at", "pk")
    )
    series = metric_series(runs)
    alerts = _alerts(version, start, end)
    return MonitoringReportInput(
        document=common.document_info(report, report.document_id),
        model=common.model_info(version),
        period_start=common.utc(start),
        period_end=common.utc(end),
        environment=_environment(version),
        series=series,
        alerts=alerts,
        findings=common.finding_items(_findings(version, start, end)),
        summary=_summary_text(version, runs, series),
    )


def report_summary(data: MonitoringReportInput) -> dict[str, Any]:
    points = [point for series in data.series for point in series.points]
    return {
        "series": len(data.series),
        "values": len(points),
        "breaches": sum(1 for point in points if point.outcome in BREACHING),
        "warnings": sum(1 for point in points if point.outcome == "warn"),
        "failures": sum(1 for point in points if point.outcome == "fail"),
        "alerts": len(data.alerts),
    }


def metric_series(runs: list[CheckRun]) -> list[MonitorSeries]:
    """One series per (kind, metric, scope) in first-seen order; each point as its run judged it."""
    grouped: dict[tuple[str, str, str], list[tuple[CheckRun, Evaluation]]] = {}
    for run in runs:
        for item in results.evaluations_of(run):
            key = (run.kind, item.metric, item.scope)
            grouped.setdefault(key, []).append((run, item))
    return [_series(kind, metric, scope, items) for (kind, metric, scope), items in grouped.items()]


def _series(kind: str, metric: str, scope: str, items: list[tuple[CheckRun, Evaluation]]) -> MonitorSeries:
    """The metric's declaration (``monitoring.metrics.catalogue``) says which side is bad and its scale;
    each point keeps the status its run gave it, so nothing here re-judges a value."""
    declared = catalogue.lookup(metric)
    thresholds = sorted(
        {value for _, item in items if (value := common.as_number(item.threshold)) is not None}
    )
    return MonitorSeries(
        name=f"{declared.label} ({scope})" if scope else declared.label,
        metric=metric,
        check=kind,
        points=[
            MonitorPoint(
                at=common.utc(run.finished_at),
                value=common.as_number(item.value),
                outcome=item.status,
                run_id=str(run.pk),
            )
            for run, item in items
        ],
        thresholds=thresholds,
        direction=declared.direction,
        log_scale=declared.scale == "log",
        judgement=declared.judgement,
        exceedance=max(
            (
                _finite(declared.exceedance(common.as_number(item.value), common.as_number(item.threshold)))
                for _, item in items
                if item.status in BREACHING
            ),
            default=0.0,
        ),
    )


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 1e300


def _summary_text(version, runs: list[CheckRun], series: list[MonitorSeries]) -> str:
    points = [point for item in series for point in item.points]
    warned = sum(1 for point in points if point.outcome == "warn")
    failed = sum(1 for point in points if point.outcome == "fail")
    return (
        f"{len(runs)} scheduled check runs of {version} finished in the period and judged {len(points)} "
        f"values of {len(series)} metrics: {failed} failed and {warned} warned. Each chart below shows "
        "one metric with its threshold; a point is amber when its run judged it a warning and red when "
        "it failed."
    )


def _alerts(version, start, end) -> list[AlertItem]:
    alerts = MonitoringAlert.objects.filter(
        plan__model_version=version, created_at__gte=start, created_at__lt=end
    ).order_by("created_at", "pk")
    findings = {
        finding.check_run_id: finding
        for finding in Finding.objects.filter(check_run__in=[alert.check_run_id for alert in alerts])
    }
    items = []
    for alert in alerts:
        finding = findings.get(alert.check_run_id)
        items.append(
            AlertItem(
                at=common.utc(alert.created_at),
                monitor=alert.title or alert.metric,
                value=alert.value,
                threshold=alert.threshold,
                severity=alert.severity,
                status=finding.status if finding else _handling(alert),
                finding_id=f"F-{finding.pk}" if finding else "",
            )
        )
    return items


def _handling(alert: MonitoringAlert) -> str:
    """How the alert was handled when it has no finding: open, acknowledged, or snoozed until when.

    The snooze is read as recorded; one that had ended when the report was assembled reads open."""
    state = alert_state(alert)
    if state == "snoozed":
        return f"snoozed until {alert.snoozed_until:%Y-%m-%d %H:%M} UTC"
    return {"open": "open, no finding yet"}.get(state, state)


def _findings(version, start, end) -> list[Finding]:
    condition = Q(model_version=version) | Q(model=version.model, model_version__isnull=True)
    return list(
        Finding.objects.filter(condition, raised_at__gte=start, raised_at__lt=end)
        .select_related("owner")
        .order_by("raised_at", "pk")
    )


def _environment(version) -> str:
    deployment = Deployment.objects.filter(model_version=version).order_by("-deployed_at").first()
    return deployment.environment if deployment else "production"
