"""OpenAPI generation tweaks: unique names for nested Input/Output serializers, our auth schemes, and
the error responses every operation can give, each with the error body of config/api/errors.py."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from config.api import inputs

_OUTER_SUFFIXES = ("ViewSet", "View", "Api")

# Raw parameter schemas for hand-declared query parameters (OpenApiParameter(type=...)), matching
# DRF's SlugField and IntegerField(min_value=1) as the views validate them.
SLUG = {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$", "maxLength": 100}
POSITIVE_INTEGER = {"type": "integer", "minimum": 1}
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

ERROR_DESCRIPTIONS = {
    400: "Invalid input; `fields` names each field at fault.",
    401: "Not authenticated, or the credentials are wrong (a `WWW-Authenticate: Bearer` challenge).",
    403: "Authenticated, but the role, team or segregation rules do not allow this.",
    404: "No such resource, or one the caller may not see (the two are not told apart).",
    409: "The resource's current state does not allow this (the `code` says which rule).",
    413: "The request body is larger than this endpoint accepts.",
    415: "The request body's media type is not one this endpoint accepts.",
    429: "Too many requests; retry after the number of seconds in `Retry-After`.",
    503: "The database is unreachable; nothing was written. Retry after `Retry-After` seconds.",
}


class ErrorDetail(serializers.Serializer):
    """The ``error`` member of config.api.errors.error_body."""

    code = serializers.CharField(help_text="Stable, machine-readable, e.g. `invalid`, `not_found`.")
    message = serializers.CharField(help_text="For people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Each field at fault (dotted for nested ones) with its messages; empty when the "
        "request as a whole is at fault.",
    )
    details = serializers.DictField(
        required=False, help_text="Structured context some refusals add (e.g. what is missing)."
    )


class Error(serializers.Serializer):
    """Every API failure: ``{"error": {"code", "message", "fields"}}`` (config.api.errors.error_body)."""

    error = ErrorDetail()


@extend_schema_field({"type": "array", "items": {}})
class JSONArrayField(serializers.JSONField):
    """A JSON input that must be an array (its items are the service's to check)."""

    def to_internal_value(self, data):
        if not isinstance(data, list):
            raise serializers.ValidationError("Expected a JSON array.")
        return super().to_internal_value(data)


@extend_schema_field({"type": "object", "additionalProperties": {}})
class JSONObjectField(serializers.JSONField):
    """A JSON input that must be an object (its members are the service's to check)."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("Expected a JSON object.")
        return super().to_internal_value(data)


def error_statuses_for(
    *, method: str, has_parameters: bool, has_body: bool, authenticated: bool, can_miss: bool
) -> set[int]:
    """The error statuses an operation can answer, by what it takes and does.

    Every operation can be throttled (429) and meet an unreachable database (503); one that needs a
    user can be refused as anonymous (401) or for the role (403); one with a request body can be too
    large (413) or of the wrong media type (415); one that changes state can conflict with it (409).
    """
    statuses = {429, 503}
    if authenticated:
        statuses |= {401, 403}
    if has_parameters or has_body:
        statuses.add(400)
    if can_miss:
        statuses.add(404)
    if has_body:
        statuses |= {413, 415}
    if method in _UNSAFE_METHODS and authenticated:
        statuses.add(409)
    return statuses


class AutoSchema(SpectacularAutoSchema):
    """Names a nested serializer after its outer class (``TeamViewSet.Output`` → ``TeamOutput``).

    Views declare their serializers as nested ``Input``/``Output`` classes (HackSoft styleguide);
    without this every one of them would be a component called "Output".
    """

    def map_parsers(self):
        """JSON only, unless the view chose its parsers (the upload endpoints take multipart).

        The default parsers also read forms, for the browsable API; documenting them would invite form
        bodies that cannot carry the JSON-typed fields most inputs have.
        """
        if list(self.view.parser_classes) == list(api_settings.DEFAULT_PARSER_CLASSES):
            return ["application/json"]
        return super().map_parsers()

    def _get_request_body(self, direction="request"):
        """Also documents the body of a DELETE whose view declares one (a reason, a password)."""
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        if _class_of(self.get_request_serializer()) is _class_of(self._view_serializer_class()):
            return None  # only the view's serializer for reading, not a declared request body
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"

    def _get_filter_parameters(self):
        """Marks a filter's old name (config.api.filters.deprecated_alias) as deprecated."""
        parameters = super()._get_filter_parameters()
        filterset_class = getattr(self.view, "filterset_class", None)
        if filterset_class is None:
            return parameters
        deprecated = {
            name for name, f in filterset_class.base_filters.items() if getattr(f, "deprecated", False)
        }
        for parameter in parameters:
            if parameter["name"] in deprecated:
                parameter["deprecated"] = True
        return parameters

    def _view_serializer_class(self) -> type | None:
        return getattr(self.view, "serializer_class", None)

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is not None:
            self._add_error_responses(operation)
        return operation

    def _add_error_responses(self, operation: dict) -> None:
        """Documents each error status the operation can answer, unless the view declared it itself."""
        view_statuses = getattr(self.view, "error_statuses", None)
        statuses = error_statuses_for(
            method=self.method,
            has_parameters=bool(operation.get("parameters")),
            has_body="requestBody" in operation,
            authenticated=bool(operation.get("security")),
            # a lookup in the path, a page number past the end of a list, or a body naming a record
            can_miss="{" in self.path
            or (self.method == "GET" and self._is_list_view())
            or (self.method in _UNSAFE_METHODS and "requestBody" in operation),
        )
        if view_statuses is not None:
            statuses |= set(view_statuses)
        error_ref = self.resolve_serializer(Error, "response").ref
        responses = operation["responses"]
        # an error status a view declared without a body still answers with the error body
        statuses |= {
            int(code) for code, response in responses.items() if code >= "400" and "content" not in response
        }
        for status_code in sorted(statuses):
            response = responses.setdefault(str(status_code), {})
            response.setdefault("description", ERROR_DESCRIPTIONS.get(status_code, ""))
            if not response["description"] or response["description"] == "No response body":
                response["description"] = ERROR_DESCRIPTIONS.get(status_code, "Refused.")
            response.setdefault("content", {"application/json": {"schema": error_ref}})

    def _map_basic_serializer(self, serializer, direction):
        """A request body read by config.api.inputs.Input is closed: its unknown members are a 400."""
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(force_instance(serializer), inputs.Input):
            schema["additionalProperties"] = False
        return schema

    def get_serializer_name(self, serializer, direction: str) -> str:
        qualname = type(serializer).__qualname__
        if "." not in qualname:
            return super().get_serializer_name(serializer, direction)
        *outer, inner = qualname.split(".")
        prefix = "".join(_strip_suffix(part) for part in outer)
        return f"{prefix}{inner}"


def _class_of(serializer) -> type | None:
    return serializer if serializer is None or isinstance(serializer, type) else type(serializer)


def _strip_suffix(name: str) -> str:
    for suffix in _OUTER_SUFFIXES:
        if name.endswith(suffix) and name != suffix:
            return name[: -len(suffix)]
    return name


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An Attest API token (`attest_…`) from POST /api/v1/auth/token/ or the Tokens page.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.SessionAuthentication"
    name = "sessionAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
