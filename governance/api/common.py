"""Pieces shared by the governance API modules."""

from __future__ import annotations

from django.http import Http404
from rest_framework import permissions

from governance import access
from registry import selectors as registry_selectors
from registry.models import ModelVersion


class HasRole(permissions.BasePermission):
    """Allows users holding one of ``roles`` (set by ``HasRole.of(...)``)."""

    roles: frozenset[str] = frozenset()
    message = "Your role does not allow this."

    @classmethod
    def of(cls, *roles: str) -> type[HasRole]:
        return type(f"HasRole_{'_'.join(sorted(roles))}", (cls,), {"roles": frozenset(roles)})

    def has_permission(self, request, view) -> bool:
        return bool(access.roles_of(request.user) & self.roles)


def visible_version(user, model_name: str, version: int) -> ModelVersion:
    """A version the user may see, or 404 naming nothing about what exists."""
    found = registry_selectors.version_by_reference(user=user, model_name=model_name, version=version)
    if found is None:
        raise Http404
    return found
