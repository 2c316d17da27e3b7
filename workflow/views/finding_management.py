"""What the finding page posts: comments, action plans and milestones, extension requests and their
decision (asked for on a confirmation page first), attachments (uploaded and downloaded).

Each view looks the finding up in the user's scope (404 otherwise) and calls its service; a refusal
re-renders the finding page with the form that caused it and the service's status code.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from config.api.errors import ServiceError
from config.ui import add_refusal, page
from registry import storage, ui_uploads
from workflow import selectors
from workflow.models import ExtensionStatus
from workflow.services import finding_management as management
from workflow.views import finding_parts as parts
from workflow.views.findings import _detail_context, _visible_finding


def _back(finding, anchor: str) -> HttpResponse:
    return redirect(f"{reverse('finding-detail', args=[finding.pk])}#{anchor}")


def _refused(request: HttpRequest, finding, form, refusal: Exception, **extra) -> HttpResponse:
    """The finding page again, the refusal on ``form``, with the refusal's status (403, 409 or 400)."""
    if isinstance(refusal, PermissionDenied):
        # said at the top too: the page offers no form to someone the service refuses
        form.add_error(None, str(refusal) or "You cannot make this change.")
        messages.error(request, str(refusal) or "You cannot make this change.")
        status = 403
    else:
        add_refusal(form, refusal)
        status = getattr(refusal, "status_code", 400)
    finding = _visible_finding(request, finding.pk)
    return page(
        request, "governance/findings/detail.html", _detail_context(request, finding, **extra), status=status
    )


def _invalid(request: HttpRequest, finding, **extra) -> HttpResponse:
    return page(
        request, "governance/findings/detail.html", _detail_context(request, finding, **extra), status=400
    )


REFUSALS = (PermissionDenied, ServiceError, ValidationError)


@login_required
@require_POST
def comment_add(request: HttpRequest, pk: int) -> HttpResponse:
    finding = _visible_finding(request, pk)
    form = parts.CommentForm(request.POST)
    if not form.is_valid():
        return _invalid(request, finding, comment_form=form)
    try:
        management.finding_comment_add(actor=request.user, finding=finding, body=form.cleaned_data["body"])
    except REFUSALS as refusal:
        return _refused(request, finding, form, refusal, comment_form=form)
    messages.success(request, "Comment added.")
    return _back(finding, "comments-heading")


@login_required
@require_POST
def plan_add(request: HttpRequest, pk: int) -> HttpResponse:
    finding = _visible_finding(request, pk)
    form = parts.PlanForm(request.POST)
    if not form.is_valid():
        return _invalid(request, finding, plan_form=form)
    data = form.cleaned_data
    try:
        owner = User.objects.filter(username=data["owner"], is_active=True).first()
        if owner is None:
            raise ValidationError({"owner": [f"No active user '{data['owner']}'."]})
        management.action_plan_create(
            actor=request.user,
            finding=finding,
            owner=owner,
            description=data["description"],
            due_date=data["due_date"],
            milestones=data["milestones"],
        )
    except REFUSALS as refusal:
        return _refused(request, finding, form, refusal, plan_form=form)
    messages.success(request, "Action plan saved.")
    return _back(finding, "plans-heading")


def _visible_plan(request: HttpRequest, finding, plan_pk: int):
    return get_object_or_404(
        selectors.action_plan_list(user=request.user).filter(finding=finding), pk=plan_pk
    )


@login_required
@require_POST
def milestone_add(request: HttpRequest, pk: int, plan_pk: int) -> HttpResponse:
    finding = _visible_finding(request, pk)
    plan = _visible_plan(request, finding, plan_pk)
    form = parts.MilestoneForm(request.POST)
    if not form.is_valid():
        return _invalid(request, finding, milestone_form=form, milestone_plan=plan.pk)
    try:
        management.milestone_add(actor=request.user, plan=plan, **form.cleaned_data)
    except REFUSALS as refusal:
        return _refused(request, finding, form, refusal, milestone_form=form, milestone_plan=plan.pk)
    messages.success(request, f"Milestone added to action plan #{plan.pk}.")
    return _back(finding, f"plan-{plan.pk}")


@login_required
@require_POST
def milestone_done(request: HttpRequest, pk: int, plan_pk: int, milestone_pk: int) -> HttpResponse:
    finding = _visible_finding(request, pk)
    plan = _visible_plan(request, finding, plan_pk)
    milestone = get_object_or_404(plan.milestones.all(), pk=milestone_pk)
    done = request.POST.get("done") == "1"
    try:
        management.milestone_set_done(actor=request.user, milestone=milestone, done=done)
    except ServiceError as refusal:  # e.g. the finding was closed meanwhile: said at the top of the page
        messages.error(request, refusal.message)
        return _back(finding, f"plan-{plan.pk}")
    messages.success(request, f"“{milestone.title}” marked {'done' if done else 'not done'}.")
    return _back(finding, f"plan-{plan.pk}")


@login_required
@require_POST
def extension_add(request: HttpRequest, pk: int) -> HttpResponse:
    finding = _visible_finding(request, pk)
    form = parts.ExtensionForm(request.POST)
    if not form.is_valid():
        return _invalid(request, finding, extension_form=form)
    try:
        management.extension_request(actor=request.user, finding=finding, **form.cleaned_data)
    except REFUSALS as refusal:
        return _refused(request, finding, form, refusal, extension_form=form)
    messages.success(request, "Extension requested: the second line decides it.")
    return _back(finding, "extensions-heading")


@login_required
@require_http_methods(["GET", "POST"])
def extension_decide(request: HttpRequest, pk: int, extension_pk: int, decision: str) -> HttpResponse:
    """Approving or rejecting is asked for on its own page first (GET), then made (POST)."""
    finding = _visible_finding(request, pk)
    extension = get_object_or_404(
        selectors.extension_request_list(user=request.user).filter(finding=finding), pk=extension_pk
    )
    extension.finding = finding
    if extension.status != ExtensionStatus.PENDING:
        messages.info(request, f"Extension #{extension.pk} was already {extension.status}.")
        return _back(finding, "extensions-heading")
    if not management.may_decide_extension(request.user, extension):
        raise PermissionDenied(
            "Extensions are decided by the second line, never by the requester or the owners it binds."
        )
    form = parts.DecisionForm(request.POST or None, initial={"decision": decision})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                management.extension_decide(
                    actor=request.user,
                    extension=extension,
                    approve=form.cleaned_data["decision"] == "approve",
                    comment=form.cleaned_data["comment"],
                )
            except (ServiceError, ValidationError) as refusal:
                add_refusal(form, refusal)
                status = getattr(refusal, "status_code", 400)
            else:
                verb = "approved" if form.cleaned_data["decision"] == "approve" else "rejected"
                messages.success(request, f"Extension #{extension.pk} {verb}.")
                return _back(finding, "extensions-heading")
    context = {"finding": finding, "extension": extension, "form": form, "decision": decision}
    return page(request, "governance/findings/decide_extension.html", context, status=status)


@csrf_exempt  # checked in ui_uploads.receive, once the hashing upload handlers are installed
@login_required
@require_POST
def attachment_add(request: HttpRequest, pk: int) -> HttpResponse:
    finding = _visible_finding(request, pk)
    if not management.may_discuss(request.user, finding):
        raise PermissionDenied("Only the model's first and second line attach files to its findings.")
    return ui_uploads.receive(
        request,
        lambda checked, refused: _attachment_upload(checked, finding, refused),
        max_bytes=settings.ATTEST_MAX_DATASET_BYTES,
    )


def _attachment_upload(request: HttpRequest, finding, refused: str) -> HttpResponse:
    if refused:  # the body was not read: nothing of it reaches the form
        form = parts.AttachmentForm({}, {})
        form.is_valid()
        form.add_error(None, refused)
        return page(
            request,
            "governance/findings/detail.html",
            _detail_context(request, finding, attachment_form=form),
            status=413,
        )
    form = parts.AttachmentForm(request.POST, request.FILES)
    upload = ui_uploads.received(request, "file")
    if not (form.is_valid() and ui_uploads.require(form, upload, "file")):
        return _invalid(request, finding, attachment_form=form)
    try:
        attachment, created = management.finding_attachment_add(
            actor=request.user, finding=finding, upload=upload
        )
    except REFUSALS as refusal:
        return _refused(request, finding, form, refusal, attachment_form=form)
    if created:
        messages.success(request, f"Attached {attachment.file_name} (SHA-256 {attachment.sha256[:12]}…).")
    else:
        messages.info(request, f"This file is already attached as {attachment.file_name}: nothing was added.")
    return ui_uploads.done(request, f"{reverse('finding-detail', args=[finding.pk])}#attachments-heading")


@login_required
@require_GET
def attachment_download(request: HttpRequest, pk: int, attachment_pk: int) -> HttpResponse:
    finding = _visible_finding(request, pk)
    attachment = get_object_or_404(
        selectors.finding_attachment_list(user=request.user).filter(finding=finding), pk=attachment_pk
    )
    return FileResponse(
        storage.open_blob(attachment.file_key), as_attachment=True, filename=attachment.file_name
    )
