"""Saved inventory filters: each person's own, created and deleted only by them, every change audited."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accounts import access
from accounts.models import User
from audit import record
from registry.models import SavedFilter

# The inventory list's query parameters a saved filter keeps (its filters and its order, not its page).
INVENTORY_PARAMETERS = ("q", "team", "owner", "tier", "status", "tag", "review_overdue", "sort")
MAX_PER_USER = 50
MAX_QUERY_LENGTH = 1000


def clean_query(query: str) -> str:
    """``query`` reduced to the inventory's own, non-blank parameters, in a fixed order."""
    pairs = [(key, value) for key, value in parse_qsl(query.lstrip("?")) if value.strip()]
    kept = [(key, value) for name in INVENTORY_PARAMETERS for key, value in pairs if key == name]
    return urlencode(kept)


def saved_filter_create(*, actor: User, name: str, query: str) -> SavedFilter:
    """Save the inventory ``query`` under ``name`` for ``actor`` (names are unique per person)."""
    if not access.roles_of(actor):
        raise PermissionDenied("Only people with a role have an inventory to filter.")
    name = " ".join(name.split())
    cleaned = clean_query(query)
    if not name:
        raise ValidationError({"name": ["Give the filter a name."]})
    if len(name) > 100:
        raise ValidationError({"name": ["At most 100 characters."]})
    if not cleaned:
        raise ValidationError({"query": ["Choose at least one filter before saving it."]})
    if len(cleaned) > MAX_QUERY_LENGTH:
        raise ValidationError({"query": [f"At most {MAX_QUERY_LENGTH} characters of filters."]})
    with transaction.atomic():
        if SavedFilter.objects.select_for_update().filter(owner=actor).count() >= MAX_PER_USER:
            raise ValidationError({"name": [f"You have {MAX_PER_USER} saved filters: delete one first."]})
        try:
            with transaction.atomic():
                saved = SavedFilter.objects.create(owner=actor, name=name, query=cleaned)
        except IntegrityError:
            raise ValidationError({"name": [f"You already have a filter named {name!r}."]}) from None
        record(action="saved_filter.created", actor=actor, obj=saved, after={"name": name, "query": cleaned})
    return saved


def saved_filter_delete(*, actor: User, saved_filter: SavedFilter) -> None:
    """Delete one of ``actor``'s own saved filters."""
    if saved_filter.owner_id != actor.pk:
        raise PermissionDenied("Only its owner may delete a saved filter.")
    with transaction.atomic():
        before = {"name": saved_filter.name, "query": saved_filter.query}
        record(action="saved_filter.deleted", actor=actor, obj=saved_filter, before=before)
        saved_filter.delete()
