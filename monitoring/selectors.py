"""Monitoring reads that a user sees. Each takes the user and returns a permission-scoped queryset.

Lists fetch what their serializers need in a fixed number of queries (select_related for the version,
model, team and datasets; the API defers the large JSON columns in lists), whatever the page size.
"""

from __future__ import annotations

from django.db.models import QuerySet

from accounts import access
from monitoring.models import CheckRun, MonitoringAlert, MonitoringPlan

_RUN_RELATIONS = (
    "model_version__model__team",
    "reference_dataset__dataset",
    "current_dataset__dataset",
    "requested_by",
)


def check_run_detail(*, user) -> QuerySet[CheckRun]:
    """Runs the user may see, with everything (results, evaluations, diagnostics)."""
    return access.scope(user, CheckRun.objects.select_related(*_RUN_RELATIONS)).order_by("-created_at", "-id")


def monitoring_plan_list(*, user) -> QuerySet[MonitoringPlan]:
    """Live (not deleted) plans on versions the user may see."""
    queryset = MonitoringPlan.objects.select_related(
        "model_version__model__team",
        "dataset",
        "reference_dataset__dataset",
        "last_batch__dataset",
        "created_by",
    ).filter(deleted_at__isnull=True)
    return access.scope(user, queryset).order_by("-created_at", "-id")


def monitoring_alert_list(*, user, plan: MonitoringPlan | None = None) -> QuerySet[MonitoringAlert]:
    queryset = MonitoringAlert.objects.select_related("plan", "check_run")
    if plan is not None:
        queryset = queryset.filter(plan=plan)
    return access.scope(user, queryset).order_by("-created_at", "-id")
