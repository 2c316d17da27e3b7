"""The periodic review calendar: overdue reviews are announced once, and models under review are cleared
by a validator after their investigation."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance import access
from governance.audit import record
from governance.errors import InvalidTransition
from governance.models import ReviewNotice, User
from governance.services import notifications
from registry.models import RegisteredModel
from registry.models.inventory import ModelStatus
from registry.services.inventory import model_status_set_by_workflow


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
