"""Grants on registered models and datasets: made and revoked by administrators, each with its audit event.

A grant gives one user, or every member of one team, ``view`` or ``change`` on a registered model (and
everything that belongs to it) or on a dataset (and its versions); ``accounts.access`` says what each
level conveys. Granting is idempotent: asking again for the grant a subject already holds returns it
unchanged (``created`` False, nothing audited). Asking for another level while one is held is refused
with 409 (``grant_exists``): revoke first, so the record shows both steps and their reasons.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from accounts import access
from accounts.models import Grant, GrantLevel, Team, User
from audit import record
from config.api.errors import ServiceError


class GrantExists(ServiceError):
    """The subject already holds a grant of another level on the object."""

    status_code = 409
    code = "grant_exists"


def grant_create(
    *, actor: User, subject: User | Team, obj: models.Model, level: str, reason: str
) -> tuple[Grant, bool]:
    """Grant ``subject`` (a user or a team) ``level`` on ``obj`` (a registered model or a dataset).

    Guarantees: administrators only (PermissionDenied); the subject is an active user or a team, the
    object exists, the level is ``view`` or ``change`` and a reason is given (ValidationError naming the
    field); a team never needs a grant on its own model or dataset (refused); ``permission.granted`` is
    audited on the object in the same transaction. Returns ``(grant, created)``.
    """
    access.require(actor, "administer")
    field = _object_field(obj)
    subject_field = _subject_field(subject)
    _validate(subject, subject_field, obj, field, level, reason)
    lookup = {subject_field: subject, field: obj}
    try:
        with transaction.atomic():
            held = Grant.objects.select_for_update().filter(**lookup).first()
            if held is not None:
                return _same_or_conflict(held, level), False
            grant = Grant.objects.create(**lookup, level=level, reason=reason.strip(), granted_by=actor)
            record(
                action="permission.granted",
                actor=actor,
                obj=obj,
                after=grant_facts(grant),
                reason=grant.reason,
            )
    except IntegrityError:  # a concurrent request made the same subject's grant first
        return _same_or_conflict(Grant.objects.get(**lookup), level), False
    return grant, True


def grant_revoke(*, actor: User, grant: Grant, reason: str) -> None:
    """Revoke ``grant``; access ends with the transaction, since every scope reads the grants live.

    Guarantees: administrators only; a reason is given; ``permission.revoked`` is audited on the object
    with what the grant was, in the same transaction as the deletion.
    """
    access.require(actor, "administer")
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say why the grant is revoked; it is kept in the audit log."]})
    with transaction.atomic():
        locked = Grant.objects.select_for_update().filter(pk=grant.pk).first()
        if locked is None:  # revoked meanwhile by another request, which wrote the event
            return
        facts = grant_facts(locked)
        obj = locked.object
        locked.delete()
        record(action="permission.revoked", actor=actor, obj=obj, before=facts, reason=reason.strip())


def grant_list(*, user) -> models.QuerySet[Grant]:
    """Every grant, for administrators; nothing for anyone else."""
    if not access.may(user, "administer"):
        return Grant.objects.none()
    return Grant.objects.select_related("user", "team", "model", "dataset", "granted_by")


def grant_facts(grant: Grant) -> dict:
    """What a grant is, in the words an auditor searches for (names, not only ids)."""
    return {
        "grant": grant.pk,
        "user": grant.user.username if grant.user_id is not None else None,
        "team": grant.team.name if grant.team_id is not None else None,
        "model": grant.model.name if grant.model_id is not None else None,
        "dataset": grant.dataset.name if grant.dataset_id is not None else None,
        "level": grant.level,
        "reason": grant.reason,
    }


def _object_field(obj: models.Model) -> str:
    field = Grant.object_field_for(type(obj))
    if field is None:
        raise ValidationError({"model": ["Grants are made on a registered model or a dataset."]})
    return field


def _subject_field(subject) -> str:
    if isinstance(subject, User):
        return "user"
    if isinstance(subject, Team):
        return "team"
    raise ValidationError({"user": ["Grant to a user or to a team."]})


def _validate(subject, subject_field: str, obj, field: str, level: str, reason: str) -> None:
    errors: dict[str, list[str]] = {}
    if obj.pk is None or not type(obj)._default_manager.filter(pk=obj.pk).exists():
        errors[field] = [f"The {_label(field)} does not exist."]
    if subject.pk is None or not type(subject)._default_manager.filter(pk=subject.pk).exists():
        errors[subject_field] = [f"The {subject_field} does not exist."]
    elif subject_field == "user" and not subject.is_active:
        errors["user"] = [f"{subject.username} is inactive; an inactive user cannot be granted access."]
    elif subject_field == "team" and field not in errors and obj.team_id == subject.pk:
        errors["team"] = [f"Team {subject.name} owns {obj.name}: its members need no grant."]
    if level not in GrantLevel.values:
        errors["level"] = [f"Must be one of {', '.join(GrantLevel.values)}."]
    if not (reason or "").strip():
        errors["reason"] = ["Say why the grant is needed; it is kept with the grant and in the audit log."]
    if errors:
        raise ValidationError(errors)


def _same_or_conflict(held: Grant, level: str) -> Grant:
    if held.level == level:
        return held
    raise GrantExists(
        f"{held.subject_label.capitalize()} already holds {held.level} on {held.object_label} "
        f"(grant {held.pk}); revoke it before granting {level}.",
        fields={"level": [f"A {held.level} grant is held; revoke grant {held.pk} first."]},
        details={"grant": held.pk, "level": held.level},
    )


def _label(field: str) -> str:
    return "registered model" if field == "model" else field
