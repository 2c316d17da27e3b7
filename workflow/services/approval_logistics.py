"""Approval logistics: handing a stage to a named colleague, and reminders of what is due.

Delegation: a signer who may sign a stage of a pending request (its role, the model's team or an unscoped
role, not a segregated party, not yet signed) hands their signature on it to a qualified colleague — one
who may sign it by the very same rules (``approvals.signer_refusal``). The delegate is told; the
delegating signer may no longer sign that stage. An administrator may reassign a stage to anyone
qualified, optionally taking it from a named person. Every assignment, and every refusal, is audited;
nothing here loosens a rule of signing: the delegate is checked again when they sign.

Reminders (``reminders_send``, hourly through beat): the people who may sign a stage due within a day or
overdue get one notification per stage per day (a "due" one, then an "overdue" one from the day it passes
its due date; on the day it does, both); a finding's owner is told once when it is due within a
week and once when it is overdue; a model's owner once when its periodic review is due within a month.
Each is idempotent (``Notification.dedupe_key``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts import access
from accounts.errors import DelegationRefused, RequestClosed, SignatureRefused
from accounts.models import User
from audit import record
from registry.models import RegisteredModel
from registry.models.inventory import ModelStatus
from workflow.models import (
    ApprovalRequest,
    ApprovalStatus,
    AssignmentKind,
    Finding,
    FindingStatus,
    NotificationKind,
    StageAssignment,
)
from workflow.services import inbox
from workflow.services.approvals import signer_refusal, stage_signers

STAGE_REMIND_WITHIN = dt.timedelta(days=1)
FINDING_REMIND_WITHIN_DAYS = 7
REVIEW_REMIND_WITHIN_DAYS = 30


def stage_delegate(
    *, actor: User, request: ApprovalRequest, stage_key: str, delegate: User, reason: str
) -> StageAssignment:
    """``actor`` hands their signature on ``stage_key`` of ``request`` to ``delegate``.

    Raises SignatureRefused (403) when the signature is not the actor's to give, DelegationRefused (400,
    field ``delegate``) when the delegate may not sign the stage, RequestClosed (409) when the request is
    no longer pending; each refusal is audited."""
    return _assign(
        actor=actor,
        request=request,
        stage_key=stage_key,
        assignee=delegate,
        replaces=actor,
        reason=reason,
        kind=AssignmentKind.DELEGATION,
    )


def stage_reassign(
    *,
    actor: User,
    request: ApprovalRequest,
    stage_key: str,
    assignee: User,
    reason: str,
    replaces: User | None = None,
) -> StageAssignment:
    """An administrator assigns ``stage_key`` to ``assignee``, taking it from ``replaces`` when named."""
    access.require(actor, "administer")
    return _assign(
        actor=actor,
        request=request,
        stage_key=stage_key,
        assignee=assignee,
        replaces=replaces,
        reason=reason,
        kind=AssignmentKind.REASSIGNMENT,
    )


def _assign(*, actor, request, stage_key, assignee, replaces, reason, kind) -> StageAssignment:
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say why the stage is handed over (recorded in the audit log)."]})
    try:
        with transaction.atomic():
            request = (
                ApprovalRequest.objects.select_for_update()
                .select_related("policy", "model_version__model")
                .get(pk=request.pk)
            )
            stage = _stage_to_assign(request, stage_key)
            if kind == AssignmentKind.DELEGATION:
                _require_own_signature(actor, request, stage)
            elif replaces is not None:
                _require_replaceable(replaces, request, stage)
            _require_qualified(assignee, request, stage, replaces)
            assignment = StageAssignment.objects.create(
                request=request,
                stage_key=stage["key"],
                assignee=assignee,
                replaces=replaces,
                kind=kind,
                reason=reason.strip(),
                assigned_by=actor,
            )
            action = (
                "approval.stage_delegated"
                if kind == AssignmentKind.DELEGATION
                else "approval.stage_reassigned"
            )
            record(action=action, actor=actor, obj=request, after=assignment_facts(assignment), reason=reason)
            _tell_assignee(assignment, request, stage)
    except (SignatureRefused, DelegationRefused) as refusal:
        with transaction.atomic():
            record(
                action="approval.assignment_refused",
                actor=actor,
                obj=request,
                after={
                    "stage": stage_key,
                    "assignee": assignee.username,
                    "kind": kind,
                    "code": refusal.code,
                    "why": refusal.message,
                },
            )
        raise
    return assignment


def _stage_to_assign(request: ApprovalRequest, stage_key: str) -> dict[str, Any]:
    if request.status != ApprovalStatus.PENDING:
        raise RequestClosed(
            f"This request is {request.get_status_display().lower()}; its stages can no longer be handed over."
        )
    keys = request.stage_keys or []
    if stage_key not in keys:
        raise ValidationError({"stage": [f"Not a stage of this request; its stages are {', '.join(keys)}."]})
    if keys.index(stage_key) < request.stage_index:
        raise ValidationError(
            {"stage": ["This stage is complete; only an open or later stage is handed over."]}
        )
    return request.policy.stage(stage_key)


def _require_own_signature(actor: User, request: ApprovalRequest, stage: dict[str, Any]) -> None:
    refusal = signer_refusal(actor, request, stage)
    if refusal is not None:
        raise SignatureRefused(
            f"Only someone who may sign '{stage['title']}' delegates their signature on it: {refusal.message}",
            code="not_your_signature",
            details={"why": refusal.code},
        )


def _require_replaceable(replaces: User, request: ApprovalRequest, stage: dict[str, Any]) -> None:
    if request.signatures.filter(signer=replaces, stage_key=stage["key"]).exists():
        raise DelegationRefused(
            f"{replaces.printed_name} has already signed '{stage['title']}'; a signature is never taken back.",
            code="already_signed",
            fields={"replaces": ["Already signed this stage."]},
        )


DELEGATE_REASONS = {
    "wrong_role": "{name} does not hold the {role} role that '{title}' needs.",
    "stage_order": "{name} does not hold the {role} role that '{title}' needs.",
    "not_team_signer": "{name} may not sign for this model: not a member of its team, nor a risk officer or "
    "administrator.",
    "segregation_of_duties": "Segregation of duties: {name} is this request's {party} and may not sign it.",
    "already_signed": "{name} has already signed this request; each stage and quorum needs distinct people.",
    "stage_delegated": "{name} has handed '{title}' to someone else.",
}


def _require_qualified(
    assignee: User, request: ApprovalRequest, stage: dict[str, Any], replaces: User | None
) -> None:
    name = assignee.printed_name
    if not assignee.is_active:
        raise DelegationRefused(
            f"{name}'s account is deactivated.", code="inactive", fields={"delegate": ["Deactivated."]}
        )
    if replaces is not None and assignee.pk == replaces.pk:
        raise DelegationRefused(
            "A stage is handed to someone else: choose a colleague.",
            code="self_delegation",
            fields={"delegate": ["Choose a colleague, not the person the stage is taken from."]},
        )
    refusal = signer_refusal(assignee, request, stage)
    if refusal is not None:
        message = DELEGATE_REASONS.get(refusal.code, "{name} may not sign this stage.").format(
            name=name, role=stage["role"], title=stage["title"], party=refusal.details.get("party", "")
        )
        raise DelegationRefused(message, code=refusal.code, fields={"delegate": [message]})
    other = StageAssignment.objects.filter(request=request, assignee=assignee).first()
    if other is not None:
        same = other.stage_key == stage["key"]
        message = (
            f"{name} is already assigned '{stage['title']}'."
            if same
            else f"{name} is already assigned the '{other.stage_key}' stage of this request; stages need "
            "distinct people."
        )
        raise DelegationRefused(message, code="already_assigned", fields={"delegate": [message]})


def _tell_assignee(assignment: StageAssignment, request: ApprovalRequest, stage: dict[str, Any]) -> None:
    version = request.model_version
    by = assignment.assigned_by.printed_name
    inbox.notification_send(
        recipients=[assignment.assignee],
        kind=NotificationKind.APPROVAL_DELEGATED,
        title=f"{by} handed you '{stage['title']}' of {version.model.name} v{version.version} for "
        f"{request.environment}",
        link=reverse("approval-detail", args=[request.pk]),
        obj=request,
    )


def assignment_facts(assignment: StageAssignment) -> dict[str, Any]:
    return {
        "assignment": assignment.pk,
        "request": assignment.request_id,
        "stage": assignment.stage_key,
        "assignee": assignment.assignee.username,
        "replaces": assignment.replaces.username if assignment.replaces else None,
        "kind": assignment.kind,
    }


def delegation_candidates(request: ApprovalRequest, stage: dict[str, Any], *, exclude: User | None = None):
    """The colleagues ``stage`` could be handed to now (who may sign it and hold no other stage of it)."""
    assigned = set(StageAssignment.objects.filter(request=request).values_list("assignee_id", flat=True))
    return [
        user
        for user in stage_signers(request, stage)
        if user.pk not in assigned and (exclude is None or user.pk != exclude.pk)
    ]


# --- reminders ----------------------------------------------------------------------------------------


def reminders_send(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Remind of stages due within a day or overdue, and of findings due within a week or overdue."""
    now = now or timezone.now()
    today = now.astimezone(dt.UTC).date()
    return {
        "stages": _stage_reminders(now),
        "findings": _finding_reminders(today),
        "reviews": _review_reminders(today),
    }


def _stage_reminders(now: dt.datetime) -> int:
    day = now.astimezone(dt.UTC).date().isoformat()
    due = ApprovalRequest.objects.filter(
        status=ApprovalStatus.PENDING, stage_due_at__isnull=False, stage_due_at__lte=now + STAGE_REMIND_WITHIN
    ).select_related("policy", "model_version__model")
    sent = 0
    for request in due.order_by("stage_due_at", "pk"):
        stage = request.policy.stage(request.current_stage_key)
        if stage is None:
            continue
        overdue = request.stage_due_at < now
        kind = NotificationKind.STAGE_OVERDUE if overdue else NotificationKind.STAGE_DUE
        version = request.model_version
        state = "is overdue since" if overdue else "is due"
        with transaction.atomic():
            written = inbox.notification_send(
                recipients=stage_signers(request, stage),
                kind=kind,
                title=f"'{stage['title']}' of {version.model.name} v{version.version} for "
                f"{request.environment} {state} {request.stage_due_at:%Y-%m-%d %H:%M} UTC",
                link=reverse("approval-detail", args=[request.pk]),
                obj=request,
                dedupe_key=f"{kind}:{request.pk}:{stage['key']}:{day}",
            )
        sent += len(written)
    return sent


def _finding_reminders(today: dt.date) -> int:
    soon = today + dt.timedelta(days=FINDING_REMIND_WITHIN_DAYS)
    findings = Finding.objects.filter(
        status=FindingStatus.OPEN, due_date__isnull=False, due_date__lte=soon
    ).select_related("owner", "model")
    sent = 0
    for finding in findings.order_by("due_date", "pk"):
        overdue = finding.due_date < today
        kind = NotificationKind.FINDING_OVERDUE if overdue else NotificationKind.FINDING_DUE
        state = "was due" if overdue else "is due"
        with transaction.atomic():
            written = inbox.notification_send(
                recipients=[finding.owner],
                kind=kind,
                title=f"Finding {finding.pk} on {finding.model.name} {state} on {finding.due_date:%Y-%m-%d}: "
                f"{finding.title}",
                link=reverse("finding-detail", args=[finding.pk]),
                obj=finding,
                dedupe_key=f"{kind}:{finding.pk}:{finding.due_date:%Y-%m-%d}",
            )
        sent += len(written)
    return sent


def _review_reminders(today: dt.date) -> int:
    """The owner of a model whose periodic review falls due within a month is told once per due date
    (an overdue one is announced by ``reviews.reviews_mark_overdue``)."""
    soon = today + dt.timedelta(days=REVIEW_REMIND_WITHIN_DAYS)
    models = RegisteredModel.objects.filter(next_review_due__gte=today, next_review_due__lte=soon).exclude(
        status=ModelStatus.RETIRED
    )
    sent = 0
    for model in models.select_related("owner").order_by("next_review_due", "pk"):
        with transaction.atomic():
            written = inbox.notification_send(
                recipients=[model.owner],
                kind=NotificationKind.REVIEW_DUE,
                title=f"The periodic review of {model.name} is due on {model.next_review_due:%Y-%m-%d}",
                link=reverse("model-detail", args=[model.name]),
                obj=model,
                dedupe_key=f"review-due-soon:{model.pk}:{model.next_review_due:%Y-%m-%d}",
            )
        sent += len(written)
    return sent
