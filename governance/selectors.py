"""Governance reads that a user sees: always scoped by ``access`` first."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone

from governance import access
from governance.models import ApiToken, Team, User


def team_list(*, user) -> QuerySet[Team]:
    """Teams the user may see, with members prefetched (two queries whatever the page size)."""
    members = Prefetch("group__user_set", queryset=User.objects.order_by("username").only("id", "username"))
    return (
        access.visible_teams(user)
        .select_related("group")
        .prefetch_related(members)
        .annotate(member_count=Count("group__user", distinct=True))
        .order_by("name")
    )


def token_list(*, user) -> QuerySet[ApiToken]:
    """The user's own live tokens; nobody lists another person's tokens through the API."""
    if not access.is_active_user(user):
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=user, expiry__gt=timezone.now()).order_by("-created")
