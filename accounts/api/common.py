"""Pieces shared by the API modules of several apps: the role-based permission class."""

from __future__ import annotations

from rest_framework import permissions

from accounts import access


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
