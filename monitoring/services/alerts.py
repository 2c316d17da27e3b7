"""Monitoring alerts: a plan's check run that breached its thresholds, recorded and announced.

Governance turns alerts into findings and notifications. Monitoring must not import it, so after the
alert commits a Celery task is sent *by name* (``ATTEST_ALERT_TASK``, default
``governance.tasks.process_monitoring_alert``); an empty setting turns that off.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from governance.audit import record
from monitoring import conf
from monitoring.models import AlertSeverity, CheckRun, MonitoringAlert
from monitoring.models.plans import AlertOn

logger = logging.getLogger(__name__)
BREACHING = {AlertOn.FAIL: {"fail"}, AlertOn.WARN: {"fail", "warn"}}


def alert_for_run(run: CheckRun) -> MonitoringAlert | None:
    """Record the alert for a finished plan run that breached (inside the run's finishing transaction).

    Guarantees: at most one alert per run; it names the worst breaching metric (a failing one before a
    warning) and lists every breach; ``monitoring.alert_raised`` is audited with it; the governance
    task is sent only after the transaction commits.
    """
    plan = run.plan
    breaches = [item for item in run.evaluations if item["status"] in BREACHING[plan.alert_on]]
    if not breaches:
        return None
    worst = next((item for item in breaches if item["status"] == "fail"), breaches[0])
    alert = MonitoringAlert.objects.create(
        plan=plan,
        check_run=run,
        metric=f"{worst['metric']} ({worst['scope']})"[:200],
        value=_number(worst.get("value")),
        threshold=_number(worst.get("threshold")),
        severity=AlertSeverity.CRITICAL if worst["status"] == "fail" else AlertSeverity.WARNING,
        message=worst["explanation"],
        breaches=breaches,
    )
    record(
        action="monitoring.alert_raised",
        actor=None,
        obj=alert,
        after={
            "plan": plan.pk,
            "check_run": run.pk,
            "metric": alert.metric,
            "value": alert.value,
            "threshold": alert.threshold,
            "severity": alert.severity,
            "breaches": len(breaches),
        },
    )
    transaction.on_commit(lambda: notify(alert.pk))
    return alert


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def notify(alert_id: int) -> None:
    """Tell governance about the alert by task name; never fails the caller."""
    name = conf.get("ATTEST_ALERT_TASK")
    if not name:
        return
    from config.celery_app import app

    try:
        app.send_task(name, args=[alert_id])
    except Exception:
        logger.warning("could not send %s for monitoring alert %s", name, alert_id, exc_info=True)
