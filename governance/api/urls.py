from django.urls import include, path
from rest_framework.routers import SimpleRouter

from governance.api.audit import AuditCheckpointViewSet, AuditEventViewSet, AuditVerificationViewSet
from governance.api.auth import LogoutAllView, LogoutView, ObtainTokenView, TokenViewSet
from governance.api.teams import TeamViewSet

router = SimpleRouter(trailing_slash=True)
router.register("auth/tokens", TokenViewSet, basename="token")
router.register("teams", TeamViewSet, basename="team")
router.register("audit/events", AuditEventViewSet, basename="audit-event")
router.register("audit/checkpoints", AuditCheckpointViewSet, basename="audit-checkpoint")
router.register("audit/verifications", AuditVerificationViewSet, basename="audit-verification")


def _export(method: str, export_format: str):
    renderers = AuditEventViewSet.export_renderers[export_format]
    return AuditEventViewSet.as_view({"get": method}, renderer_classes=renderers)


urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="auth-token"),
    path("auth/logout/", LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all/", LogoutAllView.as_view(), name="auth-logout-all"),
    path("audit/events/export.csv", _export("export_csv", "csv"), name="audit-event-export-csv"),
    path("audit/events/export.jsonl", _export("export_jsonl", "jsonl"), name="audit-event-export-jsonl"),
    path("", include(router.urls)),
]
