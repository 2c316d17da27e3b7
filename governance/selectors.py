"""Governance reads that a user sees: always scoped by ``access`` first."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone

from governance import access
from governance.models import (
    ApiToken,
    ApprovalRequest,
    ApprovalStatus,
    Control,
    Deployment,
    EvidenceDocument,
    Finding,
    Policy,
    Signature,
    Team,
    User,
    WebhookEndpoint,
)


def team_list(*, user) -> QuerySet[Team]:
    """Teams the user may see, with members prefetched (two queries whatever the page size)."""
    members = Prefetch("group__user_set", queryset=User.objects.order_by("username").only("id", "username"))
    return (
        access.visible_teams(user)
        .select_related("group")
        .prefetch_related(members)
        .annotate(member_count=Count("group__user", distinct=True))
        .order_by("name")
    )


def token_list(*, user) -> QuerySet[ApiToken]:
    """The user's own live tokens; nobody lists another person's tokens through the API."""
    if not access.is_active_user(user):
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=user, expiry__gt=timezone.now()).order_by("-created")


# --- governance workflow -----------------------------------------------------------------------------


def policy_list(*, user) -> QuerySet:
    if not access.roles_of(user):
        return Policy.objects.none()
    return Policy.objects.select_related("created_by").order_by("tier", "-version")


def control_list(*, user) -> QuerySet:
    if not access.roles_of(user):
        return Control.objects.none()
    return Control.objects.select_related("framework").order_by("framework__key", "key")


def evidence_list(*, user) -> QuerySet:
    documents = EvidenceDocument.objects.select_related(
        "model_version__model", "uploaded_by", "evidence_type"
    )
    return access.scope(user, documents).order_by("-uploaded_at")


def approval_list(*, user) -> QuerySet:
    requests = ApprovalRequest.objects.select_related(
        "model_version__model__team", "model_version__model__owner", "policy", "requested_by"
    ).prefetch_related("signatures__signer")
    return access.scope(user, requests).order_by("-requested_at")


def approvals_awaiting(*, user) -> list:
    """Pending requests whose open stage the user could sign now (role held, not segregated, not signed)."""
    roles = access.roles_of(user)
    waiting = []
    for request in approval_list(user=user).filter(status=ApprovalStatus.PENDING):
        stage = request.policy.stage(request.current_stage_key)
        if stage is None or stage["role"] not in roles:
            continue
        parties = {
            request.requested_by_id,
            request.model_version.created_by_id,
            request.model_version.model.owner_id,
        }
        if user.pk in parties or any(sig.signer_id == user.pk for sig in request.signatures.all()):
            continue
        waiting.append(request)
    return waiting


def signature_list(*, user) -> QuerySet:
    return access.scope(user, Signature.objects.select_related("signer", "request")).order_by("signed_at")


def finding_list(*, user) -> QuerySet:
    findings = Finding.objects.select_related("model", "model_version", "owner", "raised_by")
    return access.scope(user, findings).order_by("-raised_at")


def deployment_list(*, user) -> QuerySet:
    deployments = Deployment.objects.select_related("model_version__model", "deployed_by", "rolled_back_by")
    return access.scope(user, deployments).order_by("-deployed_at")


def webhook_list(*, user) -> QuerySet:
    if not access.has_role(user, "admin"):
        return WebhookEndpoint.objects.none()
    return WebhookEndpoint.objects.select_related("team", "created_by").order_by("pk")
