from django.urls import include, path
from rest_framework.routers import SimpleRouter

from governance.api.approvals import ApprovalViewSet, SignatureViewSet
from governance.api.audit import AuditCheckpointViewSet, AuditEventViewSet, AuditVerificationViewSet
from governance.api.auth import LogoutAllView, LogoutView, ObtainTokenView, TokenViewSet
from governance.api.evidence import EvidenceViewSet
from governance.api.findings import FindingViewSet
from governance.api.gate import DeploymentViewSet, GateView, ReviewClearView
from governance.api.grants import GrantViewSet
from governance.api.policies import ControlViewSet, PolicyViewSet
from governance.api.reviews import ReviewViewSet
from governance.api.teams import TeamViewSet
from governance.api.totp import TotpView
from governance.api.webhooks import WebhookViewSet

router = SimpleRouter(trailing_slash=True)
router.register("auth/tokens", TokenViewSet, basename="token")
router.register("teams", TeamViewSet, basename="team")
router.register("audit/events", AuditEventViewSet, basename="audit-event")
router.register("audit/checkpoints", AuditCheckpointViewSet, basename="audit-checkpoint")
router.register("audit/verifications", AuditVerificationViewSet, basename="audit-verification")
router.register("policies", PolicyViewSet, basename="policy")
router.register("controls", ControlViewSet, basename="control")
router.register("evidence", EvidenceViewSet, basename="evidence")
router.register("approvals", ApprovalViewSet, basename="approval")
router.register(r"approvals/(?P<approval_pk>[0-9]+)/signatures", SignatureViewSet, basename="signature")
router.register("findings", FindingViewSet, basename="finding")
router.register("deployments", DeploymentViewSet, basename="deployment")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("grants", GrantViewSet, basename="grant")
router.register("reviews", ReviewViewSet, basename="review")


def _export(method: str, export_format: str):
    renderers = AuditEventViewSet.export_renderers[export_format]
    return AuditEventViewSet.as_view({"get": method}, renderer_classes=renderers)


urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="auth-token"),
    path("auth/logout/", LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all/", LogoutAllView.as_view(), name="auth-logout-all"),
    path("audit/events/export.csv", _export("export_csv", "csv"), name="audit-event-export-csv"),
    path("audit/events/export.jsonl", _export("export_jsonl", "jsonl"), name="audit-event-export-jsonl"),
    path("auth/totp/", TotpView.as_view(), name="auth-totp"),
    path("gate/", GateView.as_view(), name="gate"),
    path("reviews/clear/", ReviewClearView.as_view(), name="review-clear"),
    path("", include(router.urls)),
]
