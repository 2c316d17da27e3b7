"""Monitoring reads that a user sees. Each takes the user and returns a permission-scoped queryset.

Lists fetch what their serializers need in a fixed number of queries (select_related for the version,
model, team and datasets; the API defers the large JSON columns in lists), whatever the page size.
"""

from __future__ import annotations

from django.db.models import Case, CharField, F, QuerySet, Value, When
from django.db.models.functions import Now

from accounts import access
from monitoring.models import (
    AlertState,
    CheckRun,
    JudgedEvaluation,
    MonitoringAlert,
    MonitoringPlan,
    RedTeamRun,
    RunStatus,
)

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
    """Alerts on versions the user may see, each annotated ``current_state``: its ``state``, except that
    a snooze which has ended reads ``open`` (the alert reappears without anything having to run)."""
    queryset = MonitoringAlert.objects.select_related(
        "plan",
        "check_run__model_version__model",
        "acknowledged_by",
        "snoozed_by",
        "escalated_by",
    ).annotate(current_state=CURRENT_STATE)
    if plan is not None:
        queryset = queryset.filter(plan=plan)
    return access.scope(user, queryset).order_by("-created_at", "-id")


CURRENT_STATE = Case(
    When(state=AlertState.SNOOZED, snoozed_until__lte=Now(), then=Value(AlertState.OPEN.value)),
    default=F("state"),
    output_field=CharField(),
)


TREND_RUNS = 200


def plan_runs(*, plan: MonitoringPlan, limit: int = TREND_RUNS) -> list[CheckRun]:
    """A plan's newest ``limit`` succeeded runs, oldest first (what its trends are drawn from). The caller
    has the plan through ``monitoring_plan_list`` already, so the runs are in the user's scope."""
    newest = (
        CheckRun.objects.filter(plan=plan, status=RunStatus.SUCCEEDED)
        .defer("diagnostics", "library_versions", "config", "progress")
        .order_by("-finished_at", "-pk")[:limit]
    )
    return list(reversed(newest))


def red_team_run_list(*, user, version=None) -> QuerySet[RedTeamRun]:
    """Red-team runs on versions the user may see (optionally of one version), newest first."""
    queryset = RedTeamRun.objects.select_related("model_version__model__team", "imported_by")
    if version is not None:
        queryset = queryset.filter(model_version=version)
    return access.scope(user, queryset).order_by("-created_at", "-id")


def judged_evaluation_list(*, user, version=None) -> QuerySet[JudgedEvaluation]:
    """Judged evaluations on versions the user may see (optionally of one version), newest first."""
    queryset = JudgedEvaluation.objects.select_related("model_version__model__team", "imported_by")
    if version is not None:
        queryset = queryset.filter(model_version=version)
    return access.scope(user, queryset).order_by("-created_at", "-id")
