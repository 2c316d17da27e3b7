"""Monitoring plans (which checks run on which schedule for a version) and the alerts they raise."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AlertOn(models.TextChoices):
    FAIL = "fail", "Failing outcome"
    WARN = "warn", "Warning or failing outcome"


class MonitoringPlan(models.Model):
    """Checks that run on a schedule for one model version against the newest production batch.

    Guarantees: ``checks`` is a list of ``{"kind", "config"}`` validated when the plan is saved; a live
    plan has exactly one django-celery-beat PeriodicTask (``periodic_task``) that runs
    ``monitoring.tasks.run_monitoring_plan`` with the plan id on ``crontab`` or every
    ``interval_seconds`` (exactly one of the two), enabled exactly when the plan is; deleting a plan
    removes its PeriodicTask and marks the plan deleted (``deleted_at``), so its runs and alerts keep
    their plan. Each production batch is checked once per plan (``last_batch``).
    """

    title = models.CharField(max_length=200, blank=True)
    model_version = models.ForeignKey(
        "registry.ModelVersion", on_delete=models.PROTECT, related_name="monitoring_plans"
    )
    dataset = models.ForeignKey(
        "registry.Dataset",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The dataset whose newest version with role 'production batch' each run checks.",
    )
    reference_dataset = models.ForeignKey(
        "registry.DatasetVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    checks = models.JSONField(default=list, help_text='[{"kind": "drift", "config": {...}}, ...]')
    crontab = models.CharField(max_length=100, blank=True, help_text="Five fields, UTC: '0 6 * * *'.")
    interval_seconds = models.PositiveIntegerField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    alert_on = models.CharField(max_length=4, choices=AlertOn.choices, default=AlertOn.FAIL)
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_batch = models.ForeignKey(
        "registry.DatasetVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    next_run_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    access_team_path = "model_version__model__team"

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(crontab="") & models.Q(interval_seconds__isnull=False))
                | (~models.Q(crontab="") & models.Q(interval_seconds__isnull=True)),
                name="monitoring_plan_one_schedule",
            )
        ]

    def __str__(self) -> str:
        return self.title or f"monitoring plan #{self.pk}"

    @property
    def schedule_text(self) -> str:
        return f"cron {self.crontab} (UTC)" if self.crontab else f"every {self.interval_seconds} s"


class AlertSeverity(models.TextChoices):
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class AlertState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    SNOOZED = "snoozed", "Snoozed"
    ESCALATED = "escalated", "Escalated to a finding"


class MonitoringAlert(models.Model):
    """A plan's check run breached thresholds: every breach, ranked, titled by the worst.

    Guarantees: at most one alert per check run, written in the transaction that finishes the run;
    ``breaches`` lists every evaluation that breached, worst first (status, then how far past its
    threshold), so the alert stands on its own as a record; ``title`` names the worst subject and its
    breaching metrics; ``metric``, ``value`` and ``threshold`` are the single worst evaluation's.

    Handling (``monitoring.services.alerts``): ``state`` moves open → acknowledged | snoozed | escalated
    (an acknowledged or snoozed alert may still be snoozed or escalated; escalated is final). A snoozed
    alert whose ``snoozed_until`` has passed reads as open again (``selectors.alert_state``): nothing
    has to run for it to reappear. Who did what and when is kept per step, and audited.
    """

    # None for an alert raised by production telemetry (its check run is a ``telemetry`` run, no plan's)
    plan = models.ForeignKey(
        MonitoringPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    check_run = models.OneToOneField("monitoring.CheckRun", on_delete=models.PROTECT, related_name="alert")
    title = models.CharField(max_length=300, blank=True)
    metric = models.CharField(max_length=200)
    value = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    severity = models.CharField(max_length=10, choices=AlertSeverity.choices)
    message = models.TextField()
    breaches = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=12, choices=AlertState.choices, default=AlertState.OPEN)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    snoozed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    snoozed_at = models.DateTimeField(null=True, blank=True)
    snooze_reason = models.TextField(blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    escalated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    escalated_at = models.DateTimeField(null=True, blank=True)

    access_team_path = "check_run__model_version__model__team"

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "-created_at"], name="monitoring_alert_state_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state="snoozed")
                | (models.Q(snoozed_until__isnull=False) & ~models.Q(snooze_reason="")),
                name="monitoring_alert_snooze_has_reason_and_expiry",
            )
        ]

    def __str__(self) -> str:
        return f"{self.severity} alert: {self.title or self.metric} (run #{self.check_run_id})"
