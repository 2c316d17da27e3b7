"""UI routes of this app: check runs, their per-feature drift pages, and monitoring plans."""

from django.urls import path

from monitoring import plan_views, telemetry_views, views
from monitoring.api.otlp import LogsIntake, MetricsIntake

urlpatterns = [
    path("checks/", views.check_list, name="check-list"),
    path("checks/new/", views.check_new, name="check-new"),
    path("checks/<int:pk>/", views.check_detail, name="check-detail"),
    path("checks/<int:pk>/progress/", views.check_progress, name="check-progress"),
    path("checks/<int:pk>/features/", plan_views.check_features, name="check-features"),
    path("checks/<int:pk>/features/<path:column>/", plan_views.check_feature, name="check-feature"),
    path("monitoring/plans/", plan_views.plan_list, name="monitoring-plan-list"),
    path("monitoring/plans/new/", plan_views.plan_new, name="monitoring-plan-new"),
    path("monitoring/plans/<int:pk>/", plan_views.plan_detail, name="monitoring-plan-detail"),
    path("monitoring/plans/<int:pk>/edit/", plan_views.plan_edit, name="monitoring-plan-edit"),
    path("monitoring/plans/<int:pk>/enabled/", plan_views.plan_enabled, name="monitoring-plan-enabled"),
    path("monitoring/plans/<int:pk>/delete/", plan_views.plan_delete, name="monitoring-plan-delete"),
    path(
        "models/<slug:name>/versions/<int:number>/telemetry/",
        telemetry_views.version_telemetry,
        name="version-telemetry",
    ),
    # OTLP/HTTP intake (docs/OTLP.md): exporters append v1/logs and v1/metrics to the endpoint /otlp
    path("otlp/v1/logs", LogsIntake.as_view(), name="otlp-logs"),
    path("otlp/v1/metrics", MetricsIntake.as_view(), name="otlp-metrics"),
]
