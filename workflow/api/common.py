"""Pieces shared by the governance API modules."""

from __future__ import annotations

from django.http import Http404

from registry.api.references import model_version_named
from registry.models import ModelVersion


def visible_version(user, model: str, version: int | None = None) -> ModelVersion:
    """The version ``model`` (a name with ``version``, or a reference: registry.references) names, if
    the user may see it; 404 naming nothing about what exists, 400 when the reference does not parse."""
    found = model_version_named(user, model, version)
    if found is None:
        raise Http404
    return found
