"""Role groups: one Django group per role declared in ``accounts.roles``."""

from __future__ import annotations

from django.contrib.auth.models import Group

from accounts.roles import ROLE_NAMES


def ensure_role_groups(**_signal) -> None:
    """Give every role declared in ``accounts.roles`` its group.

    Connected to ``post_migrate`` (accounts.apps), so a role added to the declaration has its group after
    the next ``migrate`` without a migration of its own; migration 0002 keeps its frozen list of five.
    """
    existing = set(Group.objects.filter(name__in=ROLE_NAMES).values_list("name", flat=True))
    Group.objects.bulk_create([Group(name=name) for name in sorted(ROLE_NAMES - existing)])
