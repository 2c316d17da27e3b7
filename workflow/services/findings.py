"""Findings: raised by validators, or automatically from failed checks and monitoring alerts.

Automatic findings are idempotent (``dedupe_key``): one per failed check run and one per alert, however
often the triggering task is delivered. A monitoring alert at or above the policy's review-trigger
severity also puts a model in production under review, which closes the deployment gate.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts import access
from accounts.errors import InvalidTransition
from accounts.models import User
from audit import record
from monitoring.models import CheckKind, CheckRun, MonitoringAlert
from monitoring.services import alerts as alert_services
from registry.models import RegisteredModel
from registry.models.inventory import ModelStatus
from registry.services.inventory import model_status_set_by_workflow, owner_allowed
from workflow.models import Finding, FindingStatus, NotificationKind, Severity
from workflow.models.findings import FINDING_TRANSITIONS, SEVERITY_RANK
from workflow.services import inbox, notifications
from workflow.services.policies import policy_active

DUE_DAYS = {Severity.CRITICAL: 14, Severity.HIGH: 30, Severity.MEDIUM: 60, Severity.LOW: 90}
# Monitoring alerts are "warning" (a warn outcome on a plan that alerts on warnings) or "critical" (a
# failed check). A warning is not a high-severity finding: mapped to high it would block approvals and
# put tier-1 models under review just as a failure does.
ALERT_SEVERITY = {"warning": Severity.MEDIUM, "critical": Severity.CRITICAL}


def finding_raise(
    *,
    actor: User,
    model: RegisteredModel,
    severity: str,
    title: str,
    description: str = "",
    owner: User | None = None,
    due_date: dt.date | None = None,
    version=None,
    check_run: CheckRun | None = None,
) -> Finding:
    """A validator, risk officer or administrator records a finding against a model (or one version)."""
    access.require(actor, "raise_finding", model)
    _check_fields(severity, title, owner, model)
    with transaction.atomic():
        finding = Finding.objects.create(
            model=model,
            model_version=version,
            check_run=check_run,
            source="review",
            severity=severity,
            title=title,
            description=description,
            owner=owner or default_owner(model),
            raised_by=actor,
            due_date=due_date or _default_due(severity),
        )
        _announce(actor, finding)
    return finding


def _check_fields(severity: str, title: str, owner: User | None, model: RegisteredModel) -> None:
    errors = {}
    if severity not in Severity.values:
        errors["severity"] = [f"Must be one of {', '.join(Severity.values)}."]
    if not title.strip():
        errors["title"] = ["A short title is required."]
    if owner is not None and not access.can(owner, "view", model):
        errors["owner"] = ["The owner must be able to see the model."]
    if errors:
        raise ValidationError(errors)


def default_owner(model: RegisteredModel) -> User:
    """Who a finding is assigned to when nobody is named: the model's owner while they may see it (a member
    of the owning team or a grantee), else who registered the model, else the owner all the same (the
    registry refuses an owner outside the team; this covers records made before that rule)."""
    for candidate in (model.owner, model.created_by):
        if candidate is not None and owner_allowed(candidate, model.team, model):
            return candidate
    return model.owner


def _default_due(severity: str) -> dt.date:
    return timezone.now().date() + dt.timedelta(days=DUE_DAYS.get(severity, 90))


def _announce(actor: User | None, finding: Finding) -> None:
    record(action="finding.raised", actor=actor, obj=finding, after=finding_facts(finding))
    team = finding.model.team
    notifications.notify(
        "finding.raised",
        finding_facts(finding) | {"finding": finding.pk},
        team=team,
        recipients=notifications.audience("finding.raised", team=team, owner=finding.owner),
    )
    inbox.notification_send(
        recipients=[finding.owner],
        kind=NotificationKind.FINDING_ASSIGNED,
        title=f"Finding {finding.pk} ({finding.severity}) on {finding.model.name} is yours: {finding.title}",
        link=reverse("finding-detail", args=[finding.pk]),
        obj=finding,
    )


def finding_change_status(*, actor: User, finding: Finding, status: str, resolution: str = "") -> Finding:
    """Move a finding: open → remediated | risk accepted → closed (or back to open).

    Accepting a risk is for risk officers and administrators and needs a written resolution; closing
    is for validators, risk officers and administrators (not the finding's owner alone).
    """
    _check_transition_rights(actor, finding, status, resolution)
    with transaction.atomic():
        finding = Finding.objects.select_for_update().get(pk=finding.pk)
        if status not in FINDING_TRANSITIONS[finding.status]:
            allowed = ", ".join(sorted(FINDING_TRANSITIONS[finding.status])) or "none (closed is final)"
            raise InvalidTransition(
                f"A {finding.status} finding cannot become {status}; allowed: {allowed}.",
                fields={"status": [f"Allowed: {allowed}."]},
            )
        before = {"status": finding.status}
        finding.status = status
        finding.resolution = resolution or finding.resolution
        finding.closed_at = timezone.now() if status == FindingStatus.CLOSED else None
        finding.save(update_fields=["status", "resolution", "closed_at", "updated_at"])
        record(
            action="finding.changed",
            actor=actor,
            obj=finding,
            before=before,
            after={"status": status, "resolution": resolution},
            reason=resolution,
        )
    return finding


def _check_transition_rights(actor: User, finding: Finding, status: str, resolution: str) -> None:
    if status not in FindingStatus.values:
        raise ValidationError({"status": [f"Must be one of {', '.join(FindingStatus.values)}."]})
    if status == FindingStatus.RISK_ACCEPTED:
        if not access.may(actor, "accept_risk"):
            raise PermissionDenied("Only a risk officer or an administrator can accept a risk.")
        if not resolution.strip():
            raise ValidationError({"resolution": ["Explain why the risk is accepted."]})
    elif status == FindingStatus.CLOSED:
        if not access.may(actor, "close_finding"):
            raise PermissionDenied(
                "Only a validator, a risk officer or an administrator can close a finding."
            )
    elif not (access.can(actor, "change", finding.model) or access.may(actor, "close_finding")):
        raise PermissionDenied("You cannot change this finding.")


def finding_from_check_run(*, run_id: int) -> Finding | None:
    """One high-severity finding for a failed check outcome (idempotent)."""
    run = CheckRun.objects.select_related("model_version__model").get(pk=run_id)
    if run.outcome != "fail":
        return None
    title = f"{run.get_kind_display()} check failed on {run.model_version}"
    return _automatic(
        f"check:{run.pk}",
        run.model_version.model,
        run.model_version,
        run,
        Severity.HIGH,
        title,
        run.outcome_reason,
        source="check",
    )


def finding_from_alert(*, alert_id: int) -> Finding | None:
    """One finding per monitoring alert (idempotent); a severe enough alert puts the model under review."""
    alert = MonitoringAlert.objects.select_related("check_run__model_version__model").get(pk=alert_id)
    run = alert.check_run
    model = run.model_version.model
    severity = ALERT_SEVERITY.get(alert.severity, Severity.HIGH)
    finding = _automatic(
        f"alert:{alert.pk}",
        model,
        run.model_version,
        run,
        severity,
        f"Monitoring alert on {run.model_version}: {alert.title or alert.metric}",
        alert.message,
        source="monitoring",
    )
    _maybe_put_under_review(model, severity, alert)
    return finding


def finding_escalate_alert(
    *, actor: User, alert: MonitoringAlert, severity: str | None = None
) -> tuple[Finding, bool]:
    """A person escalates a monitoring alert to a finding on its check run; ``(finding, created)``.

    Guarantees: one finding per alert whichever path gets there first (the key ``alert:<id>`` is the
    automatic path's too), so escalating twice, or escalating an alert the alert task already turned
    into a finding, links that finding and creates none; the alert becomes ``escalated`` in the same
    transaction; both audited. A finding raised here puts a model in production under review when its
    severity reaches the policy's trigger, as the alert task's finding would. Who may: the model's team
    and the second line (``handle_alert``).
    """
    access.require(actor, "handle_alert", alert)
    if severity is not None and severity not in Severity.values:
        raise ValidationError({"severity": [f"Must be one of {', '.join(Severity.values)}."]})
    with transaction.atomic():
        alert = (
            MonitoringAlert.objects.select_for_update(of=("self",))
            .select_related("check_run__model_version__model")
            .get(pk=alert.pk)
        )
        key = f"alert:{alert.pk}"
        finding = Finding.objects.filter(dedupe_key=key).first()
        created = finding is None
        if created:
            run = alert.check_run
            model = run.model_version.model
            chosen = severity or ALERT_SEVERITY.get(alert.severity, Severity.HIGH)
            try:
                with transaction.atomic():
                    finding = Finding.objects.create(
                        model=model,
                        model_version=run.model_version,
                        check_run=run,
                        source="monitoring",
                        severity=chosen,
                        title=f"Monitoring alert on {run.model_version}: {alert.title or alert.metric}"[:300],
                        description=alert.message,
                        owner=default_owner(model),
                        raised_by=actor,
                        dedupe_key=key,
                        due_date=_default_due(chosen),
                    )
                    _announce(actor, finding)
            except IntegrityError:  # the alert task raised it meanwhile
                finding, created = Finding.objects.get(dedupe_key=key), False
        alert_services.monitoring_alert_mark_escalated(actor=actor, alert=alert, finding_id=finding.pk)
        if created:  # as the alert task would have: a severe enough finding puts the model under review
            _maybe_put_under_review(finding.model, finding.severity, alert)
    return finding, created


def _automatic(
    dedupe_key, model, version, run, severity, title, description, *, source: str
) -> Finding | None:
    if Finding.objects.filter(dedupe_key=dedupe_key).exists():
        return None
    try:
        with transaction.atomic():
            finding = Finding.objects.create(
                model=model,
                model_version=version,
                check_run=run,
                source=source,
                severity=severity,
                title=title[:300],
                description=description,
                owner=default_owner(model),
                dedupe_key=dedupe_key,
                due_date=_default_due(severity),
            )
            _announce(None, finding)
    except IntegrityError:  # a concurrent delivery of the same trigger got there first
        return None
    return finding


def _maybe_put_under_review(model: RegisteredModel, severity: str, alert: MonitoringAlert) -> None:
    policy = policy_active(tier=model.risk_tier)
    if SEVERITY_RANK[severity] < SEVERITY_RANK[policy.review_trigger_severity]:
        return
    with transaction.atomic():
        locked = RegisteredModel.objects.select_for_update().get(pk=model.pk)
        if locked.status != ModelStatus.IN_PRODUCTION:
            return
        model_status_set_by_workflow(
            model=locked,
            status=ModelStatus.UNDER_REVIEW,
            reason=f"monitoring alert {alert.pk} ({severity}): {alert.message}",
        )
        notifications.notify(
            "gate.closed",
            {"model": model.name, "reason": "under review", "alert": alert.pk},
            team=model.team,
            recipients=notifications.audience("gate.closed", team=model.team, owner=model.owner),
        )


def finding_facts(finding: Finding) -> dict[str, Any]:
    return {
        "model": finding.model.name,
        "version": finding.model_version.version if finding.model_version else None,
        "severity": finding.severity,
        "title": finding.title,
        "status": finding.status,
        "owner": finding.owner.username,
        "due_date": finding.due_date,
        "source": finding.source,
    }


SWEEP_WINDOW = dt.timedelta(days=2)


def findings_sweep(*, now: dt.datetime | None = None) -> int:
    """Findings for recent failed check runs and alerts that do not have one yet; returns how many.

    Monitoring does not call the workflow (layering); this periodic sweep, plus the alert task it
    names, is how failures reach findings. Both paths are idempotent through ``dedupe_key``.
    """
    since = (now or timezone.now()) - SWEEP_WINDOW
    raised = 0
    # A plan's run and a telemetry bucket's run reach a finding through their alert: one finding each.
    failed = CheckRun.objects.filter(outcome="fail", finished_at__gte=since, plan__isnull=True).exclude(
        kind=CheckKind.TELEMETRY
    )
    for run_id in failed.exclude(findings__source="check").values_list("pk", flat=True):
        raised += finding_from_check_run(run_id=run_id) is not None
    alerts = MonitoringAlert.objects.filter(created_at__gte=since)
    for alert_id in alerts.exclude(check_run__findings__source="monitoring").values_list("pk", flat=True):
        raised += finding_from_alert(alert_id=alert_id) is not None
    return raised
