"""Pieces shared by the governance API modules."""

from __future__ import annotations

from django.http import Http404
from rest_framework import permissions

from governance import access
from registry import selectors as registry_selectors
from registry.models import ModelVersion


class MayDo(permissions.BasePermission):
    """Allows users whose roles may attempt ``action`` (``access.ACTION_ROLES``; set by ``MayDo.of(...)``)."""

    action: str = ""
    message = "Your role does not allow this."

    @classmethod
    def of(cls, action: str) -> type[MayDo]:
        if action not in access.ACTION_ROLES:
            raise ValueError(f"unknown action {action!r}")
        return type(f"MayDo_{action}", (cls,), {"action": action})

    def has_permission(self, request, view) -> bool:
        return access.may(request.user, self.action)


def visible_version(user, model_name: str, version: int) -> ModelVersion:
    """A version the user may see, or 404 naming nothing about what exists."""
    found = registry_selectors.version_by_reference(user=user, model_name=model_name, version=version)
    if found is None:
        raise Http404
    return found
