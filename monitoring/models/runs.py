"""Check runs: one execution of one check (drift, fairness, ...) on a model version and its datasets."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models

from jobs.models import LeasedJob


class CheckKind(models.TextChoices):
    DRIFT = "drift", "Drift"
    FAIRNESS = "fairness", "Fairness"
    EXPLAINABILITY = "explainability", "Explainability"
    PERFORMANCE = "performance", "Performance"
    DATA_QUALITY = "data_quality", "Data quality"
    LLM_EVALUATION = "llm_evaluation", "LLM evaluation"
    TELEMETRY = "telemetry", "Production telemetry"


# The kinds a person or a plan may start: a telemetry run is written by the OTLP intake, never requested.
RUNNABLE_KINDS = [(value, label) for value, label in CheckKind.choices if value != CheckKind.TELEMETRY]


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


TERMINAL_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED)


class Outcome(models.TextChoices):
    PASS = "pass", "Pass"
    WARN = "warn", "Warn"
    FAIL = "fail", "Fail"


class CheckRun(LeasedJob):
    """One check on a model version, its inputs pinned by SHA-256, its lifecycle and its evidence.

    Guarantees: status moves queued → running → succeeded | failed (a running run whose lease expired
    may be claimed again by another worker; ``attempts`` counts claims); the results, their
    ``result_sha256`` (SHA-256 of the RFC 8785 bytes of ``results``), the outcome and the status flip
    are written in one transaction, once: the database refuses any change to a succeeded or failed
    run, and refuses deleting any run. The input hashes are copied from the registry when the run is
    queued, and the files are verified against them when the run reads them.
    """

    kind = models.CharField(max_length=20, choices=CheckKind.choices)
    model_version = models.ForeignKey(
        "registry.ModelVersion", on_delete=models.PROTECT, related_name="check_runs"
    )
    reference_dataset = models.ForeignKey(
        "registry.DatasetVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    current_dataset = models.ForeignKey(
        "registry.DatasetVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    artifact_sha256 = models.CharField(max_length=64)
    reference_sha256 = models.CharField(max_length=64, blank=True)
    current_sha256 = models.CharField(max_length=64, blank=True)
    config = models.JSONField(default=dict, help_text="Columns, predictions and options, as resolved.")
    thresholds = models.JSONField(default=dict, help_text='{name: {"value": ..., "source": ...}}')
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress = models.JSONField(default=dict, help_text='{"stage": ..., "current": n, "total": m}')
    results = models.JSONField(null=True, blank=True)
    result_sha256 = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=4, choices=Outcome.choices, blank=True)
    outcome_reason = models.TextField(blank=True)
    evaluations = models.JSONField(
        default=list, blank=True, help_text="Per judged metric: value, rule, status, why."
    )
    diagnostics = models.JSONField(
        default=dict, blank=True, help_text="Machine-dependent facts (timings, sandbox) kept out of results."
    )
    library_versions = models.JSONField(default=dict, blank=True)
    error_type = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    plan = models.ForeignKey(
        "monitoring.MonitoringPlan", null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    task_name = models.CharField(max_length=100, blank=True)
    celery_task_id = models.CharField(max_length=100, blank=True)

    access_team_path = "model_version__model__team"

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "lease_expires_at"], name="monitoring_run_lease_idx"),
            models.Index(fields=["model_version", "kind", "-created_at"], name="monitoring_run_version_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="succeeded")
                | (~models.Q(result_sha256="") & ~models.Q(outcome="")),
                name="monitoring_run_succeeded_has_results",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="failed") | ~models.Q(error_message=""),
                name="monitoring_run_failed_has_error",
            ),
        ]
        # Evidence: a finished run never changes and no run is ever deleted.
        triggers = [
            pgtrigger.Protect(
                name="monitoring_run_finished_fixed",
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__status="succeeded") | pgtrigger.Q(old__status="failed"),
            ),
            pgtrigger.Protect(name="monitoring_run_kept", operation=pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.kind} check #{self.pk}"

    @property
    def outcome_or_none(self) -> str | None:
        return self.outcome or None

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL_STATUSES
