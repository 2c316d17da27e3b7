"""The base viewset every API resource derives from, so that no list or detail can leak.

``get_queryset`` passes the resource's selector result through ``access.scope`` for the request's
user: objects outside the user's scope are simply absent, so detail views answer 404, not 403.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import QuerySet
from rest_framework import viewsets

from governance import access


class ScopedViewSet(viewsets.GenericViewSet):
    """Subclasses set ``selector`` (a function of ``user=`` returning a queryset)."""

    selector: Callable[..., QuerySet]

    def get_queryset(self) -> QuerySet:
        user = self.request.user
        return access.scope(user, type(self).selector(user=user))
