"""The integrations' API routes, under /api/v1/."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from integrations.api.mlflow import RegistryViewSet, SyncViewSet, WebhookReceiver

router = SimpleRouter(trailing_slash=True)
router.register("mlflow/registries", RegistryViewSet, basename="mlflow-registry")
router.register("mlflow/syncs", SyncViewSet, basename="mlflow-sync")

urlpatterns = [
    path("mlflow/registries/<slug:name>/webhook/", WebhookReceiver.as_view(), name="mlflow-webhook"),
    path("", include(router.urls)),
]
