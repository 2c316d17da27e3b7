"""API routes of this app (mounted under /api/v1/ by config/urls.py)."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from monitoring.api.checks import CheckRunViewSet
from monitoring.api.plans import MonitoringPlanViewSet

router = SimpleRouter(trailing_slash=True)
router.register("checks", CheckRunViewSet, basename="check-run")
router.register("monitoring-plans", MonitoringPlanViewSet, basename="monitoring-plan")

urlpatterns = [path("", include(router.urls))]
