"""Approval pages: the queue, requesting approval, a request with its evidence, signing and cancelling.

Reads go through ``workflow.selectors`` (the API's scoping), writes through
``workflow.services.approvals``; a refusal is shown where it happened (the form, the sign dialog).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts import access
from accounts import selectors as account_selectors
from accounts.errors import PrerequisitesMissing
from accounts.models import User
from config.api.errors import ServiceError
from config.ui import add_refusal, page, paginate
from registry import selectors as registry_selectors
from workflow import selectors
from workflow.models import ApprovalRequest, ApprovalStatus, Decision, Environment, Meaning, Rating
from workflow.services import approval_logistics as logistics
from workflow.services import approvals as approval_services
from workflow.services.approvals import SignatureInput
from workflow.services.evidence import material_changes, signed_evidence
from workflow.views import step_up

SORTS = {"requested": "requested_at", "completed": "completed_at"}
ANY = [("", "Any")]


class ApprovalFilterForm(forms.Form):
    status = forms.ChoiceField(choices=ANY + ApprovalStatus.choices, required=False)
    environment = forms.ChoiceField(choices=ANY + Environment.choices, required=False)
    model = forms.SlugField(max_length=100, required=False, label="Model name")


class ApprovalRequestForm(forms.Form):
    model = forms.SlugField(max_length=100, label="Model name")
    version = forms.IntegerField(min_value=1)
    environment = forms.ChoiceField(choices=Environment.choices, initial=Environment.PRODUCTION)
    justification = forms.CharField(
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Why this version should go to this environment (shown to the signers).",
    )


class SignForm(forms.Form):
    decision = forms.ChoiceField(choices=Decision.choices, widget=forms.RadioSelect, initial=Decision.APPROVE)
    meaning = forms.ChoiceField(choices=Meaning.choices, widget=forms.HiddenInput)
    comment = forms.CharField(
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when you reject.",
    )
    password = forms.CharField(
        max_length=4096, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    totp = forms.CharField(
        max_length=16,
        required=False,
        label="Authenticator code",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args, idp: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if idp:  # someone who signs in through an IdP re-authenticates there, not with a password
            del self.fields["password"], self.fields["totp"]


class DelegateForm(forms.Form):
    """Hand a stage to a colleague: ``assignee`` is ``<stage key>|<username>``, offered grouped by stage."""

    assignee = forms.ChoiceField(label="Hand the stage to")
    replaces = forms.ChoiceField(
        required=False, label="Taking it from", help_text="Optional: a signer who may then no longer sign it."
    )
    reason = forms.CharField(
        max_length=5000, widget=forms.Textarea(attrs={"rows": 2}), help_text="Recorded in the audit log."
    )

    def __init__(self, *args, choices: list, replaceable: list | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = choices
        if replaceable is None:
            del self.fields["replaces"]
        else:
            self.fields["replaces"].choices = [("", "nobody"), *replaceable]

    def parts(self) -> tuple[str, str]:
        stage, _, username = self.cleaned_data["assignee"].partition("|")
        return stage, username


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=5000, widget=forms.Textarea(attrs={"rows": 3}), help_text="Recorded in the audit log."
    )


@login_required
def approval_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    awaiting = selectors.approvals_awaiting(user=user)
    default_tab = "queue" if access.may(user, "sign") else "all"
    tab = request.GET.get("tab") if request.GET.get("tab") in ("queue", "overdue", "all") else default_tab
    overdue = selectors.approvals_overdue(user=user)
    filters = ApprovalFilterForm(request.GET)
    if tab == "queue":
        listing = paginate(request, awaiting)
    elif tab == "overdue":
        listing = paginate(request, overdue)
    else:
        listing = paginate(
            request,
            _filtered(selectors.approval_list(user=user), filters),
            sorts=SORTS,
            default_sort="-requested",
        )
    for approval in listing.page:
        approval.open_stage = approval.policy.stage(approval.current_stage_key)
    context = {
        "tab": tab,
        "listing": listing,
        "filters": filters,
        "queue_count": len(awaiting),
        "overdue_count": overdue.count(),
        "now": timezone.now(),
        "may_request": access.may(user, "request_approval"),
    }
    return page(request, "governance/approvals/list.html", context)


def _filtered(approvals, filters: ApprovalFilterForm):
    if not filters.is_valid():
        return approvals.none()
    data = filters.cleaned_data
    if data["status"]:
        approvals = approvals.filter(status=data["status"])
    if data["environment"]:
        approvals = approvals.filter(environment=data["environment"])
    if data["model"]:
        approvals = approvals.filter(model_version__model__name=data["model"])
    return approvals


@login_required
@require_http_methods(["GET", "POST"])
def approval_new(request: HttpRequest) -> HttpResponse:
    access.require(request.user, "request_approval")
    form = ApprovalRequestForm(request.POST or None, initial=request.GET.dict())
    version = _version_named(request, request.POST or request.GET)
    named = request.GET.get("model") and request.GET.get("version")
    if request.method == "GET" and named and version is None:
        raise Http404  # the link names a version this user cannot see: say nothing about it
    missing: list[str] = []
    status = 200
    if request.method == "POST" and form.is_valid():
        if version is None:
            form.add_error(None, "You cannot see a version with that model name and number.")
            status = 400
        else:
            try:
                approval = approval_services.approval_request(
                    actor=request.user,
                    version=version,
                    environment=form.cleaned_data["environment"],
                    justification=form.cleaned_data["justification"],
                )
            except PrerequisitesMissing as refusal:
                missing, status = refusal.details.get("missing", []), refusal.status_code
            except (ServiceError, ValidationError) as refusal:
                add_refusal(form, refusal)
                status = getattr(refusal, "status_code", 400)
            else:
                messages.success(request, f"Approval requested for {version} → {approval.environment}.")
                return redirect("approval-detail", pk=approval.pk)
    elif request.method == "POST":
        status = 400
    context = {"form": form, "version": version, "missing": missing}
    return page(request, "governance/approvals/new.html", context, status=status)


def _version_named(request: HttpRequest, data):
    """The version named by ``model`` and ``version`` in ``data`` if the user may see it."""
    try:
        number = int(data.get("version", ""))
    except ValueError:
        return None
    name = data.get("model", "")
    if not name:
        return None
    return registry_selectors.version_by_reference(user=request.user, model_name=name, version=number)


def _visible_approval(request: HttpRequest, pk: int) -> ApprovalRequest:
    return get_object_or_404(selectors.approval_list(user=request.user), pk=pk)


def _handover_forms(request: HttpRequest, approval: ApprovalRequest, data=None, mode: str = "") -> dict:
    """The delegate form (stages the user may sign, to colleagues who may too) and, for an administrator,
    the reassign form; None where there is nothing to offer."""
    if approval.status != ApprovalStatus.PENDING:
        return {"delegate_form": None, "reassign_form": None}
    user = request.user
    open_stages = [approval.policy.stage(key) for key in approval.stage_keys[approval.stage_index :]]
    own = [stage for stage in open_stages if approval_services.signer_refusal(user, approval, stage) is None]
    forms_ = {}
    delegate_choices = _grouped_choices(approval, own, exclude=user)
    forms_["delegate_form"] = (
        DelegateForm(data if mode == "delegate" else None, auto_id="delegate_%s", choices=delegate_choices)
        if delegate_choices
        else None
    )
    forms_["reassign_form"] = None
    if access.may(user, "administer"):
        choices = _grouped_choices(approval, open_stages)
        signers = sorted(
            {person for stage in open_stages for person in approval_services.stage_signers(approval, stage)},
            key=lambda person: person.username,
        )
        replaceable = [(person.username, f"{person.printed_name} ({person.username})") for person in signers]
        if choices:
            forms_["reassign_form"] = DelegateForm(
                data if mode == "reassign" else None,
                auto_id="reassign_%s",
                choices=choices,
                replaceable=replaceable,
            )
    return forms_


def _grouped_choices(approval: ApprovalRequest, stages: list, exclude=None) -> list:
    grouped = []
    for stage in stages:
        people = logistics.delegation_candidates(approval, stage, exclude=exclude)
        if people:
            items = [(f"{stage['key']}|{p.username}", f"{p.printed_name} ({p.username})") for p in people]
            grouped.append((stage["title"], items))
    return grouped


def _detail_context(request: HttpRequest, approval: ApprovalRequest, sign_form=None, **extra) -> dict:
    offers = selectors.approval_offers(user=request.user, request=approval)
    open_stage = approval.policy.stage(approval.current_stage_key) if offers["sign"] else None
    signing_idp = step_up.provider_for(request)
    if sign_form is None and open_stage is not None:
        sign_form = SignForm(initial={"meaning": open_stage["meaning"]}, idp=signing_idp is not None)
    evidence = signed_evidence(approval.model_version, approval)
    return {
        "approval": approval,
        "version": approval.model_version,
        "stages": selectors.approval_stages(approval),
        "manifest": approval.evidence_manifest or {},
        "evidence": evidence,
        "later_summary": evidence.later_summary(),
        "signed_rating": _rating_label(evidence.manifest.validation_document),
        "material_changes": material_changes(evidence, approval.policy)
        if approval.status == ApprovalStatus.APPROVED
        else [],
        "signatures": list(approval.signatures.all()),
        "offers": offers,
        "open_stage": open_stage,
        "meaning_statement": Meaning(open_stage["meaning"]).label if open_stage else "",
        "sign_form": sign_form,
        "totp_required": bool(open_stage and _totp_enrolled(request)),
        "signing_idp": signing_idp,
        **(_handover_forms(request, approval) if "delegate_form" not in extra else {}),
        "blocking_findings": selectors.approval_blocking_findings(user=request.user, request=approval),
        **extra,
    }


def _totp_enrolled(request: HttpRequest) -> bool:
    device = account_selectors.totp_device(user=request.user)
    return bool(device and device.confirmed)


@login_required
def approval_detail(request: HttpRequest, pk: int) -> HttpResponse:
    approval = _visible_approval(request, pk)
    return page(request, "governance/approvals/detail.html", _detail_context(request, approval))


@login_required
@require_POST
def approval_sign(request: HttpRequest, pk: int) -> HttpResponse:
    """Sign the open stage. Errors come back inside the dialog (htmx) or on the page with the dialog open.
    Someone who signs in through an IdP is sent there to re-authenticate first (``approval_sign_finish``)."""
    approval = _visible_approval(request, pk)
    idp = step_up.provider_for(request)
    form = SignForm(request.POST, idp=idp is not None)
    if not form.is_valid():
        return _sign_refused(request, pk, form, "Nothing was signed: correct the fields below.", 400)
    data = form.cleaned_data
    fields = {name: data[name] for name in ("decision", "meaning", "comment")}
    if idp is not None:

        def finish(step_up_id: int) -> str:
            return reverse("approval-sign-finish", args=[approval.pk, step_up_id])

        try:
            return step_up.begin(request, idp, f"approval:{approval.pk}", fields, finish)
        except ServiceError as refusal:
            return _sign_refused(request, pk, form, refusal.message, refusal.status_code)
    signing = SignatureInput(**fields, password=data["password"], totp_code=data["totp"])
    return _sign(request, approval, form, signing)


@login_required
@require_http_methods(["GET"])
def approval_sign_finish(request: HttpRequest, pk: int, step_up_id: int) -> HttpResponse:
    """Back from the IdP: make the signature kept for this step-up (once; the step-up is consumed)."""
    approval = _visible_approval(request, pk)
    fields = step_up.take(request, step_up_id, f"approval:{approval.pk}")
    if fields is None:
        message = "This signature was already made or was never started here; nothing was signed."
        return _sign_refused(request, pk, SignForm(idp=True), message, 400)
    form = SignForm(fields, idp=True)
    form.is_valid()
    return _sign(request, approval, form, SignatureInput(**fields, password="", step_up=step_up_id))


def _sign(request: HttpRequest, approval: ApprovalRequest, form: SignForm, signing: SignatureInput):
    try:
        approval_services.approval_sign(actor=request.user, request=approval, signing=signing)
    except ServiceError as refusal:
        for field, errors in refusal.fields.items():
            if field in form.fields:
                form.add_error(field, errors)
        return _sign_refused(request, approval.pk, form, refusal.message, refusal.status_code)
    except ValidationError as refusal:
        add_refusal(form, refusal)
        return _sign_refused(request, approval.pk, form, "", 400)
    messages.success(request, _signed_message(approval, signing.decision))
    target = reverse("approval-detail", args=[approval.pk])
    return HttpResponseClientRedirect(target) if request.htmx else redirect(target)


def _sign_refused(request: HttpRequest, pk: int, form: SignForm, error: str, status: int) -> HttpResponse:
    approval = _visible_approval(request, pk)  # a refusal may have closed or invalidated it
    context = _detail_context(request, approval, sign_form=form, sign_error=error, dialog_open=True)
    if request.htmx:
        return page(request, "governance/approvals/_sign_form.html", context)
    return page(request, "governance/approvals/detail.html", context, status=status)


def _signed_message(approval: ApprovalRequest, decision: str) -> str:
    verb = "approved" if decision == Decision.APPROVE else "rejected"
    return f"Signed: you {verb} {approval.model_version} for {approval.environment}."


@login_required
@require_POST
def approval_delegate(request: HttpRequest, pk: int) -> HttpResponse:
    """Delegate your signature on a stage, or (an administrator) reassign a stage; a refusal is shown on
    the approval page with the form, and the reason."""
    approval = _visible_approval(request, pk)
    mode = request.POST.get("mode") if request.POST.get("mode") in ("delegate", "reassign") else "delegate"
    handover = _handover_forms(request, approval, request.POST, mode)
    form = handover.get(f"{mode}_form")
    if form is None:
        messages.error(request, "There is no stage here you may hand over.")
        return redirect("approval-detail", pk=approval.pk)
    status = 400
    if form.is_valid():
        stage_key, username = form.parts()
        person = User.objects.filter(username=username, is_active=True).first()
        if person is None:
            form.add_error("assignee", "No active account with this username.")
            context = _detail_context(request, approval, **{**handover, "handover_open": mode})
            return page(request, "governance/approvals/detail.html", context, status=400)
        try:
            if mode == "delegate":
                logistics.stage_delegate(
                    actor=request.user,
                    request=approval,
                    stage_key=stage_key,
                    delegate=person,
                    reason=form.cleaned_data["reason"],
                )
            else:
                taken = form.cleaned_data.get("replaces")
                logistics.stage_reassign(
                    actor=request.user,
                    request=approval,
                    stage_key=stage_key,
                    assignee=person,
                    replaces=User.objects.filter(username=taken).first() if taken else None,
                    reason=form.cleaned_data["reason"],
                )
        except ServiceError as refusal:
            form.add_error(None, refusal.message)
            status = refusal.status_code
        except ValidationError as refusal:
            add_refusal(form, refusal)
        else:
            messages.success(
                request, f"'{stage_key}' was handed to {person.printed_name}, who has been told."
            )
            return redirect("approval-detail", pk=approval.pk)
    approval = _visible_approval(request, pk)
    context = _detail_context(request, approval, **{**handover, f"{mode}_form": form, "handover_open": mode})
    return page(request, "governance/approvals/detail.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def approval_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    approval = _visible_approval(request, pk)
    if not selectors.approval_offers(user=request.user, request=approval)["cancel"]:
        if approval.status != ApprovalStatus.PENDING:
            messages.error(request, "This request is no longer pending; it cannot be cancelled.")
            return redirect("approval-detail", pk=approval.pk)
        raise PermissionDenied("Only the requester or an administrator can cancel this request.")
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            approval_services.approval_cancel(
                actor=request.user, request=approval, reason=form.cleaned_data["reason"]
            )
        except (ServiceError, ValidationError) as refusal:
            add_refusal(form, refusal)
        else:
            messages.success(request, f"Approval request #{approval.pk} was cancelled.")
            return redirect("approval-detail", pk=approval.pk)
    status = 400 if request.method == "POST" else 200
    return page(
        request, "governance/approvals/cancel.html", {"approval": approval, "form": form}, status=status
    )


def _rating_label(document) -> str:
    """The label of the rating the signed validation document gave ("" when none or not rated)."""
    rating = document.rating if document is not None else ""
    return Rating(rating).label if rating in Rating.values else ""
