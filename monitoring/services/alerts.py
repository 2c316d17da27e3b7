"""Monitoring alerts: a plan's check run that breached its thresholds, recorded and announced.

Governance turns alerts into findings and notifications. Monitoring must not import it, so after the
alert commits a Celery task is sent *by name* (``ATTEST_ALERT_TASK``, default
``governance.tasks.process_monitoring_alert``); an empty setting turns that off.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import access
from accounts.errors import InvalidTransition
from accounts.models import User
from audit import record
from config.celery_app import app
from monitoring.checks.base import ORDER
from monitoring.metrics import catalogue
from monitoring.models import AlertSeverity, AlertState, CheckRun, MonitoringAlert
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
    return _raise(run, plan, BREACHING[plan.alert_on])


def alert_for_telemetry_run(run: CheckRun) -> MonitoringAlert | None:
    """The alert for a ``telemetry`` run (a time bucket of production telemetry that breached): as for a
    plan's run, but with no plan; every failing evaluation breaches."""
    return _raise(run, None, {"fail"})


def _raise(run: CheckRun, plan, breaching: set[str]) -> MonitoringAlert | None:
    breaches = rank_breaches(item for item in run.evaluations if item["status"] in breaching)
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
            "plan": plan.pk if plan else None,
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


# ------------------------------------------------------------------------------------------- handling

MAX_SNOOZE = dt.timedelta(days=90)
MIN_SNOOZE = dt.timedelta(minutes=5)
MAX_REASON = 2000
# what each state may become (on the state as read now: an expired snooze is open again)
ALERT_TRANSITIONS: dict[str, frozenset[str]] = {
    AlertState.OPEN: frozenset({AlertState.ACKNOWLEDGED, AlertState.SNOOZED, AlertState.ESCALATED}),
    AlertState.ACKNOWLEDGED: frozenset({AlertState.SNOOZED, AlertState.ESCALATED}),
    AlertState.SNOOZED: frozenset({AlertState.ACKNOWLEDGED, AlertState.SNOOZED, AlertState.ESCALATED}),
    AlertState.ESCALATED: frozenset(),
}


def alert_state(alert: MonitoringAlert, now: dt.datetime | None = None) -> str:
    """The state as people see it: a snooze that has ended reads as open (the alert reappears)."""
    if (
        alert.state == AlertState.SNOOZED
        and alert.snoozed_until
        and alert.snoozed_until <= (now or timezone.now())
    ):
        return AlertState.OPEN
    return alert.state


def alert_facts(alert: MonitoringAlert) -> dict[str, Any]:
    return {
        "state": alert.state,
        "acknowledged_by": alert.acknowledged_by.username if alert.acknowledged_by else None,
        "snoozed_until": alert.snoozed_until,
        "snooze_reason": alert.snooze_reason,
        "escalated_by": alert.escalated_by.username if alert.escalated_by else None,
    }


def _locked(actor: User, alert: MonitoringAlert) -> tuple[MonitoringAlert, str]:
    """The alert locked for a change (after the permission check) and its state as read now."""
    access.require(actor, "handle_alert", alert)
    locked = MonitoringAlert.objects.select_for_update().get(pk=alert.pk)
    return locked, alert_state(locked)


def _check_transition(current: str, target: str) -> None:
    if target not in ALERT_TRANSITIONS[current]:
        allowed = ", ".join(sorted(ALERT_TRANSITIONS[current])) or "none (escalated is final)"
        raise InvalidTransition(
            f"An {current} alert cannot become {target}; allowed: {allowed}.",
            fields={"state": [f"Allowed: {allowed}."]},
        )


def monitoring_alert_acknowledge(*, actor: User, alert: MonitoringAlert) -> MonitoringAlert:
    """Someone of the model's team or the second line has seen the alert and owns it; audited."""
    with transaction.atomic():
        alert, current = _locked(actor, alert)
        _check_transition(current, AlertState.ACKNOWLEDGED)
        before = alert_facts(alert) | {"state": current}
        alert.state = AlertState.ACKNOWLEDGED
        alert.acknowledged_by = actor
        alert.acknowledged_at = timezone.now()
        alert.save(update_fields=["state", "acknowledged_by", "acknowledged_at"])
        record(
            action="monitoring.alert_acknowledged",
            actor=actor,
            obj=alert,
            before=before,
            after=alert_facts(alert),
        )
    return alert


def monitoring_alert_snooze(
    *, actor: User, alert: MonitoringAlert, reason: str, until: dt.datetime
) -> MonitoringAlert:
    """Hide the alert until ``until`` (at least five minutes, at most 90 days ahead) for a written reason.

    Guarantees: ValidationError naming ``reason`` or ``until`` and nothing written for a bad input; the
    alert reads as open again once ``until`` has passed.
    """
    access.require(actor, "handle_alert", alert)
    reason = (reason or "").strip()
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = ["Say why the alert may wait."]
    elif len(reason) > MAX_REASON:
        errors["reason"] = [f"At most {MAX_REASON} characters."]
    if until is None or timezone.is_naive(until):
        errors["until"] = ["Give the end of the snooze as a date and time with its time zone."]
    elif until < now + MIN_SNOOZE:
        errors["until"] = ["The snooze must end at least 5 minutes from now."]
    elif until > now + MAX_SNOOZE:
        errors["until"] = [f"At most {MAX_SNOOZE.days} days from now."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        alert, current = _locked(actor, alert)
        _check_transition(current, AlertState.SNOOZED)
        before = alert_facts(alert) | {"state": current}
        alert.state = AlertState.SNOOZED
        alert.snoozed_by = actor
        alert.snoozed_at = now
        alert.snooze_reason = reason
        alert.snoozed_until = until
        alert.save(update_fields=["state", "snoozed_by", "snoozed_at", "snooze_reason", "snoozed_until"])
        record(
            action="monitoring.alert_snoozed",
            actor=actor,
            obj=alert,
            before=before,
            after=alert_facts(alert),
            reason=reason,
        )
    return alert


def monitoring_alert_mark_escalated(
    *, actor: User, alert: MonitoringAlert, finding_id: int
) -> MonitoringAlert | None:
    """Record that the alert was escalated to finding ``finding_id`` (the workflow's findings service
    calls this in its own transaction); None when it already was (escalating is idempotent)."""
    alert, current = _locked(actor, alert)
    if current == AlertState.ESCALATED:
        return None
    _check_transition(current, AlertState.ESCALATED)
    before = alert_facts(alert) | {"state": current}
    alert.state = AlertState.ESCALATED
    alert.escalated_by = actor
    alert.escalated_at = timezone.now()
    alert.save(update_fields=["state", "escalated_by", "escalated_at"])
    record(
        action="monitoring.alert_escalated",
        actor=actor,
        obj=alert,
        before=before,
        after=alert_facts(alert) | {"finding": finding_id, "check_run": alert.check_run_id},
    )
    return alert
