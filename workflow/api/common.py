"""Pieces shared by the governance API modules."""

from __future__ import annotations

from django.http import Http404

from registry import selectors as registry_selectors
from registry.models import ModelVersion


def visible_version(user, model_name: str, version: int) -> ModelVersion:
    """A version the user may see, or 404 naming nothing about what exists."""
    found = registry_selectors.version_by_reference(user=user, model_name=model_name, version=version)
    if found is None:
        raise Http404
    return found
