"""The integrations' API routes, under /api/v1/."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from integrations.api.mlflow import RegistryViewSet, SyncViewSet, WebhookReceiver
from integrations.api.siem import SiemDestinationViewSet

router = SimpleRouter(trailing_slash=True)
router.register("mlflow/registries", RegistryViewSet, basename="mlflow-registry")
router.register("mlflow/syncs", SyncViewSet, basename="mlflow-sync")
router.register("siem/destinations", SiemDestinationViewSet, basename="siem-destination")

urlpatterns = [
    path("mlflow/registries/<slug:name>/webhook/", WebhookReceiver.as_view(), name="mlflow-webhook"),
    path("", include(router.urls)),
]
