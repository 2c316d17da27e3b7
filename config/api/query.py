"""Unknown query parameters are a 400 naming each one, on every API operation.

A misspelt or unsupported filter used to be ignored, so ``?model__name=x`` on a list that filters by
``model`` returned everything with a 200. What an operation accepts is what the OpenAPI schema documents
for it (filterset fields, ordering, search, page, page_size and each ``OpenApiParameter`` a view
declares): the allowed names are read from the generated schema, once per process, so the contract and
the check cannot drift apart.
"""

from __future__ import annotations

import functools

from drf_spectacular.generators import SchemaGenerator
from rest_framework.exceptions import ValidationError

_OperationKey = tuple[type, str, str | None]


class StrictQueryParameters:
    """Mixed into every API view (before the DRF base class): after authentication and permissions, so a
    caller who may not use the operation learns nothing about its parameters."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        refuse_unknown_query_parameters(self, request)


def refuse_unknown_query_parameters(view, request) -> None:
    allowed = documented_query_parameters().get(
        _key(type(view), request.method, getattr(view, "action", None))
    )
    if allowed is None:
        return  # an operation the schema leaves out (none under /api/v1/ does: tests/hardening checks)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        accepted = ", ".join(sorted(allowed)) or "none"
        raise ValidationError(
            {name: [f"Unknown query parameter. This operation accepts: {accepted}."] for name in unknown}
        )


@functools.cache
def documented_query_parameters() -> dict[_OperationKey, frozenset[str]]:
    """For each (view class, method, action) in the schema, the query parameters it documents."""
    generator = _RecordingGenerator()
    paths = generator.get_schema(request=None, public=True)["paths"]
    allowed: dict[_OperationKey, frozenset[str]] = {}
    for path, method, view in generator.views:
        operation = paths.get(path, {}).get(method.lower())
        if operation is None:
            continue
        names = frozenset(p["name"] for p in operation.get("parameters", []) if p.get("in") == "query")
        key = _key(type(view), method, getattr(view, "action", None))
        allowed[key] = allowed.get(key, frozenset()) | names
    return allowed


def _key(view_class: type, method: str, action: str | None) -> _OperationKey:
    return (view_class, method.upper(), action)


class _RecordingGenerator(SchemaGenerator):
    """Remembers the view instance behind each (path, method) it documents."""

    views: list[tuple[str, str, object]]

    def _get_paths_and_endpoints(self):
        endpoints = super()._get_paths_and_endpoints()
        self.views = [(path, method, view) for path, _, method, view in endpoints]
        return endpoints
