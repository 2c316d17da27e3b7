"""Managing a finding to closure: its comment thread, action plans with milestones, due-date extensions
decided by the second line, and attached files. Every change is one transaction with its audit event.

The events are recorded against the finding itself (``obj=finding``), so a finding's history is its
audit events in sequence order: raised, status changes, comments, plans, milestones, extensions and
attachments, read back by ``workflow.selectors.finding_history``, never from a second history table.

Who may do what (the services decide; pages and the API only offer what these allow):

* discuss (comment, attach a file): the model's first line (``change`` on the model) and its second
  line (``close_finding`` on the model: validators of the team, risk officers, administrators);
* plan (write an action plan, add milestones): the first line only (``change`` on the model);
  a milestone may also be ticked by the plan's owner;
* request an extension: the finding's owner or the first line;
* decide an extension: the second line, never the requester, the finding's owner or the model's
  owner: the party the due date binds cannot extend it for itself;
* auditors read everything and change nothing. A closed finding is final: nothing more is added.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts import access
from accounts.errors import InvalidTransition
from accounts.models import User
from accounts.roles import Role
from audit import record
from config.api.errors import ServiceError
from registry import storage
from workflow.models import (
    ActionPlan,
    ExtensionRequest,
    ExtensionStatus,
    Finding,
    FindingAttachment,
    FindingComment,
    FindingStatus,
    Milestone,
    NotificationKind,
)
from workflow.services import inbox


class ExtensionRefused(ServiceError):
    """Segregation of duties: the requester and the first line the due date binds never decide it."""

    status_code = 403
    code = "segregation_of_duties"


ATTACHMENT_PREFIX = "finding-attachments"
SECOND_LINE_ROLES = (Role.VALIDATOR, Role.RISK_OFFICER)
MAX_BODY_CHARS = 20_000
MAX_MILESTONES = 50
# How far ahead a plan, a milestone or an extended due date may be set.
MAX_HORIZON = dt.timedelta(days=5 * 366)


# --- who may -----------------------------------------------------------------------------------------


def may_discuss(user: User, finding: Finding) -> bool:
    return access.can(user, "change", finding.model) or access.can(user, "close_finding", finding.model)


def may_plan(user: User, finding: Finding) -> bool:
    return access.can(user, "change", finding.model)


def may_tick(user: User, plan: ActionPlan) -> bool:
    owner = plan.owner_id == user.pk and access.can(user, "view", plan.finding.model)
    return owner or may_plan(user, plan.finding)


def may_request_extension(user: User, finding: Finding) -> bool:
    owner = finding.owner_id == user.pk and access.can(user, "view", finding.model)
    return owner or access.can(user, "change", finding.model)


def extension_parties(extension: ExtensionRequest) -> dict[str, int | None]:
    """Who may never decide this extension: the requester, and the first line the due date binds."""
    finding = extension.finding
    return {
        "the requester": extension.requested_by_id,
        "the finding's owner": finding.owner_id,
        "the model's owner": finding.model.owner_id,
    }


def may_decide_extension(user: User, extension: ExtensionRequest) -> bool:
    return access.can(user, "close_finding", extension.finding.model) and user.pk not in set(
        extension_parties(extension).values()
    )


def extension_deciders(extension: ExtensionRequest) -> list[User]:
    """The second line who may decide ``extension`` (validators and risk officers of the model, none of its
    parties): the people told that it waits for them."""
    second_line = User.objects.filter(is_active=True, groups__name__in=SECOND_LINE_ROLES).distinct()
    return [user for user in second_line.order_by("username") if may_decide_extension(user, extension)]


def _tell_deciders(extension: ExtensionRequest) -> None:
    finding = extension.finding
    inbox.notification_send(
        recipients=extension_deciders(extension),
        kind=NotificationKind.EXTENSION_REQUESTED,
        title=(
            f"Finding {finding.pk} on {finding.model.name}: {extension.requested_by.get_username()} asks to move"
            f" the due date to {extension.proposed_due_date:%Y-%m-%d}"
        ),
        link=reverse("finding-detail", args=[finding.pk]),
        obj=finding,
    )


def _tell_requester(extension: ExtensionRequest) -> None:
    finding = extension.finding
    inbox.notification_send(
        recipients=[extension.requested_by],
        kind=NotificationKind.EXTENSION_DECIDED,
        title=(
            f"Finding {finding.pk}: your extension to {extension.proposed_due_date:%Y-%m-%d} was {extension.status}"
            f" by {extension.decided_by.get_username()}"
        ),
        link=reverse("finding-detail", args=[finding.pk]),
        obj=finding,
    )


def _require_open(finding: Finding, what: str) -> None:
    if finding.status == FindingStatus.CLOSED:
        raise InvalidTransition(f"Finding {finding.pk} is closed: {what} can no longer be added.")


def _locked(finding: Finding) -> Finding:
    return Finding.objects.select_for_update().select_related("model").get(pk=finding.pk)


# --- comments ----------------------------------------------------------------------------------------


def finding_comment_add(*, actor: User, finding: Finding, body: str) -> FindingComment:
    """Add a comment (Markdown) to the finding's thread."""
    if not may_discuss(actor, finding):
        raise PermissionDenied("Only the model's first and second line comment on its findings.")
    body = body.strip()
    if not body:
        raise ValidationError({"body": ["Write something."]})
    if len(body) > MAX_BODY_CHARS:
        raise ValidationError({"body": [f"At most {MAX_BODY_CHARS} characters."]})
    with transaction.atomic():
        finding = _locked(finding)
        _require_open(finding, "comments")
        comment = FindingComment.objects.create(finding=finding, author=actor, body=body)
        record(
            action="finding.commented",
            actor=actor,
            obj=finding,
            after={"comment": comment.pk, "body": body},
        )
    return comment


# --- action plans ------------------------------------------------------------------------------------


def _check_owner(owner: User | None, finding: Finding, field: str = "owner") -> None:
    if owner is None or not owner.is_active or not access.can(owner, "view", finding.model):
        raise ValidationError({field: ["The owner must be an active user who can see the model."]})


def _check_date(value: dt.date | None, field: str, *, today: dt.date) -> None:
    if value is None:
        raise ValidationError({field: ["A date is required."]})
    if value > today + MAX_HORIZON:
        raise ValidationError({field: ["At most five years ahead."]})


def _check_milestones(milestones: list[dict], due_date: dt.date, today: dt.date) -> None:
    if len(milestones) > MAX_MILESTONES:
        raise ValidationError({"milestones": [f"At most {MAX_MILESTONES} milestones per plan."]})
    for index, milestone in enumerate(milestones):
        if not str(milestone.get("title", "")).strip():
            raise ValidationError({f"milestones.{index}.title": ["A milestone needs a title."]})
        _check_date(milestone.get("due_date"), f"milestones.{index}.due_date", today=today)
        if milestone["due_date"] > due_date:
            raise ValidationError(
                {f"milestones.{index}.due_date": [f"After the plan's due date ({due_date:%Y-%m-%d})."]}
            )


def plan_facts(plan: ActionPlan) -> dict[str, Any]:
    return {
        "plan": plan.pk,
        "owner": plan.owner.username,
        "description": plan.description,
        "due_date": plan.due_date,
        "milestones": [
            {"id": m.pk, "title": m.title, "due_date": m.due_date, "done": m.done_at is not None}
            for m in plan.milestones.order_by("due_date", "pk")
        ],
    }


def action_plan_create(
    *,
    actor: User,
    finding: Finding,
    owner: User,
    description: str,
    due_date: dt.date,
    milestones: list[dict] | None = None,
) -> ActionPlan:
    """The first line writes how it will remediate the finding; milestones are ``{title, due_date}``."""
    if not may_plan(actor, finding):
        raise PermissionDenied("Only the model's first line (its team's ML engineers) writes action plans.")
    today = timezone.now().date()
    milestones = milestones or []
    if not description.strip():
        raise ValidationError({"description": ["Say what will be done."]})
    _check_owner(owner, finding)
    _check_date(due_date, "due_date", today=today)
    _check_milestones(milestones, due_date, today)
    with transaction.atomic():
        finding = _locked(finding)
        _require_open(finding, "action plans")
        plan = ActionPlan.objects.create(
            finding=finding,
            owner=owner,
            description=description.strip(),
            due_date=due_date,
            created_by=actor,
        )
        Milestone.objects.bulk_create(
            Milestone(plan=plan, title=m["title"].strip()[:300], due_date=m["due_date"]) for m in milestones
        )
        record(action="finding.plan_created", actor=actor, obj=finding, after=plan_facts(plan))
    return plan


def action_plan_update(
    *,
    actor: User,
    plan: ActionPlan,
    owner: User | None = None,
    description: str | None = None,
    due_date: dt.date | None = None,
) -> ActionPlan:
    """Change a plan's owner, description or due date (only the fields given)."""
    finding = plan.finding
    if not may_plan(actor, finding):
        raise PermissionDenied("Only the model's first line changes its action plans.")
    today = timezone.now().date()
    if owner is not None:
        _check_owner(owner, finding)
    if description is not None and not description.strip():
        raise ValidationError({"description": ["Say what will be done."]})
    with transaction.atomic():
        finding = _locked(finding)
        _require_open(finding, "plan changes")
        plan = ActionPlan.objects.select_for_update().get(pk=plan.pk)
        before = plan_facts(plan)
        if due_date is not None:
            _check_date(due_date, "due_date", today=today)
            latest = plan.milestones.order_by("-due_date").values_list("due_date", flat=True).first()
            if latest is not None and latest > due_date:
                raise ValidationError({"due_date": [f"Before a milestone's due date ({latest:%Y-%m-%d})."]})
            plan.due_date = due_date
        if owner is not None:
            plan.owner = owner
        if description is not None:
            plan.description = description.strip()
        plan.save()
        record(action="finding.plan_changed", actor=actor, obj=finding, before=before, after=plan_facts(plan))
    return plan


def milestone_add(*, actor: User, plan: ActionPlan, title: str, due_date: dt.date) -> Milestone:
    finding = plan.finding
    if not may_plan(actor, finding):
        raise PermissionDenied("Only the model's first line changes its action plans.")
    today = timezone.now().date()
    with transaction.atomic():
        finding = _locked(finding)
        _require_open(finding, "milestones")
        plan = ActionPlan.objects.select_for_update().get(pk=plan.pk)
        if plan.milestones.count() >= MAX_MILESTONES:
            raise ValidationError({"title": [f"At most {MAX_MILESTONES} milestones per plan."]})
        _check_milestones([{"title": title, "due_date": due_date}], plan.due_date, today)
        before = plan_facts(plan)
        milestone = Milestone.objects.create(plan=plan, title=title.strip()[:300], due_date=due_date)
        record(action="finding.plan_changed", actor=actor, obj=finding, before=before, after=plan_facts(plan))
    return milestone


def milestone_set_done(*, actor: User, milestone: Milestone, done: bool) -> Milestone:
    """Tick a milestone done (recording who and when), or untick it."""
    plan = milestone.plan
    if not may_tick(actor, plan):
        raise PermissionDenied("Only the plan's owner or the model's first line ticks its milestones.")
    with transaction.atomic():
        finding = _locked(plan.finding)
        _require_open(finding, "milestone changes")
        milestone = Milestone.objects.select_for_update().get(pk=milestone.pk)
        if (milestone.done_at is not None) == done:
            return milestone  # already so: nothing changes, nothing is recorded
        before = {"done": milestone.done_at is not None}
        milestone.done_at = timezone.now() if done else None
        milestone.done_by = actor if done else None
        milestone.save(update_fields=["done_at", "done_by"])
        record(
            action="finding.milestone_changed",
            actor=actor,
            obj=finding,
            before=before,
            after={"plan": plan.pk, "milestone": milestone.pk, "title": milestone.title, "done": done},
        )
    return milestone


# --- due-date extensions -----------------------------------------------------------------------------


def extension_request(
    *, actor: User, finding: Finding, proposed_due_date: dt.date, reason: str
) -> ExtensionRequest:
    """The finding's owner (or its first line) asks for a later due date, with a reason."""
    if not may_request_extension(actor, finding):
        raise PermissionDenied("Only the finding's owner or the model's first line requests an extension.")
    today = timezone.now().date()
    if not reason.strip():
        raise ValidationError({"reason": ["Explain why more time is needed."]})
    _check_date(proposed_due_date, "proposed_due_date", today=today)
    if proposed_due_date <= today:
        raise ValidationError({"proposed_due_date": ["Must be after today."]})
    with transaction.atomic():
        finding = _locked(finding)
        if finding.status != FindingStatus.OPEN:
            raise InvalidTransition(
                f"Finding {finding.pk} is {finding.get_status_display().lower()}: only open findings are extended.",
                fields={"proposed_due_date": ["The finding is not open."]},
            )
        if finding.due_date is not None and proposed_due_date <= finding.due_date:
            raise ValidationError(
                {"proposed_due_date": [f"Must be after the current due date ({finding.due_date:%Y-%m-%d})."]}
            )
        if finding.extension_requests.filter(status=ExtensionStatus.PENDING).exists():
            raise InvalidTransition(
                "An extension of this finding is already waiting for a decision.",
                fields={"proposed_due_date": ["One pending request at a time."]},
            )
        try:
            with transaction.atomic():
                extension = ExtensionRequest.objects.create(
                    finding=finding,
                    requested_by=actor,
                    previous_due_date=finding.due_date,
                    proposed_due_date=proposed_due_date,
                    reason=reason.strip(),
                )
        except IntegrityError:  # a concurrent request got there first
            raise InvalidTransition(
                "An extension of this finding is already waiting for a decision."
            ) from None
        record(
            action="finding.extension_requested",
            actor=actor,
            obj=finding,
            after={
                "extension": extension.pk,
                "due_date": finding.due_date,
                "proposed_due_date": proposed_due_date,
            },
            reason=extension.reason,
        )
        _tell_deciders(extension)
    return extension


def extension_decide(
    *, actor: User, extension: ExtensionRequest, approve: bool, comment: str = ""
) -> ExtensionRequest:
    """The second line approves (the finding's due date moves) or rejects (a comment is required)."""
    finding = extension.finding
    if not access.can(actor, "close_finding", finding.model):
        raise PermissionDenied("Only the second line (a validator or a risk officer) decides extensions.")
    for party, user_id in extension_parties(extension).items():
        if user_id == actor.pk:
            raise ExtensionRefused(f"You are {party}: an extension is decided by someone independent of it.")
    if not approve and not comment.strip():
        raise ValidationError({"comment": ["Say why the extension is rejected."]})
    with transaction.atomic():
        finding = _locked(finding)
        extension = ExtensionRequest.objects.select_for_update().get(pk=extension.pk)
        if extension.status != ExtensionStatus.PENDING:
            raise InvalidTransition(
                f"This extension was already {extension.status}.", fields={"decision": ["Already decided."]}
            )
        if approve and finding.status == FindingStatus.CLOSED:
            raise InvalidTransition("The finding is closed: its due date no longer moves.")
        extension.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REJECTED
        extension.decided_by = actor
        extension.decided_at = timezone.now()
        extension.decision_comment = comment.strip()
        extension.save(update_fields=["status", "decided_by", "decided_at", "decision_comment"])
        before = {"due_date": finding.due_date}
        if approve:
            finding.due_date = extension.proposed_due_date
            finding.save(update_fields=["due_date", "updated_at"])
        record(
            action="finding.extension_approved" if approve else "finding.extension_rejected",
            actor=actor,
            obj=finding,
            before=before,
            after={"extension": extension.pk, "due_date": finding.due_date},
            reason=extension.decision_comment,
        )
        _tell_requester(extension)
    return extension


# --- attachments -------------------------------------------------------------------------------------


def finding_attachment_add(
    *, actor: User, finding: Finding, upload: storage.Upload
) -> tuple[FindingAttachment, bool]:
    """Store the file (hashed while it streamed in) and attach it; the same bytes twice are one attachment.

    Returns ``(attachment, created)``.
    """
    if not may_discuss(actor, finding):
        raise PermissionDenied("Only the model's first and second line attach files to its findings.")
    key = storage.store(ATTACHMENT_PREFIX, upload)  # before the transaction: never a row without its blob
    with transaction.atomic():
        finding = _locked(finding)
        _require_open(finding, "attachments")
        existing = finding.attachments.filter(sha256=upload.sha256).first()
        if existing is not None:
            return existing, False
        attachment = FindingAttachment.objects.create(
            finding=finding,
            file_name=upload.filename,
            file_key=key,
            sha256=upload.sha256,
            size=upload.size,
            uploaded_by=actor,
        )
        record(
            action="finding.attachment_added",
            actor=actor,
            obj=finding,
            after={
                "attachment": attachment.pk,
                "file_name": attachment.file_name,
                "sha256": attachment.sha256,
                "size": attachment.size,
            },
        )
    return attachment, True
