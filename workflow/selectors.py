"""Governance reads that a user sees: always scoped by ``access`` first."""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, CharField, Count, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import Cast
from django.utils import timezone

from accounts import access
from accounts.roles import READ_EVERYTHING
from audit.models import AuditEvent
from monitoring import selectors as monitoring_selectors
from monitoring.models import CheckRun, MonitoringAlert, Outcome, RunStatus
from registry.models import ModelStatus, ModelVersion, RegisteredModel
from workflow.models import (
    ActionPlan,
    ApprovalRequest,
    ApprovalStatus,
    Control,
    Deployment,
    EvidenceDocument,
    ExtensionRequest,
    Finding,
    FindingAttachment,
    FindingComment,
    FindingStatus,
    Milestone,
    Notification,
    PeriodicReview,
    Policy,
    Signature,
    WebhookEndpoint,
)
from workflow.models.findings import FINDING_TRANSITIONS, SEVERITY_RANK
from workflow.services.approvals import blocking_findings, stage_due_days
from workflow.services.policies import policy_active

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
    ).prefetch_related("signatures__signer", "assignments__assignee", "assignments__replaces")
    return access.scope(user, requests).order_by("-requested_at")


def approvals_awaiting(*, user) -> list:
    """Pending requests whose open stage the user could sign now (role held, not segregated, not signed)."""
    roles = access.roles_of(user)
    waiting = []
    signable = access.scope(user, approval_list(user=user).filter(status=ApprovalStatus.PENDING), "sign")
    for request in signable:
        stage = request.policy.stage(request.current_stage_key)
        if stage is None or stage["role"] not in roles:
            continue
        if user.pk in request.segregated_parties().values() or any(
            sig.signer_id == user.pk for sig in request.signatures.all()
        ):
            continue
        if any(  # handed to a colleague: theirs to sign now
            handed.replaces_id == user.pk and handed.stage_key == stage["key"]
            for handed in request.assignments.all()
        ):
            continue
        waiting.append(request)
    return waiting


def approvals_overdue(*, user, now: dt.datetime | None = None) -> QuerySet:
    """Pending requests the user may see whose open stage is past its due date, most overdue first."""
    now = now or timezone.now()
    overdue = approval_list(user=user).filter(status=ApprovalStatus.PENDING, stage_due_at__lt=now)
    return overdue.order_by("stage_due_at", "pk")


def notification_list(*, user) -> QuerySet[Notification]:
    """The user's own notifications, newest first: nobody reads another person's inbox, whatever their
    role (an administrator neither)."""
    if not access.is_active_user(user):
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def signature_list(*, user) -> QuerySet:
    return access.scope(user, Signature.objects.select_related("signer", "request")).order_by("signed_at")


def finding_list(*, user) -> QuerySet:
    findings = Finding.objects.select_related("model", "model_version", "owner", "raised_by")
    return access.scope(user, findings).order_by("-raised_at")


def review_list(*, user) -> QuerySet:
    """Periodic reviews of the models the user may see, newest first."""
    reviews = PeriodicReview.objects.select_related("model__team", "opened_by", "signer").prefetch_related(
        "documents__model_version"
    )
    return access.scope(user, reviews).order_by("-opened_at", "-pk")


def deployment_list(*, user) -> QuerySet:
    deployments = Deployment.objects.select_related("model_version__model", "deployed_by", "rolled_back_by")
    return access.scope(user, deployments).order_by("-deployed_at")


def webhook_list(*, user) -> QuerySet:
    if not access.may(user, "administer"):
        return WebhookEndpoint.objects.none()
    return WebhookEndpoint.objects.select_related("team", "created_by").order_by("pk")


# --- pages (dashboard, approval and finding pages, account) ---------------------------------------------


def approval_stages(request: ApprovalRequest) -> list[dict]:
    """The request's stages in order, each with its policy definition, state and who signed it.

    ``state`` is done, open or waiting while the request is pending; stages not done when it closed are
    ``closed``. Reads the request's prefetched signatures (no query of its own).
    """
    signed: dict[str, list[Signature]] = {}
    for signature in request.signatures.all():
        signed.setdefault(signature.stage_key, []).append(signature)
    stages = []
    for index, key in enumerate(request.stage_keys or []):
        stage = request.policy.stage(key) or {"key": key, "title": key}
        if index < request.stage_index:
            state = "done"
        elif request.status != ApprovalStatus.PENDING:
            state = "closed"
        else:
            state = "open" if index == request.stage_index else "waiting"
        due = (request.stage_due_dates or {}).get(key)
        stages.append(
            {
                **stage,
                "state": state,
                "signatures": signed.get(key, []),
                "due_at": dt.datetime.fromisoformat(due) if due else None,
                "overdue": bool(
                    state == "open" and request.stage_due_at and request.stage_due_at < timezone.now()
                ),
                "due_days": stage_due_days(stage),
                "assignments": [item for item in request.assignments.all() if item.stage_key == key],
            }
        )
    return stages


def finding_next_statuses(*, user, finding: Finding) -> list[str]:
    """The statuses this user may move the finding to now (the service decides again on submit)."""
    closer = access.may(user, "close_finding")
    allowed = []
    for status in FindingStatus.values:
        if status not in FINDING_TRANSITIONS[finding.status]:
            continue
        if status == FindingStatus.RISK_ACCEPTED and not access.may(user, "accept_risk"):
            continue
        if status == FindingStatus.CLOSED and not closer:
            continue
        if status not in (FindingStatus.RISK_ACCEPTED, FindingStatus.CLOSED) and not (
            closer or access.can(user, "change", finding.model)
        ):
            continue
        allowed.append(status)
    return allowed


def inventory_counts(*, user) -> dict[int, dict[str, int]]:
    """``{tier: {status: count}}`` over the models the user may see (one query)."""
    rows = (
        access.scope(user, RegisteredModel.objects.all())
        .order_by()
        .values("risk_tier", "status")
        .annotate(count=Count("pk"))
    )
    counts: dict[int, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row["risk_tier"], {})[row["status"]] = row["count"]
    return counts


def overdue_reviews(*, user, today: dt.date | None = None) -> QuerySet[RegisteredModel]:
    """Models the user may see whose next review is past due (retired models are not reviewed)."""
    today = today or timezone.now().date()
    models = RegisteredModel.objects.select_related("team", "owner").filter(next_review_due__lt=today)
    return access.scope(user, models.exclude(status=ModelStatus.RETIRED)).order_by("next_review_due", "name")


def open_finding_counts(*, user) -> dict[str, int]:
    """``{severity: count}`` of open findings the user may see (one query)."""
    open_findings = finding_list(user=user).filter(status=FindingStatus.OPEN).order_by()
    rows = open_findings.values("severity").annotate(count=Count("pk"))
    return {row["severity"]: row["count"] for row in rows}


def recent_alerts(*, user) -> QuerySet[MonitoringAlert]:
    """Monitoring alerts on versions the user may see, newest first, with ``current_state`` (an ended
    snooze reads open)."""
    alerts = (
        MonitoringAlert.objects.select_related("plan", "check_run__model_version__model")
        .defer("breaches", "check_run__results", "check_run__evaluations", "check_run__diagnostics")
        .annotate(current_state=monitoring_selectors.CURRENT_STATE)
    )
    return access.scope(user, alerts).order_by("-created_at", "-id")


def failed_plan_runs(*, user) -> QuerySet[CheckRun]:
    """Scheduled (plan) check runs that failed to run or failed their thresholds, newest first."""
    runs = (
        CheckRun.objects.select_related("model_version__model", "plan")
        .filter(plan__isnull=False)
        .filter(Q(status=RunStatus.FAILED) | Q(outcome=Outcome.FAIL))
        .only(
            "id",
            "kind",
            "status",
            "outcome",
            "outcome_reason",
            "error_message",
            "created_at",
            "finished_at",
            "model_version__version",
            "model_version__model__name",
            "plan__title",
        )
    )
    return access.scope(user, runs).order_by("-created_at", "-id")


# Audit events a user outside the read-everything roles sees on the dashboard: their own actions, and
# events about the models, versions, approval requests and findings of models they may see. Nothing
# else (no before/after is shown on the dashboard either; the audit log itself is for auditors).
_ACTIVITY_OBJECTS = {
    "registry.registeredmodel": RegisteredModel,
    "registry.modelversion": ModelVersion,
    "governance.approvalrequest": ApprovalRequest,
    "governance.finding": Finding,
}


def recent_activity(*, user) -> QuerySet[AuditEvent]:
    """Latest audit events the user may see: every event for auditors, risk officers and admins;
    for anyone else their own events and events about objects of models they may see."""
    if not access.is_active_user(user):
        return AuditEvent.objects.none()
    events = AuditEvent.objects.only(
        "seq", "occurred_at", "actor_username", "action", "object_type", "object_id", "object_repr"
    ).order_by("-seq")
    if access.has_role(user, *READ_EVERYTHING):
        return events
    condition = Q(actor_pk=user.pk)
    for object_type, model in _ACTIVITY_OBJECTS.items():
        visible = (
            access.scope(user, model.objects.all())
            .order_by()
            .annotate(pk_text=Cast("pk", CharField()))
            .values("pk_text")
        )
        condition |= Q(object_type=object_type, object_id__in=visible)
    return events.filter(condition)


def approval_offers(*, user, request: ApprovalRequest) -> dict[str, bool]:
    """What the approval page offers: signing (the user holds the open stage's role) and cancelling
    (the requester or an administrator). The services decide again, with every rule, on submit."""
    pending = request.status == ApprovalStatus.PENDING
    stage = request.policy.stage(request.current_stage_key) if pending else None
    handed_away = bool(stage) and any(
        handed.replaces_id == user.pk and handed.stage_key == stage["key"]
        for handed in request.assignments.all()
    )
    return {
        "sign": bool(
            stage
            and not handed_away
            and stage["role"] in access.roles_of(user)
            and access.can(user, "sign", request)
        ),
        "cancel": pending and (request.requested_by_id == user.pk or access.may(user, "administer")),
    }


def finding_rows(*, user) -> QuerySet[Finding]:
    """``finding_list`` with ``severity_rank`` (low 1 … critical 4) so pages can sort by severity."""
    ranks = [When(severity=name, then=Value(rank)) for name, rank in SEVERITY_RANK.items()]
    return finding_list(user=user).annotate(severity_rank=Case(*ranks, default=Value(0)))


# --- managing a finding: its thread, plans, extensions, attachments, history and links ----------------


def finding_comment_list(*, user) -> QuerySet[FindingComment]:
    comments = FindingComment.objects.select_related("author")
    return access.scope(user, comments).order_by("created_at", "pk")


def action_plan_list(*, user) -> QuerySet[ActionPlan]:
    milestones = Milestone.objects.select_related("done_by").order_by("due_date", "pk")
    plans = ActionPlan.objects.select_related("owner", "created_by").prefetch_related(
        Prefetch("milestones", queryset=milestones)
    )
    return access.scope(user, plans).order_by("created_at", "pk")


def extension_request_list(*, user) -> QuerySet[ExtensionRequest]:
    extensions = ExtensionRequest.objects.select_related("requested_by", "decided_by")
    return access.scope(user, extensions).order_by("requested_at", "pk")


def finding_attachment_list(*, user) -> QuerySet[FindingAttachment]:
    attachments = FindingAttachment.objects.select_related("uploaded_by")
    return access.scope(user, attachments).order_by("uploaded_at", "pk")


def finding_history(*, user, finding: Finding) -> QuerySet[AuditEvent]:
    """The finding's audit events in the order they happened: raised, status changes, comments, plans,
    milestones, extensions and attachments (the services record them all against the finding)."""
    if not finding_list(user=user).filter(pk=finding.pk).exists():
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(
        object_type=Finding.AUDIT_OBJECT_TYPE, object_id=str(finding.pk)
    ).order_by("seq")


def finding_links(*, user, finding: Finding) -> dict:
    """What the finding concerns and what it holds up, by the rule ``blocking_findings`` applies.

    ``versions``: the versions it concerns (its own, or every version when raised on the whole model or of
    a source the active policy treats as model-wide); ``blocking``: whether it closes their deployment
    gate and refuses new approval requests now (open, at or above the policy's blocking severity);
    ``approvals``: the pending and approved requests of those versions the user may see.
    """
    policy = policy_active(tier=finding.model.risk_tier)
    model_wide = finding.model_version_id is None or finding.source in (policy.model_wide_findings or [])
    versions = ModelVersion.objects.filter(model_id=finding.model_id)
    if not model_wide:
        versions = versions.filter(pk=finding.model_version_id)
    versions = access.scope(user, versions).order_by("version")
    blocking = (
        finding.status == FindingStatus.OPEN
        and SEVERITY_RANK[finding.severity] >= SEVERITY_RANK[policy.blocking_finding_severity]
    )
    approvals = approval_list(user=user).filter(
        model_version__in=versions, status__in=[ApprovalStatus.PENDING, ApprovalStatus.APPROVED]
    )
    return {
        "versions": list(versions),
        "model_wide": model_wide,
        "blocking": blocking,
        "blocking_severity": policy.blocking_finding_severity,
        "approvals": list(approvals),
    }


def approval_blocking_findings(*, user, request: ApprovalRequest) -> list[Finding]:
    """The open findings that close the gate of the request's version now (and refuse a new request)."""
    version = request.model_version
    blocking = blocking_findings(version, policy_active(tier=version.model.risk_tier))
    return list(finding_list(user=user).filter(pk__in=[finding.pk for finding in blocking]).order_by("pk"))
