"""Monitoring alerts: a plan's check run that breached its thresholds, recorded and announced.

Governance turns alerts into findings and notifications. Monitoring must not import it, so after the
alert commits a Celery task is sent *by name* (``ATTEST_ALERT_TASK``, default
``governance.tasks.process_monitoring_alert``); an empty setting turns that off.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction

from audit import record
from config.celery_app import app
from monitoring.checks.base import ORDER
from monitoring.metrics import catalogue
from monitoring.models import AlertSeverity, CheckRun, MonitoringAlert
from monitoring.models.plans import AlertOn

logger = logging.getLogger(__name__)
BREACHING = {AlertOn.FAIL: {"fail"}, AlertOn.WARN: {"fail", "warn"}}


def alert_for_run(run: CheckRun) -> MonitoringAlert | None:
    """Record the alert for a finished plan run that breached (inside the run's finishing transaction).

    Guarantees: at most one alert per run; it lists every breaching evaluation ranked worst first (a
    failing metric before a warning, then by how far past its threshold it is, as the metric's
    declaration measures it, so a KS p-value of 1e-18 outranks one of 0.03), is titled by the worst
    subject (a column, a grouping) and the metrics that breached there, takes its severity from the worst
    band; ``monitoring.alert_raised`` is audited with it; the governance task is sent only after the
    transaction commits.
    """
    plan = run.plan
    breaches = rank_breaches(item for item in run.evaluations if item["status"] in BREACHING[plan.alert_on])
    if not breaches:
        return None
    worst = breaches[0]
    alert = MonitoringAlert.objects.create(
        plan=plan,
        check_run=run,
        title=alert_title(run.kind, breaches)[:300],
        metric=f"{worst['metric']} ({worst['scope']})"[:200],
        value=_number(worst.get("value")),
        threshold=_number(worst.get("threshold")),
        severity=AlertSeverity.CRITICAL if worst["status"] == "fail" else AlertSeverity.WARNING,
        message=_message(breaches),
        breaches=breaches,
    )
    record(
        action="monitoring.alert_raised",
        actor=None,
        obj=alert,
        after={
            "plan": plan.pk,
            "check_run": run.pk,
            "title": alert.title,
            "metric": alert.metric,
            "value": alert.value,
            "threshold": alert.threshold,
            "severity": alert.severity,
            "breaches": len(breaches),
        },
    )
    transaction.on_commit(lambda: notify(alert.pk))
    return alert


def rank_breaches(evaluations: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The evaluations worst first, each with its ``exceedance`` (how far past its threshold, 1 = at it).

    Order: status (fail before warn), then exceedance from the metric's declaration, then the original
    order, so equal breaches keep the check's column order.
    """
    scored = [item | {"exceedance": _exceedance(item)} for item in evaluations]
    return sorted(scored, key=lambda item: (-ORDER[item["status"]], -item["exceedance"]))


def _exceedance(item: dict[str, Any]) -> float:
    value = catalogue.lookup(item["metric"]).exceedance(
        _number(item.get("value")), _number(item.get("threshold"))
    )
    return round(value, 6) if math.isfinite(value) else 1e300  # JSON has no infinity


def alert_title(kind: str, breaches: list[dict[str, Any]]) -> str:
    """``Drift on column 'age': KS p-value 1.24e-18, PSI 0.211; 7 more subjects breach`` (worst first)."""
    subjects = list(dict.fromkeys(item["scope"] for item in breaches))
    worst = subjects[0]
    here = [item for item in breaches if item["scope"] == worst]
    values = ", ".join(_short(item) for item in here)
    title = f"{kind.replace('_', ' ').capitalize()} on {worst}: {values}"
    others = len(subjects) - 1
    if others:
        title += f"; {others} more {'subject breaches' if others == 1 else 'subjects breach'}"
    return title


def _short(item: dict[str, Any]) -> str:
    declared = catalogue.lookup(item["metric"])
    return f"{declared.label} {declared.format(_number(item.get('value')))}"


def _message(breaches: list[dict[str, Any]]) -> str:
    lines = [f"{len(breaches)} breaching metric(s), worst first:"]
    lines += [f"- {item['status']}: {item['explanation']}" for item in breaches]
    return "\n".join(lines)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def notify(alert_id: int) -> None:
    """Tell governance about the alert by task name; never fails the caller."""
    name = settings.ATTEST_ALERT_TASK
    if not name:
        return
    try:
        app.send_task(name, args=[alert_id])
    except Exception:
        logger.warning("could not send %s for monitoring alert %s", name, alert_id, exc_info=True)
