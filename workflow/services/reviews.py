"""Periodic reviews and the review calendar.

A periodic review is second-line work: a validator or risk officer opens it, attaches evidence, concludes and
signs it with re-authentication (as an approval signature, 21 CFR 11.200), and only then does the model's
``last_reviewed_on`` move (and its ``valid_until``, when the review grants one), which reschedules the
next review and reopens a gate closed for ``review_overdue``. Nobody of the model's first line (its owner,
its team's ML engineers, the people who submitted its versions) may sign it. Overdue reviews are announced
once; a model under review after a monitoring breach is cleared by a validator's ``review_clear``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import rfc8785
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts import access
from accounts.errors import InvalidTransition, ReauthenticationFailed, RequestClosed, SignatureRefused
from accounts.models import User
from audit import keys as signing_keys
from audit import record
from registry.models import ModelVersion, RegisteredModel
from registry.models.inventory import ModelStatus
from registry.services.inventory import model_review_recorded, model_status_set_by_workflow
from workflow.models import (
    EvidenceDocument,
    NotificationKind,
    PeriodicReview,
    ReviewConclusion,
    ReviewNotice,
    ReviewStatus,
)
from workflow.services import inbox, notifications
from workflow.services.approvals import Reauthentication, reauthenticate, signed_idp_time

REVIEW_SCHEMA = "attest.periodic-review.v1"
MAX_VALIDITY_YEARS = 5


def reviews_mark_overdue(*, today: dt.date | None = None) -> list[str]:
    """Announce every model whose review date has passed (once per model and due date); returns names."""
    today = today or timezone.now().date()
    overdue = RegisteredModel.objects.filter(next_review_due__lt=today).exclude(status=ModelStatus.RETIRED)
    announced = []
    for model in overdue.select_related("owner", "team__group"):
        if _announce_overdue(model):
            announced.append(model.name)
    return announced


def _announce_overdue(model: RegisteredModel) -> bool:
    try:
        with transaction.atomic():
            ReviewNotice.objects.create(model=model, due_date=model.next_review_due)
            facts = {"model": model.name, "due_date": model.next_review_due, "owner": model.owner.username}
            record(action="review.overdue", actor=None, obj=model, after=facts)
            notifications.notify(
                "review.overdue",
                facts,
                team=model.team,
                recipients=notifications.audience("review.overdue", team=model.team, owner=model.owner),
            )
            inbox.notification_send(
                recipients=[model.owner],
                kind=NotificationKind.REVIEW_DUE,
                title=f"The periodic review of {model.name} was due on {model.next_review_due:%Y-%m-%d}",
                link=reverse("model-detail", args=[model.name]),
                obj=model,
                dedupe_key=f"review-due:{model.pk}:{model.next_review_due:%Y-%m-%d}",
            )
    except IntegrityError:  # already announced for this due date
        return False
    return True


def review_clear(*, actor: User, model: RegisteredModel, reason: str) -> RegisteredModel:
    """A validator (or administrator) returns a model under review to production, reopening the gate."""
    access.require(actor, "validate", model)
    if not reason.strip():
        raise ValidationError({"reason": ["Summarise the review that clears the model."]})
    with transaction.atomic():
        model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
        # Only a model under review can be cleared: from "approved" the move to production is also
        # allowed by the lifecycle, and clearing would then deploy a model nobody put under review.
        if model.status != ModelStatus.UNDER_REVIEW:
            raise InvalidTransition(
                f"{model.name} is {model.get_status_display().lower()}, not under review: there is nothing to clear."
            )
        model_status_set_by_workflow(model=model, status=ModelStatus.IN_PRODUCTION, reason=reason)
        record(action="review.cleared", actor=actor, obj=model, reason=reason)
    return model


# --- periodic reviews ---------------------------------------------------------------------------------


def review_open(*, actor: User, model: RegisteredModel, scope: str = "") -> PeriodicReview:
    """Open a periodic review of ``model`` (validators, risk officers, administrators who may see it)."""
    _require_reviewer(actor, model)
    try:
        with transaction.atomic():
            review = PeriodicReview.objects.create(model=model, scope=scope.strip(), opened_by=actor)
            record(action="review.opened", actor=actor, obj=review, after=_facts(review))
    except IntegrityError:
        raise InvalidTransition(
            f"A periodic review of {model.name} is already open; complete or cancel it first.",
            fields={"model": ["A review of this model is already open."]},
        ) from None
    return review


def review_attach(*, actor: User, review: PeriodicReview, document: EvidenceDocument) -> PeriodicReview:
    """Attach an evidence document of one of the model's versions to an open review."""
    _require_reviewer(actor, review.model)
    if document.model_version.model_id != review.model_id:
        raise ValidationError(
            {"document": [f"Document {document.pk} is not evidence of {review.model.name}."]}
        )
    with transaction.atomic():
        review = _locked_open(review)
        review.documents.add(document)
        record(
            action="review.evidence_attached",
            actor=actor,
            obj=review,
            after={"document": document.pk, "title": document.title, "sha256": document.sha256},
        )
    return review


@dataclass(frozen=True)
class ReviewSigning:
    """What the signer concludes and the credentials re-entered for the signature."""

    conclusion: str
    summary: str
    password: str
    totp_code: str = ""
    valid_until: dt.date | None = None
    step_up: int | None = None  # a completed re-authentication at the IdP (accounts.services.federation)


def review_complete(*, actor: User, review: PeriodicReview, signing: ReviewSigning) -> PeriodicReview:
    """Conclude and sign an open review; it sets the model's review date (and validity, when granted).

    Raises ReauthenticationFailed (401), SignatureRefused (403: a first-line signer, a role that does not
    review), RequestClosed (409) or ValidationError naming the field; each refusal is audited and
    committed before it is raised. An unsatisfactory conclusion puts a model in production under review.
    """
    try:
        _require_signer(actor, review.model)
        _check_conclusion(signing)
        method = reauthenticate(
            actor, signing.password, signing.totp_code, step_up=signing.step_up, purpose=f"review:{review.pk}"
        )
        with transaction.atomic():
            return _sign(actor, review.pk, signing, method)
    except (ReauthenticationFailed, SignatureRefused) as refusal:
        with transaction.atomic():
            record(
                action="review.signature_refused",
                actor=actor,
                obj=review,
                after={"code": refusal.code, "why": refusal.message},
            )
        raise


def review_cancel(*, actor: User, review: PeriodicReview, reason: str) -> PeriodicReview:
    """Withdraw an open review (who opened it, or an administrator), with a reason."""
    if actor.pk != review.opened_by_id:
        access.require(actor, "administer")
    if not reason.strip():
        raise ValidationError({"reason": ["Say why the review is cancelled."]})
    with transaction.atomic():
        review = _locked_open(review)
        review.status, review.closed_at, review.cancel_reason = ReviewStatus.CANCELLED, timezone.now(), reason
        review.save(update_fields=["status", "closed_at", "cancel_reason"])
        record(action="review.cancelled", actor=actor, obj=review, after=_facts(review), reason=reason)
    return review


def _require_reviewer(actor: User, model: RegisteredModel) -> None:
    if not access.may(actor, "sign"):  # the second line reviews: who may sign, ACTION_ROLES["sign"]
        raise PermissionDenied(
            "Periodic reviews are the second line's: validators, risk officers, administrators."
        )
    if not access.can(actor, "sign", model):  # a grant to read the model does not make one its reviewer
        raise PermissionDenied(
            "Only the model's own team's validators, risk officers or administrators review it."
        )


def _require_signer(actor: User, model: RegisteredModel) -> None:
    """The second line signs; nobody who built, owns or submitted the model (segregation of duties)."""
    if not access.can(actor, "sign", model):
        raise SignatureRefused(
            "A periodic review is signed by a validator, a risk officer or an administrator.",
            code="wrong_role",
        )
    submitted = ModelVersion.objects.filter(model=model, created_by=actor).exists()
    if actor.pk in (model.owner_id, model.created_by_id) or submitted:
        raise SignatureRefused(
            f"Segregation of duties: you own, registered or submitted {model.name}; its review is signed by "
            "someone independent of it.",
            code="segregation_of_duties",
        )


def _check_conclusion(signing: ReviewSigning) -> None:
    if signing.conclusion not in ReviewConclusion.values:
        raise ValidationError({"conclusion": [f"One of {', '.join(ReviewConclusion.values)}."]})
    if not signing.summary.strip():
        raise ValidationError({"summary": ["Summarise what was reviewed and what was found."]})
    today = timezone.now().date()
    if signing.valid_until is not None:
        if signing.valid_until <= today:
            raise ValidationError({"valid_until": ["A validity the review grants ends after today."]})
        if signing.valid_until > today.replace(year=today.year + MAX_VALIDITY_YEARS):
            raise ValidationError({"valid_until": [f"At most {MAX_VALIDITY_YEARS} years from today."]})
        if signing.conclusion == ReviewConclusion.UNSATISFACTORY:
            raise ValidationError({"valid_until": ["An unsatisfactory review grants no validity."]})


def _locked_open(review: PeriodicReview) -> PeriodicReview:
    review = PeriodicReview.objects.select_for_update().select_related("model").get(pk=review.pk)
    if review.status != ReviewStatus.OPEN:
        raise RequestClosed(f"Periodic review #{review.pk} is {review.status}; it can no longer change.")
    return review


def _sign(actor: User, review_id: int, signing: ReviewSigning, method: Reauthentication) -> PeriodicReview:
    review = _locked_open(PeriodicReview(pk=review_id))
    model = RegisteredModel.objects.select_for_update().get(pk=review.model_id)
    now = timezone.now()
    review.conclusion, review.summary, review.valid_until = (
        signing.conclusion,
        signing.summary.strip(),
        signing.valid_until,
    )
    review.signer, review.printed_name, review.roles = (
        actor,
        actor.printed_name,
        sorted(access.roles_of(actor)),
    )
    review.idp_authenticated_at = method.idp_authenticated_at
    review.signed_at, review.auth_method, review.status, review.closed_at = (
        now,
        method.method,
        ReviewStatus.COMPLETED,
        now,
    )
    review.payload = rfc8785.dumps(signed_fields(review))
    private_key, _ = signing_keys.signing_key(create_if_missing=not settings.PRODUCTION)
    review.server_signature = private_key.sign(bytes(review.payload)).hex()
    review.key_id = signing_keys.key_id(private_key.public_key())
    review.save()
    record(action="review.completed", actor=actor, obj=review, after=_facts(review))
    model_review_recorded(
        model=model, reviewed_on=now.date(), valid_until=signing.valid_until, review_id=review.pk
    )
    if signing.conclusion == ReviewConclusion.UNSATISFACTORY and model.status == ModelStatus.IN_PRODUCTION:
        model_status_set_by_workflow(
            model=model, status=ModelStatus.UNDER_REVIEW, reason=f"periodic review {review.pk} unsatisfactory"
        )
    return review


def signed_fields(review: PeriodicReview) -> dict[str, Any]:
    """What the server signs: who concluded what about which model, when, on which documents."""
    return {
        "schema": REVIEW_SCHEMA,
        "review": review.pk,
        "model": review.model.name,
        "conclusion": review.conclusion,
        "summary": review.summary,
        "valid_until": review.valid_until.isoformat() if review.valid_until else None,
        "documents": sorted(document.sha256 for document in review.documents.all()),
        "signer": review.signer_id,
        "printed_name": review.printed_name,
        "roles": review.roles,
        "signed_at": review.signed_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "auth_method": review.auth_method,
    } | signed_idp_time(review.idp_authenticated_at)


def _facts(review: PeriodicReview) -> dict[str, Any]:
    return {
        "model": review.model.name,
        "status": review.status,
        "scope": review.scope,
        "conclusion": review.conclusion,
        "valid_until": review.valid_until,
        "printed_name": review.printed_name,
        "auth_method": review.auth_method,
        "idp_authenticated_at": review.idp_authenticated_at,
        "server_signature": review.server_signature,
    }
