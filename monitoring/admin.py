"""Admin console views of check runs, plans and alerts: read-only, because every write goes through
the services (which check permission, keep PeriodicTasks in step and audit the change)."""

from __future__ import annotations

from django.contrib import admin

from accounts.admin_support import ReadOnlyAdmin
from monitoring.models import (
    CheckRun,
    JudgedEvaluation,
    MonitoringAlert,
    MonitoringPlan,
    RedTeamRun,
    TelemetryBucket,
    TelemetryContent,
    TelemetryMonitor,
)


class MonitoringAdmin(ReadOnlyAdmin):
    section = "checks"


@admin.register(CheckRun)
class CheckRunAdmin(MonitoringAdmin):
    read_only_reason = (
        "A check run's inputs and results are fixed once it runs; start checks on the Checks page."
    )
    list_display = (
        "id",
        "kind",
        "model_version",
        "status",
        "outcome",
        "attempts",
        "created_at",
        "finished_at",
    )
    list_filter = ("kind", "status", "outcome")
    list_select_related = ("model_version__model",)
    search_fields = ("model_version__model__name", "celery_task_id", "result_sha256")

    def view_on_site(self, obj):
        return f"/checks/{obj.pk}/"


@admin.register(MonitoringPlan)
class MonitoringPlanAdmin(MonitoringAdmin):
    read_only_reason = (
        "Monitoring plans are created and changed through the API, which keeps their schedules in step."
    )
    list_display = (
        "id",
        "title",
        "model_version",
        "dataset",
        "enabled",
        "last_run_at",
        "next_run_at",
        "deleted_at",
    )
    list_filter = ("enabled",)
    search_fields = ("title", "model_version__model__name")
    list_select_related = ("model_version__model", "dataset")


@admin.register(MonitoringAlert)
class MonitoringAlertAdmin(MonitoringAdmin):
    read_only_reason = (
        "Raised by monitoring runs; acknowledged, snoozed or escalated in the alert inbox (Monitoring)."
    )
    list_display = (
        "id",
        "plan",
        "check_run",
        "metric",
        "severity",
        "state",
        "value",
        "threshold",
        "created_at",
    )
    list_filter = ("severity", "state")
    search_fields = ("metric", "plan__title")
    list_select_related = ("plan", "check_run")


@admin.register(RedTeamRun)
class RedTeamRunAdmin(MonitoringAdmin):
    read_only_reason = (
        "An imported red-team report and its rates never change; import reports through the API."
    )
    list_display = (
        "id",
        "format",
        "model_version",
        "attempts",
        "failures",
        "attack_success_rate",
        "created_at",
    )
    list_filter = ("format",)
    list_select_related = ("model_version__model",)
    search_fields = ("model_version__model__name", "report_sha256")


@admin.register(JudgedEvaluation)
class JudgedEvaluationAdmin(MonitoringAdmin):
    read_only_reason = "An imported judged evaluation never changes; import files through the API."
    list_display = ("id", "format", "model_version", "judge_model", "created_at")
    list_filter = ("format",)
    list_select_related = ("model_version__model",)
    search_fields = ("model_version__model__name", "file_sha256")


@admin.register(TelemetryMonitor)
class TelemetryMonitorAdmin(MonitoringAdmin):
    read_only_reason = "Set on the version's production telemetry page, which audits the change."
    list_display = (
        "id",
        "model_version",
        "bucket_seconds",
        "min_calls",
        "max_block_rate",
        "max_flag_rate",
        "max_refusal_rate",
        "max_p95_latency_seconds",
        "updated_at",
    )
    search_fields = ("model_version__model__name",)
    list_select_related = ("model_version__model",)


@admin.register(TelemetryBucket)
class TelemetryBucketAdmin(MonitoringAdmin):
    read_only_reason = "Counted by the OTLP intake from the applications' telemetry."
    list_display = (
        "id",
        "model_version",
        "start",
        "width_seconds",
        "calls",
        "blocked",
        "flagged",
        "refusals",
    )
    search_fields = ("model_version__model__name",)
    list_select_related = ("model_version__model",)


@admin.register(TelemetryContent)
class TelemetryContentAdmin(MonitoringAdmin):
    read_only_reason = (
        "Digests of prompts and outputs seen by the OTLP intake (no text unless content storage is on)."
    )
    list_display = ("id", "model_version", "bucket_start", "attribute", "sha256", "length", "received_at")
    search_fields = ("sha256", "model_version__model__name")
    list_select_related = ("model_version__model",)
