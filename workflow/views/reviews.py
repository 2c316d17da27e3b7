"""Periodic review pages: open a review from the model page, attach evidence, conclude and sign it; and a
risk officer's decision on a pending tier change. The services decide; these pages show their refusals."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts import access
from config.api.errors import ServiceError
from config.ui import add_refusal, page
from registry import selectors as registry_selectors
from registry.services import inventory
from workflow import selectors
from workflow.models import PeriodicReview, ReviewConclusion
from workflow.services import reviews as review_services
from workflow.views import step_up


class OpenForm(forms.Form):
    scope = forms.CharField(
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the review covers and why now (e.g. the annual review, a change of use).",
    )


class AttachForm(forms.Form):
    document = forms.TypedChoiceField(coerce=int, label="Evidence document")


class CompleteForm(forms.Form):
    conclusion = forms.ChoiceField(choices=ReviewConclusion.choices, widget=forms.RadioSelect)
    summary = forms.CharField(max_length=20000, widget=forms.Textarea(attrs={"rows": 5}))
    valid_until = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional: the validity this review grants (after today, at most five years).",
    )
    password = forms.CharField(
        max_length=4096, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    totp = forms.CharField(max_length=16, required=False, label="Authenticator code")

    def __init__(self, *args, idp: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if idp:  # someone who signs in through an IdP re-authenticates there, not with a password
            del self.fields["password"], self.fields["totp"]


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


def _review(request: HttpRequest, pk: int) -> PeriodicReview:
    return get_object_or_404(selectors.review_list(user=request.user), pk=pk)


def _context(request: HttpRequest, review: PeriodicReview, **extra) -> dict:
    documents = selectors.evidence_list(user=request.user).filter(model_version__model=review.model)
    attach = AttachForm()
    attach.fields["document"].choices = [
        (d.pk, f"v{d.model_version.version} · {d.evidence_type_id} · {d.title}")
        for d in documents.exclude(pk__in=review.documents.values("pk"))
    ]
    reviewer = access.may(request.user, "sign")
    signing_idp = step_up.provider_for(request)
    return {
        "review": review,
        "model": review.model,
        "documents": list(review.documents.select_related("model_version")),
        "attach_form": attach,
        "complete_form": extra.pop("complete_form", None) or CompleteForm(idp=signing_idp is not None),
        "signing_idp": signing_idp,
        "may_act": reviewer and review.status == "open",
        "may_cancel": review.status == "open"
        and (request.user.pk == review.opened_by_id or access.may(request.user, "administer")),
        **extra,
    }


@login_required
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return page(request, "governance/reviews/detail.html", _context(request, _review(request, pk)))


@login_required
@require_POST
def review_open(request: HttpRequest, name: str) -> HttpResponse:
    model = registry_selectors.model_get(user=request.user, name=name)
    form = OpenForm(request.POST)
    if form.is_valid():
        try:
            review = review_services.review_open(
                actor=request.user, model=model, scope=form.cleaned_data["scope"]
            )
        except PermissionDenied:
            raise
        except ServiceError as refusal:
            messages.error(request, refusal.message)
            return redirect("model-detail", name=model.name)
        messages.success(request, f"Periodic review #{review.pk} of {model.name} is open.")
        return redirect("review-detail", pk=review.pk)
    messages.error(request, "The review could not be opened: the scope is too long.")
    return redirect("model-detail", name=model.name)


@login_required
@require_POST
def review_attach(request: HttpRequest, pk: int) -> HttpResponse:
    review = _review(request, pk)
    form = AttachForm(request.POST)
    form.fields["document"].choices = [(request.POST.get("document"), "")]
    document = None
    if form.is_valid():
        document = selectors.evidence_list(user=request.user).filter(pk=form.cleaned_data["document"]).first()
    if document is None:
        messages.error(request, "Choose an evidence document of this model.")
        return redirect("review-detail", pk=review.pk)
    try:
        review_services.review_attach(actor=request.user, review=review, document=document)
    except (ServiceError, ValidationError) as refusal:
        messages.error(request, getattr(refusal, "message", None) or "; ".join(refusal.messages))
    else:
        messages.success(request, f"Attached {document.title}.")
    return redirect("review-detail", pk=review.pk)


@login_required
@require_POST
def review_complete(request: HttpRequest, pk: int) -> HttpResponse:
    """Conclude and sign; someone who signs in through an IdP re-authenticates there first
    (``review_complete_finish`` signs when they come back)."""
    review = _review(request, pk)
    idp = step_up.provider_for(request)
    form = CompleteForm(request.POST, idp=idp is not None)
    if not form.is_valid():
        return _complete_refused(request, pk, form, 400)
    data = form.cleaned_data
    fields = {
        "conclusion": data["conclusion"],
        "summary": data["summary"],
        "valid_until": data["valid_until"],
    }
    if idp is not None:
        kept = fields | {"valid_until": data["valid_until"].isoformat() if data["valid_until"] else None}
        try:
            return step_up.begin(
                request, idp, f"review:{review.pk}", kept, lambda step_up_id: _finish_url(review, step_up_id)
            )
        except ServiceError as refusal:
            add_refusal(form, refusal)
            return _complete_refused(request, pk, form, refusal.status_code)
    signing = review_services.ReviewSigning(**fields, password=data["password"], totp_code=data["totp"])
    return _complete(request, review, form, signing)


def _finish_url(review: PeriodicReview, step_up_id: int) -> str:
    return reverse("review-complete-finish", args=[review.pk, step_up_id])


@login_required
@require_http_methods(["GET"])
def review_complete_finish(request: HttpRequest, pk: int, step_up_id: int) -> HttpResponse:
    """Back from the IdP: sign the conclusion kept for this step-up (once; the step-up is consumed)."""
    review = _review(request, pk)
    fields = step_up.take(request, step_up_id, f"review:{review.pk}")
    form = CompleteForm(fields, idp=True)
    if fields is None or not form.is_valid():
        form = CompleteForm(idp=True)
        form.add_error(None, "This signature was already made or was never started here; nothing was signed.")
        return _complete_refused(request, pk, form, 400)
    data = form.cleaned_data
    signing = review_services.ReviewSigning(
        conclusion=data["conclusion"],
        summary=data["summary"],
        valid_until=data["valid_until"],
        password="",
        step_up=step_up_id,
    )
    return _complete(request, review, form, signing)


def _complete(request: HttpRequest, review: PeriodicReview, form: CompleteForm, signing) -> HttpResponse:
    try:
        review_services.review_complete(actor=request.user, review=review, signing=signing)
    except ServiceError as refusal:
        add_refusal(form, refusal)
        return _complete_refused(request, review.pk, form, refusal.status_code)
    except ValidationError as refusal:
        add_refusal(form, refusal)
        return _complete_refused(request, review.pk, form, 400)
    messages.success(request, f"Signed: periodic review #{review.pk} of {review.model.name} is complete.")
    return redirect("review-detail", pk=review.pk)


def _complete_refused(request: HttpRequest, pk: int, form: CompleteForm, status: int) -> HttpResponse:
    review = _review(request, pk)
    return page(
        request,
        "governance/reviews/detail.html",
        _context(request, review, complete_form=form),
        status=status,
    )


@login_required
@require_http_methods(["POST"])
def review_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    review = _review(request, pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the review is cancelled.")
        return redirect("review-detail", pk=review.pk)
    try:
        review_services.review_cancel(actor=request.user, review=review, reason=form.cleaned_data["reason"])
    except (ServiceError, ValidationError) as refusal:
        messages.error(request, getattr(refusal, "message", None) or "; ".join(refusal.messages))
    else:
        messages.success(request, f"Periodic review #{review.pk} was cancelled.")
    return redirect("review-detail", pk=review.pk)


@login_required
@require_POST
def tier_change_decide(request: HttpRequest, pk: str, decision: str) -> HttpResponse:
    change = get_object_or_404(registry_selectors.tier_change_list(user=request.user), pk=int(pk))
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the reason for the decision.")
        return redirect("model-detail", name=change.model.name)
    try:
        inventory.tier_change_decide(
            actor=request.user, change=change, accept=decision == "accept", reason=form.cleaned_data["reason"]
        )
    except (ServiceError, ValidationError) as refusal:
        messages.error(request, getattr(refusal, "message", None) or "; ".join(refusal.messages))
    else:
        verb = "accepted" if decision == "accept" else "rejected"
        messages.success(request, f"Tier change #{change.pk} {verb}.")
    return redirect("model-detail", name=change.model.name)
