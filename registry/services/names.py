"""Unique names that do not disclose other teams' records.

Model and dataset names (and their OpenLineage identities) are unique across the whole inventory, so a
clash may be with a record the actor cannot see. Django's own message ("Registered model with this Name
already exists.") would then confirm that another team has a model of that name; instead the actor is
told only that the name is not available, the same answer whatever the reason. A clash with a record the
actor can see keeps Django's message, which helps them find it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models

from accounts import access

NOT_AVAILABLE = "This name is not available; choose another."
UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE for a unique constraint
UNIQUE_CODES = {"unique", "unique_together"}  # the codes of Django's validate_unique/validate_constraints


def full_clean(actor, obj: models.Model, field_sets: Sequence[Sequence[str]], *, exclude: list[str]) -> None:
    """``obj.full_clean(exclude=exclude)``, its uniqueness errors reworded for what ``actor`` may see.

    Each clash is reported on the last field of its set (``lineage_job`` rather than the pair).
    """
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        raise _undisclosed(actor, obj, field_sets, exc) from None


def _undisclosed(actor, obj: models.Model, field_sets, exc: ValidationError) -> ValidationError:
    errors = {
        field: kept
        for field, field_errors in exc.error_dict.items()
        if (kept := [error for error in field_errors if error.code not in UNIQUE_CODES])
    }
    for fields in field_sets:
        clash = _clash(obj, fields)
        if clash is not None:
            errors.setdefault(fields[-1], []).append(
                ValidationError(_clash_message(actor, obj, fields, clash))
            )
    return ValidationError(errors)


def _clash(obj: models.Model, fields: Sequence[str]) -> models.Model | None:
    candidates = type(obj)._default_manager.filter(**{field: getattr(obj, field) for field in fields})
    if obj.pk is not None:
        candidates = candidates.exclude(pk=obj.pk)
    return candidates.first()


def _clash_message(actor, obj: models.Model, fields: Sequence[str], clash: models.Model) -> str:
    if access.can(actor, "view", clash):
        return obj.unique_error_message(type(obj), tuple(fields)).messages[0]
    return NOT_AVAILABLE


@contextmanager
def taken_concurrently_is_not_available(field: str) -> Iterator[None]:
    """A record of the same name committed between the check and the insert: 400, never a 500."""
    try:
        yield
    except IntegrityError as exc:
        if getattr(exc.__cause__, "pgcode", None) != UNIQUE_VIOLATION:
            raise
        raise ValidationError({field: [NOT_AVAILABLE]}) from None
