"""Governance models: accounts and teams, policies, approvals, findings and deployments (the audit log's
models are in the ``audit`` app)."""

from governance.models.accounts import ApiToken, AuthThrottle, Team, User
from governance.models.approvals import (
    ApprovalRequest,
    ApprovalStatus,
    Decision,
    Environment,
    Meaning,
    Signature,
)
from governance.models.deployments import Deployment, DeploymentStatus, Strategy
from governance.models.findings import Finding, FindingStatus, Severity
from governance.models.grants import Grant, GrantLevel
from governance.models.notifications import TotpDevice, WebhookDelivery, WebhookEndpoint
from governance.models.policies import (
    Control,
    EvidenceChange,
    EvidenceDocument,
    EvidenceType,
    Framework,
    Policy,
)
from governance.models.reviews import PeriodicReview, ReviewConclusion, ReviewNotice, ReviewStatus

__all__ = [
    "ApiToken",
    "ApprovalRequest",
    "ApprovalStatus",
    "AuthThrottle",
    "Control",
    "Decision",
    "Deployment",
    "DeploymentStatus",
    "Environment",
    "EvidenceChange",
    "EvidenceDocument",
    "EvidenceType",
    "Finding",
    "FindingStatus",
    "Framework",
    "Grant",
    "GrantLevel",
    "Meaning",
    "PeriodicReview",
    "Policy",
    "ReviewConclusion",
    "ReviewNotice",
    "ReviewStatus",
    "Severity",
    "Signature",
    "Strategy",
    "Team",
    "TotpDevice",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
]
