"""API routes of this app (mounted under /api/v1/ by config/urls.py)."""

from django.urls import include, path, re_path
from rest_framework.routers import SimpleRouter

from monitoring.api.checks import CheckRunViewSet
from monitoring.api.comparison import ModelComparisonView
from monitoring.api.judged import JudgedEvaluationViewSet
from monitoring.api.plans import MonitoringPlanViewSet
from monitoring.api.redteam import RedTeamRunViewSet
from registry.api.common import NAME_REGEX

router = SimpleRouter(trailing_slash=True)
router.register("checks", CheckRunViewSet, basename="check-run")
router.register("monitoring-plans", MonitoringPlanViewSet, basename="monitoring-plan")
router.register(
    rf"models/(?P<model_name>{NAME_REGEX})/versions/(?P<version>[0-9]+)/red-team-runs",
    RedTeamRunViewSet,
    basename="red-team-run",
)
router.register(
    rf"models/(?P<model_name>{NAME_REGEX})/versions/(?P<version>[0-9]+)/judged-evaluations",
    JudgedEvaluationViewSet,
    basename="judged-evaluation",
)

urlpatterns = [
    path("", include(router.urls)),
    re_path(
        rf"^models/(?P<model_name>{NAME_REGEX})/compare/$",
        ModelComparisonView.as_view(),
        name="model-compare",
    ),
]
