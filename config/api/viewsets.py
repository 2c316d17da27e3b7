"""The base viewset every API resource derives from, so that no list or detail can leak.

``get_queryset`` passes the resource's selector result through the scope function that
``settings.ATTEST_API_SCOPE`` names (``accounts.access.scope``) for the request's user: objects outside
the user's scope are simply absent, so detail views answer 404, not 403. The function is named by a
setting rather than imported because config, the project's wiring, sits below every app.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db.models import QuerySet
from django.utils.module_loading import import_string
from rest_framework import renderers, viewsets

from config.api.filters import API_FILTER_BACKENDS
from config.api.query import StrictQueryParameters


class ScopedViewSet(StrictQueryParameters, viewsets.GenericViewSet):
    """Subclasses set ``selector`` (a function of ``user=`` returning a queryset)."""

    selector: Callable[..., QuerySet]
    filter_backends = API_FILTER_BACKENDS

    def get_queryset(self) -> QuerySet:
        user = self.request.user
        scope = import_string(settings.ATTEST_API_SCOPE)
        return scope(user, type(self).selector(user=user))


class JsonErrors:
    """For views whose success is a file (CSV, JSON lines): refusals are still the JSON error body.

    Such views list their file renderer so that ``Accept: text/csv`` negotiates; without this an error
    would be sent with that media type although its body is the JSON error envelope.
    """

    def finalize_response(self, request, response, *args, **kwargs):
        if response.status_code >= 400 and getattr(response, "data", None) is not None:
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = request.accepted_renderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)
