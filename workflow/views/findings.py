"""Finding pages: the list, raising a finding, and a finding with its status changes."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_http_methods, require_POST

from accounts import access
from accounts.models import User
from config.api.errors import ServiceError
from config.ui import add_refusal, page, paginate
from registry import selectors as registry_selectors
from workflow import selectors
from workflow.models import Finding, FindingStatus, Severity
from workflow.services import findings as finding_services
from workflow.views.finding_parts import management_context

ANY = [("", "Any")]
SOURCES = [("review", "Review"), ("check", "Check"), ("monitoring", "Monitoring")]
SORTS = {"raised": "raised_at", "due": "due_date", "severity": "severity_rank", "title": "title"}
# What each target status is called on its button.
TRANSITION_LABELS = {
    FindingStatus.OPEN: "Reopen",
    FindingStatus.REMEDIATED: "Mark remediated",
    FindingStatus.RISK_ACCEPTED: "Accept the risk",
    FindingStatus.CLOSED: "Close finding…",
}


class FindingFilterForm(forms.Form):
    q = forms.CharField(max_length=200, required=False, label="Search titles")
    status = forms.ChoiceField(choices=ANY + FindingStatus.choices, required=False)
    severity = forms.ChoiceField(choices=ANY + Severity.choices, required=False)
    source = forms.ChoiceField(choices=ANY + SOURCES, required=False)
    model = forms.SlugField(max_length=100, required=False, label="Model name")


class FindingForm(forms.Form):
    model = forms.SlugField(max_length=100, label="Model name")
    version = forms.IntegerField(min_value=1, required=False, help_text="Leave empty for the whole model.")
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.MEDIUM)
    title = forms.CharField(max_length=300)
    description = forms.CharField(max_length=20000, required=False, widget=forms.Textarea(attrs={"rows": 5}))
    owner = forms.CharField(
        max_length=150, required=False, label="Owner (username)", help_text="Defaults to the model's owner."
    )
    due_date = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Defaults to a date set by the severity.",
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=FindingStatus.choices, widget=forms.HiddenInput)
    resolution = forms.CharField(max_length=20000, required=False, widget=forms.Textarea(attrs={"rows": 3}))


@login_required
def finding_list(request: HttpRequest) -> HttpResponse:
    filters = FindingFilterForm(request.GET)
    findings = _filtered(selectors.finding_rows(user=request.user), filters)
    listing = paginate(request, findings, sorts=SORTS, default_sort="-raised")
    context = {
        "listing": listing,
        "filters": filters,
        "may_raise": access.may(request.user, "raise_finding"),
    }
    return page(request, "governance/findings/list.html", context)


def _filtered(findings, filters: FindingFilterForm):
    if not filters.is_valid():
        return findings.none()
    data = filters.cleaned_data
    exact = {"status": "status", "severity": "severity", "source": "source", "model": "model__name"}
    for field, lookup in exact.items():
        if data[field]:
            findings = findings.filter(**{lookup: data[field]})
    if data["q"]:
        findings = findings.filter(Q(title__icontains=data["q"]) | Q(description__icontains=data["q"]))
    return findings


@login_required
@require_http_methods(["GET", "POST"])
def finding_new(request: HttpRequest) -> HttpResponse:
    access.require(request.user, "raise_finding")
    form = FindingForm(request.POST or None, initial={"model": request.GET.get("model", "")})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                finding = finding_services.finding_raise(actor=request.user, **_finding_inputs(request, form))
            except (ServiceError, ValidationError) as refusal:
                add_refusal(form, refusal)
            else:
                messages.success(request, f"Finding #{finding.pk} raised on {finding.model.name}.")
                return redirect("finding-detail", pk=finding.pk)
    return page(request, "governance/findings/new.html", {"form": form}, status=status)


def _finding_inputs(request: HttpRequest, form: FindingForm) -> dict:
    """The service's arguments from the form, resolving names the user may see (ValidationError if not)."""
    data = form.cleaned_data
    try:
        model = registry_selectors.model_get(user=request.user, name=data["model"])
    except Http404:
        raise ValidationError({"model": ["You cannot see a model with this name."]}) from None
    version = None
    if data["version"]:
        version = registry_selectors.version_by_reference(
            user=request.user, model_name=model.name, version=data["version"]
        )
        if version is None:
            raise ValidationError({"version": [f"{model.name} has no version {data['version']}."]})
    owner = None
    if data["owner"]:
        owner = User.objects.filter(username=data["owner"], is_active=True).first()
        if owner is None:
            raise ValidationError({"owner": [f"No active user '{data['owner']}'."]})
    return {
        "model": model,
        "version": version,
        "severity": data["severity"],
        "title": data["title"],
        "description": data["description"],
        "owner": owner,
        "due_date": data["due_date"],
    }


def _visible_finding(request: HttpRequest, pk: int) -> Finding:
    return get_object_or_404(
        selectors.finding_list(user=request.user).select_related("check_run", "model__owner"), pk=pk
    )


def _detail_context(request: HttpRequest, finding: Finding, **extra) -> dict:
    transitions = [
        {"status": status, "label": TRANSITION_LABELS[status]}
        for status in selectors.finding_next_statuses(user=request.user, finding=finding)
    ]
    return {"finding": finding, "transitions": transitions, **management_context(request, finding, **extra)}


@login_required
def finding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    finding = _visible_finding(request, pk)
    return page(request, "governance/findings/detail.html", _detail_context(request, finding))


@login_required
def finding_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Closing is final, so it is asked for on its own page first."""
    finding = _visible_finding(request, pk)
    if FindingStatus.CLOSED not in selectors.finding_next_statuses(user=request.user, finding=finding):
        raise PermissionDenied("You cannot close this finding now.")
    return page(request, "governance/findings/close.html", {"finding": finding})


@login_required
@require_POST
def finding_status(request: HttpRequest, pk: int) -> HttpResponse:
    finding = _visible_finding(request, pk)
    form = StatusForm(request.POST)
    status_code = 400
    if form.is_valid():
        target = form.cleaned_data["status"]
        try:
            finding_services.finding_change_status(
                actor=request.user, finding=finding, status=target, resolution=form.cleaned_data["resolution"]
            )
        except PermissionDenied as refusal:
            form.add_error(None, str(refusal) or "You cannot make this change.")
            status_code = 403
        except (ServiceError, ValidationError) as refusal:
            add_refusal(form, refusal)
            status_code = getattr(refusal, "status_code", 400)
        else:
            messages.success(request, f"Finding #{finding.pk} is now {FindingStatus(target).label.lower()}.")
            return redirect("finding-detail", pk=finding.pk)
    finding = _visible_finding(request, pk)
    context = _detail_context(request, finding, status_form=form)
    return page(request, "governance/findings/detail.html", context, status=status_code)
