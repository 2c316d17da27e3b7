"""The governance workflow's API routes (and the audit log's), under /api/v1/."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from workflow.api.alerts import MonitoringAlertViewSet
from workflow.api.approvals import ApprovalViewSet, SignatureViewSet
from workflow.api.audit import AuditCheckpointViewSet, AuditEventViewSet, AuditVerificationViewSet
from workflow.api.evidence import EvidenceViewSet
from workflow.api.finding_management import (
    ActionPlanViewSet,
    ExtensionRequestViewSet,
    FindingAttachmentViewSet,
    FindingCommentViewSet,
)
from workflow.api.findings import FindingViewSet
from workflow.api.gate import DeploymentViewSet, GateView, ReviewClearView
from workflow.api.notifications import NotificationViewSet
from workflow.api.policies import ControlViewSet, PolicyViewSet
from workflow.api.reviews import ReviewViewSet
from workflow.api.validation_documents import ValidationDocumentView
from workflow.api.webhooks import WebhookViewSet

router = SimpleRouter(trailing_slash=True)
router.register("audit/events", AuditEventViewSet, basename="audit-event")
router.register("audit/checkpoints", AuditCheckpointViewSet, basename="audit-checkpoint")
router.register("audit/verifications", AuditVerificationViewSet, basename="audit-verification")
router.register("policies", PolicyViewSet, basename="policy")
router.register("controls", ControlViewSet, basename="control")
router.register("evidence", EvidenceViewSet, basename="evidence")
router.register("approvals", ApprovalViewSet, basename="approval")
router.register(r"approvals/(?P<approval_pk>[0-9]+)/signatures", SignatureViewSet, basename="signature")
router.register("findings", FindingViewSet, basename="finding")
_FINDING = r"findings/(?P<finding_pk>[0-9]+)"
router.register(f"{_FINDING}/comments", FindingCommentViewSet, basename="finding-comment")
router.register(f"{_FINDING}/action-plans", ActionPlanViewSet, basename="finding-action-plan")
router.register(f"{_FINDING}/extension-requests", ExtensionRequestViewSet, basename="finding-extension")
router.register(f"{_FINDING}/attachments", FindingAttachmentViewSet, basename="finding-attachment")
router.register("monitoring-alerts", MonitoringAlertViewSet, basename="monitoring-alert")
router.register("deployments", DeploymentViewSet, basename="deployment")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("reviews", ReviewViewSet, basename="review")
router.register("notifications", NotificationViewSet, basename="notification")


def _export(method: str, export_format: str):
    renderers = AuditEventViewSet.export_renderers[export_format]
    return AuditEventViewSet.as_view({"get": method}, renderer_classes=renderers)


urlpatterns = [
    path("audit/events/export.csv", _export("export_csv", "csv"), name="audit-event-export-csv"),
    path("audit/events/export.jsonl", _export("export_jsonl", "jsonl"), name="audit-event-export-jsonl"),
    path("gate/", GateView.as_view(), name="gate"),
    path(
        "models/<slug:name>/versions/<int:version>/validation-document/",
        ValidationDocumentView.as_view(),
        name="validation-document",
    ),
    path("reviews/clear/", ReviewClearView.as_view(), name="review-clear"),
    path("", include(router.urls)),
]
