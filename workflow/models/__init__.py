"""The governance workflow's models: policies and the control catalogue, evidence, approvals and their
signatures, findings, deployments, periodic reviews and webhooks.

They moved here from the ``governance`` app (now ``accounts``) without touching the database: each keeps
its table (``db_table``) and, in the audit trail, its object type (``AUDIT_OBJECT_TYPE``).
"""

from workflow.models.approvals import (
    ApprovalRequest,
    ApprovalStatus,
    AssignmentKind,
    Decision,
    Environment,
    Meaning,
    Signature,
    StageAssignment,
)
from workflow.models.deployments import Deployment, DeploymentStatus, Strategy
from workflow.models.findings import (
    ActionPlan,
    ExtensionRequest,
    ExtensionStatus,
    Finding,
    FindingAttachment,
    FindingComment,
    FindingStatus,
    Milestone,
    Severity,
)
from workflow.models.notifications import (
    Notification,
    NotificationDigest,
    NotificationKind,
    WebhookDelivery,
    WebhookEndpoint,
)
from workflow.models.policies import (
    Control,
    EvidenceChange,
    EvidenceDocument,
    EvidenceType,
    Framework,
    Policy,
)
from workflow.models.reviews import PeriodicReview, ReviewConclusion, ReviewNotice, ReviewStatus
from workflow.models.validation_documents import (
    Rating,
    ValidationDocument,
    ValidationDocumentRevision,
    ValidationTemplate,
)

__all__ = [
    "ActionPlan",
    "ApprovalRequest",
    "ApprovalStatus",
    "AssignmentKind",
    "Control",
    "Decision",
    "Deployment",
    "DeploymentStatus",
    "Environment",
    "EvidenceChange",
    "EvidenceDocument",
    "EvidenceType",
    "ExtensionRequest",
    "ExtensionStatus",
    "Finding",
    "FindingAttachment",
    "FindingComment",
    "FindingStatus",
    "Framework",
    "Meaning",
    "Milestone",
    "Notification",
    "NotificationDigest",
    "NotificationKind",
    "PeriodicReview",
    "Policy",
    "Rating",
    "ReviewConclusion",
    "ReviewNotice",
    "ReviewStatus",
    "Severity",
    "Signature",
    "StageAssignment",
    "Strategy",
    "ValidationDocument",
    "ValidationDocumentRevision",
    "ValidationTemplate",
    "WebhookDelivery",
    "WebhookEndpoint",
]
