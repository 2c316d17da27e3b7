"""API routes of this app (mounted under /api/v1/ by config/urls.py)."""

from django.urls import include, path, re_path
from rest_framework.routers import SimpleRouter

from registry.api.bundles import ModelBundleView
from registry.api.common import NAME_REGEX
from registry.api.datasets import DatasetVersionViewSet, DatasetViewSet
from registry.api.lineage import OpenLineageView, TieringRuleViewSet
from registry.api.models import ModelViewSet, TierChangeViewSet
from registry.api.versions import ModelAliasViewSet, ModelVersionViewSet

router = SimpleRouter(trailing_slash=True)
router.register("models", ModelViewSet, basename="model")
router.register(
    rf"models/(?P<model_name>{NAME_REGEX})/versions", ModelVersionViewSet, basename="model-version"
)
router.register(rf"models/(?P<model_name>{NAME_REGEX})/aliases", ModelAliasViewSet, basename="model-alias")
router.register("datasets", DatasetViewSet, basename="dataset")
router.register(
    rf"datasets/(?P<dataset_name>{NAME_REGEX})/versions", DatasetVersionViewSet, basename="dataset-version"
)
router.register("tiering-rules", TieringRuleViewSet, basename="tiering-rule")
router.register("tier-changes", TierChangeViewSet, basename="tier-change")

urlpatterns = [
    # openlineage-python's HTTP transport posts to "api/v1/lineage" without a trailing slash.
    re_path(r"^lineage/?$", OpenLineageView.as_view(), name="openlineage"),
    re_path(
        rf"^models/(?P<model_name>{NAME_REGEX})/bundles/$", ModelBundleView.as_view(), name="model-bundle"
    ),
    path("", include(router.urls)),
]
