"""The managing parts of a finding's page: forms, what the user is offered, the thread, plans, extensions,
attachments, the history read from the audit log, and the approvals and versions the finding holds up.

The services in ``workflow.services.finding_management`` decide again on every submit; this module only
decides what to show and offer.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.safestring import mark_safe

from workflow import markdown, selectors
from workflow.models import ExtensionStatus, Finding, FindingStatus
from workflow.services import finding_management as management

DATE = forms.DateInput(attrs={"type": "date"})


class Prefixed(forms.Form):
    """Several forms share the finding page: each names its inputs' ids after itself (``plan-due_date``)."""

    id_prefix = "form"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}-%s")
        super().__init__(*args, **kwargs)


class CommentForm(Prefixed):
    id_prefix = "comment"
    body = forms.CharField(
        max_length=management.MAX_BODY_CHARS,
        label="Comment",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Markdown: **bold**, _italic_, lists, links.",
    )


class PlanForm(Prefixed):
    id_prefix = "plan"
    owner = forms.CharField(max_length=150, label="Owner (username)")
    description = forms.CharField(
        max_length=management.MAX_BODY_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="What will be done",
    )
    due_date = forms.DateField(widget=DATE, label="Plan due date")
    milestones = forms.CharField(
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: the due date (YYYY-MM-DD), a space, the title.",
    )

    def clean_milestones(self) -> list[dict]:
        parsed = []
        for number, line in enumerate(self.cleaned_data["milestones"].splitlines(), start=1):
            if not line.strip():
                continue
            date_text, _, title = line.strip().partition(" ")
            try:
                due = dt.date.fromisoformat(date_text)
            except ValueError:
                raise forms.ValidationError(f"Line {number}: start with a date (YYYY-MM-DD).") from None
            if not title.strip():
                raise forms.ValidationError(f"Line {number}: give the milestone a title after its date.")
            parsed.append({"title": title.strip(), "due_date": due})
        return parsed


class MilestoneForm(Prefixed):
    id_prefix = "milestone"
    title = forms.CharField(max_length=300, label="Milestone")
    due_date = forms.DateField(widget=DATE, label="Due")


class ExtensionForm(Prefixed):
    id_prefix = "extension"
    proposed_due_date = forms.DateField(widget=DATE, label="New due date")
    reason = forms.CharField(
        max_length=management.MAX_BODY_CHARS, widget=forms.Textarea(attrs={"rows": 3}), label="Why"
    )


class DecisionForm(Prefixed):
    id_prefix = "decision"
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("reject", "Reject")], widget=forms.HiddenInput
    )
    comment = forms.CharField(
        max_length=management.MAX_BODY_CHARS,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when you reject.",
    )


class AttachmentForm(Prefixed):
    id_prefix = "attachment"
    file = forms.FileField(label="File", allow_empty_file=True)


# How each audit action of a finding reads in its history.
def _history_line(event) -> str:
    after, before = event.after or {}, event.before or {}
    action = event.action
    if action == "finding.raised":
        return (
            f"Raised: {after.get('severity')}, owner {after.get('owner')}, due {after.get('due_date') or '—'}"
        )
    if action == "finding.changed":
        return f"Status {before.get('status', '?')} → {after.get('status')}"
    if action == "finding.commented":
        body = " ".join(str(after.get("body", "")).split())
        return f"Comment: “{body[:80]}{'…' if len(body) > 80 else ''}”"
    if action == "finding.plan_created":
        count = len(after.get("milestones") or [])
        return (
            f"Action plan #{after.get('plan')} written: owner {after.get('owner')}, due {after.get('due_date')}, "
            f"{count} milestone{'' if count == 1 else 's'}"
        )
    if action == "finding.plan_changed":
        changed = [key for key in ("owner", "description", "due_date") if before.get(key) != after.get(key)]
        added = len(after.get("milestones") or []) - len(before.get("milestones") or [])
        parts = [f"{key.replace('_', ' ')} changed" for key in changed]
        if added > 0:
            parts.append(f"{added} milestone{'' if added == 1 else 's'} added")
        return f"Action plan #{after.get('plan')}: {', '.join(parts) or 'changed'}"
    if action == "finding.milestone_changed":
        state = "done" if after.get("done") else "not done"
        return f"Milestone “{after.get('title')}” marked {state}"
    if action == "finding.extension_requested":
        return f"Extension #{after.get('extension')} requested: due {after.get('due_date') or '—'} → {after.get('proposed_due_date')}"
    if action == "finding.extension_approved":
        return f"Extension #{after.get('extension')} approved: due {before.get('due_date') or '—'} → {after.get('due_date')}"
    if action == "finding.extension_rejected":
        return f"Extension #{after.get('extension')} rejected: due date stays {after.get('due_date') or '—'}"
    if action == "finding.attachment_added":
        return f"Attached {after.get('file_name')} (SHA-256 {str(after.get('sha256', ''))[:12]}…)"
    return action


def history(user, finding: Finding) -> list[dict]:
    return [
        {
            "seq": event.seq,
            "at": event.occurred_at,
            "actor": event.actor_username or "the system",
            "action": event.action,
            "line": _history_line(event),
            "reason": event.reason,
        }
        for event in selectors.finding_history(user=user, finding=finding)
    ]


def management_context(request, finding: Finding, **forms_given) -> dict:
    """Everything the finding page shows and offers beyond its status: thread, plans, extensions,
    attachments, history and links. ``forms_given`` replaces a blank form by a bound one (with errors)."""
    user = request.user
    open_finding = finding.status != FindingStatus.CLOSED
    comments = list(selectors.finding_comment_list(user=user).filter(finding=finding))
    for comment in comments:
        comment.html = mark_safe(markdown.to_html(comment.body, top_heading=4))  # noqa: S308 (nh3-sanitised)
    plans = list(selectors.action_plan_list(user=user).filter(finding=finding))
    may_plan = open_finding and management.may_plan(user, finding)
    for plan in plans:
        plan.may_tick = open_finding and management.may_tick(user, plan)
        plan.done_count = sum(1 for milestone in plan.milestones.all() if milestone.done_at is not None)
    extensions = list(selectors.extension_request_list(user=user).filter(finding=finding))
    for extension in extensions:
        extension.finding = finding
        extension.may_decide = (
            extension.status == ExtensionStatus.PENDING and management.may_decide_extension(user, extension)
        )
    pending = any(extension.status == ExtensionStatus.PENDING for extension in extensions)
    offers = {
        "discuss": open_finding and management.may_discuss(user, finding),
        "plan": may_plan,
        "extend": finding.status == FindingStatus.OPEN
        and not pending
        and management.may_request_extension(user, finding),
    }
    today = timezone.now().date()
    context = {
        "overdue": finding.status == FindingStatus.OPEN
        and finding.due_date is not None
        and finding.due_date < today,
        "today": today,
        "comments": comments,
        "plans": plans,
        "extensions": extensions,
        "attachments": list(selectors.finding_attachment_list(user=user).filter(finding=finding)),
        "history": history(user, finding),
        "links": selectors.finding_links(user=user, finding=finding),
        "offers": offers,
        "comment_form": CommentForm(),
        "plan_form": PlanForm(initial={"owner": finding.owner.get_username(), "due_date": finding.due_date}),
        "milestone_form": MilestoneForm(),
        "extension_form": ExtensionForm(),
        "attachment_form": AttachmentForm(),
        "milestone_plan": None,
    }
    context.update(forms_given)
    return context
