"""Monitoring plans: scheduled checks of a version against each new production batch."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from celery.schedules import crontab as celery_crontab
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from accounts import access
from accounts.models import User
from audit import record
from monitoring.checks import KINDS
from monitoring.models import CheckRun, MonitoringPlan, RunStatus
from monitoring.services import runs
from registry.models import Dataset, DatasetVersion, ModelVersion
from registry.models.datasets import DatasetRole

PLAN_TASK = "monitoring.tasks.run_monitoring_plan"
MIN_INTERVAL_SECONDS = 60
MAX_INTERVAL_SECONDS = 366 * 24 * 3600  # a plan runs at least once a year (and fits its integer column)
MAX_CHECKS = 20
EDITABLE = ("title", "reference_dataset", "checks", "crontab", "interval_seconds", "enabled", "alert_on")


def monitoring_plan_create(
    *,
    actor: User,
    version: ModelVersion,
    dataset: Dataset,
    checks: list[dict[str, Any]],
    reference: DatasetVersion | None = None,
    crontab: str = "",
    interval_seconds: int | None = None,
    enabled: bool = True,
    alert_on: str = "fail",
    title: str = "",
) -> MonitoringPlan:
    """Create a plan and its PeriodicTask in one transaction, audited ``monitoring_plan.created``.

    Guarantees: only people who may change the version (its team's ML engineers, admins) create plans;
    exactly one schedule is given and valid; every check's configuration is valid against the
    reference and the dataset's newest version (ValidationError naming the field otherwise).
    """
    access.require(actor, "change", version)
    plan = MonitoringPlan(
        title=title,
        model_version=version,
        dataset=dataset,
        reference_dataset=reference,
        checks=checks,
        crontab=crontab.strip(),
        interval_seconds=interval_seconds,
        enabled=enabled,
        alert_on=alert_on,
        created_by=actor,
    )
    _validate(plan)
    with transaction.atomic():
        plan.save()
        _sync_periodic_task(plan)
        record(action="monitoring_plan.created", actor=actor, obj=plan, after=plan_facts(plan))
    return plan


def monitoring_plan_update(*, actor: User, plan: MonitoringPlan, **changes: Any) -> MonitoringPlan:
    """Change a plan's checks, schedule, reference or switches; its PeriodicTask follows in the same transaction."""
    access.require(actor, "change", plan.model_version)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: ["This field cannot be changed."]})
    with transaction.atomic():
        plan = MonitoringPlan.objects.select_for_update().get(pk=plan.pk)
        before = plan_facts(plan)
        for name, value in changes.items():
            setattr(plan, name, value.strip() if name == "crontab" else value)
        if "crontab" in changes and plan.crontab and "interval_seconds" not in changes:
            plan.interval_seconds = None
        if changes.get("interval_seconds") is not None and "crontab" not in changes:
            plan.crontab = ""
        _validate(plan)
        plan.save()
        _sync_periodic_task(plan)
        record(action="monitoring_plan.changed", actor=actor, obj=plan, before=before, after=plan_facts(plan))
    return plan


def monitoring_plan_delete(*, actor: User, plan: MonitoringPlan) -> None:
    """Remove the plan's schedule and mark it deleted; its runs and alerts keep pointing at it."""
    access.require(actor, "change", plan.model_version)
    with transaction.atomic():
        plan = MonitoringPlan.objects.select_for_update().get(pk=plan.pk)
        before = plan_facts(plan)
        task = plan.periodic_task
        plan.periodic_task = None
        plan.enabled = False
        plan.deleted_at = timezone.now()
        plan.next_run_at = None
        plan.save()
        if task is not None:
            task.delete()
        record(action="monitoring_plan.deleted", actor=actor, obj=plan, before=before)


def plan_facts(plan: MonitoringPlan) -> dict[str, Any]:
    return {
        "title": plan.title,
        "model_version": str(plan.model_version),
        "dataset": plan.dataset.name,
        "reference": str(plan.reference_dataset) if plan.reference_dataset else None,
        "checks": plan.checks,
        "schedule": plan.schedule_text,
        "enabled": plan.enabled,
        "alert_on": plan.alert_on,
    }


def _validate(plan: MonitoringPlan) -> None:
    _validate_schedule(plan)
    if plan.alert_on not in ("fail", "warn"):
        raise ValidationError({"alert_on": ["Use 'fail' or 'warn'."]})
    _validate_checks(plan)


def _validate_schedule(plan: MonitoringPlan) -> None:
    if bool(plan.crontab) == (plan.interval_seconds is not None):
        raise ValidationError({"schedule": ["Give exactly one of crontab and interval_seconds."]})
    if plan.interval_seconds is not None and not (
        MIN_INTERVAL_SECONDS <= plan.interval_seconds <= MAX_INTERVAL_SECONDS
    ):
        raise ValidationError(
            {"interval_seconds": [f"From {MIN_INTERVAL_SECONDS} to {MAX_INTERVAL_SECONDS:,} seconds."]}
        )
    if plan.crontab:
        _crontab_fields(plan.crontab)


def _crontab_fields(text: str) -> dict[str, str]:
    parts = text.split()
    if len(parts) != 5:
        raise ValidationError({"crontab": ["Five fields: minute hour day-of-month month day-of-week."]})
    fields = dict(zip(("minute", "hour", "day_of_month", "month_of_year", "day_of_week"), parts, strict=True))
    try:
        celery_crontab(**fields)
    except (ValueError, TypeError) as exc:
        raise ValidationError({"crontab": [f"Not a valid crontab: {exc}"]}) from None
    return fields


def _validate_checks(plan: MonitoringPlan) -> None:
    """Each entry is ``{"kind", "config"}`` and valid against the schemas known now.

    Future batches may differ; each run validates again against its own batch (see monitoring_plan_run).
    """
    if not isinstance(plan.checks, list) or not plan.checks:
        raise ValidationError({"checks": ["List at least one check."]})
    if len(plan.checks) > MAX_CHECKS:
        raise ValidationError({"checks": [f"At most {MAX_CHECKS} checks per plan."]})
    stand_in = DatasetVersion.objects.filter(dataset=plan.dataset).order_by("-version").first()
    for index, entry in enumerate(plan.checks):
        if not isinstance(entry, dict) or entry.get("kind") not in KINDS or set(entry) - {"kind", "config"}:
            raise ValidationError(
                {f"checks[{index}]": [f'Expected {{"kind": one of {sorted(KINDS)}, "config": {{}}}}.']}
            )
        reference = plan.reference_dataset if runs._uses_reference(entry["kind"]) else None
        try:
            KINDS[entry["kind"]].normalise(
                entry.get("config") or {},
                version=plan.model_version,
                reference=reference,
                current=stand_in or plan.reference_dataset,
            )
        except ValidationError as exc:
            raise ValidationError(
                {f"checks[{index}].{key}": value for key, value in exc.message_dict.items()}
            ) from None


def _schedule(plan: MonitoringPlan) -> dict[str, Any]:
    if plan.crontab:
        crontab, _ = CrontabSchedule.objects.get_or_create(**_crontab_fields(plan.crontab), timezone="UTC")
        return {"crontab": crontab, "interval": None}
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=plan.interval_seconds, period=IntervalSchedule.SECONDS
    )
    return {"crontab": None, "interval": interval}


def _sync_periodic_task(plan: MonitoringPlan) -> None:
    """Create or update the plan's PeriodicTask so that beat (database scheduler) runs it as planned."""
    task = plan.periodic_task or PeriodicTask(name=f"monitoring-plan-{plan.pk}")
    for name, value in _schedule(plan).items():
        setattr(task, name, value)
    task.task = PLAN_TASK
    task.args = json.dumps([plan.pk])
    task.enabled = plan.enabled
    task.description = f"Monitoring plan #{plan.pk} for {plan.model_version} ({plan.schedule_text})"
    task.save()
    plan.periodic_task = task
    plan.next_run_at = next_run(plan) if plan.enabled else None
    plan.save(update_fields=["periodic_task", "next_run_at"])


def next_run(plan: MonitoringPlan, after=None):
    now = after or timezone.now()
    if plan.interval_seconds is not None:
        return now + timedelta(seconds=plan.interval_seconds)
    fields = _crontab_fields(plan.crontab)
    return now + celery_crontab(**fields, nowfun=timezone.now).remaining_estimate(now)


def latest_batch(plan: MonitoringPlan) -> DatasetVersion | None:
    """The newest version of the plan's dataset with role 'production batch'."""
    return (
        DatasetVersion.objects.select_related("dataset")
        .filter(dataset=plan.dataset, role=DatasetRole.PRODUCTION_BATCH)
        .order_by("-version")
        .first()
    )


def monitoring_plan_run(*, plan_id: int) -> list[CheckRun]:
    """Queue the plan's checks against the newest production batch, once per batch.

    Guarantees: nothing happens for a deleted or disabled plan, or when no new batch arrived since the
    last run; a check whose configuration no longer fits the new batch (a column disappeared) is
    recorded as a failed run naming the problem rather than skipped silently.
    """
    with transaction.atomic():
        plan = (
            MonitoringPlan.objects.select_for_update(of=("self",))
            .select_related("model_version__model", "reference_dataset__dataset", "dataset")
            .filter(pk=plan_id, deleted_at__isnull=True, enabled=True)
            .first()
        )
        if plan is None:
            return []
        now = timezone.now()
        batch = latest_batch(plan)
        plan.last_run_at = now
        plan.next_run_at = next_run(plan, now)
        fresh = batch is not None and batch.pk != plan.last_batch_id
        if fresh:
            plan.last_batch = batch
        plan.save(update_fields=["last_run_at", "next_run_at", "last_batch"])
        if not fresh:
            return []
        return [_run_entry(plan, entry, batch) for entry in plan.checks]


def _run_entry(plan: MonitoringPlan, entry: dict[str, Any], batch: DatasetVersion) -> CheckRun:
    kind = entry["kind"]
    reference = plan.reference_dataset if runs._uses_reference(kind) else None
    try:
        return runs.check_run_create(
            actor=None,
            kind=kind,
            version=plan.model_version,
            reference=reference,
            current=batch,
            config=entry.get("config") or {},
            plan=plan,
        )
    except ValidationError as exc:
        return _refused_run(plan, kind, reference, batch, entry, exc)


def _refused_run(plan, kind, reference, batch, entry, exc: ValidationError) -> CheckRun:
    messages = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
    version = plan.model_version
    run = CheckRun.objects.create(
        kind=kind,
        model_version=version,
        reference_dataset=reference,
        current_dataset=batch,
        artifact_sha256=version.artifact_sha256,
        reference_sha256=reference.file_sha256 if reference else "",
        current_sha256=batch.file_sha256,
        config=entry.get("config") or {},
        plan=plan,
        status=RunStatus.FAILED,
        error_type="InvalidConfiguration",
        error_message=f"The plan's {kind} check does not fit production batch {batch}: {messages}",
        finished_at=timezone.now(),
    )
    record(
        action="check.failed",
        actor=None,
        obj=run,
        after={"error_type": run.error_type, "error": run.error_message},
    )
    return run
