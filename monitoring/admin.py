"""Admin console views of check runs, plans and alerts: read-only, because every write goes through
the services (which check permission, keep PeriodicTasks in step and audit the change)."""

from __future__ import annotations

from django.contrib import admin

from monitoring.models import CheckRun, MonitoringAlert, MonitoringPlan


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CheckRun)
class CheckRunAdmin(ReadOnlyAdmin):
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


@admin.register(MonitoringPlan)
class MonitoringPlanAdmin(ReadOnlyAdmin):
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
    list_select_related = ("model_version__model", "dataset")


@admin.register(MonitoringAlert)
class MonitoringAlertAdmin(ReadOnlyAdmin):
    list_display = ("id", "plan", "check_run", "metric", "severity", "value", "threshold", "created_at")
    list_filter = ("severity",)
