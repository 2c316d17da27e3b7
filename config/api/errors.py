"""One error body for every API failure: ``{"error": {"code", "message", "fields"}}``.

``code`` is stable and machine-readable, ``message`` is for people, ``fields`` maps each field at fault to
its messages (empty when the request as a whole is at fault).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than this endpoint accepts."
    default_code = "payload_too_large"


class ServiceError(Exception):
    """A refusal raised by a service with its HTTP meaning; the API and the UI both show ``message``.

    Subclasses set ``status_code`` and ``code``; ``fields`` names the inputs at fault, ``details`` carries
    structured context (e.g. the list of what is missing) and is returned beside the message.
    """

    status_code = 400
    code = "invalid"

    def __init__(
        self, message: str, *, fields: dict[str, list[str]] | None = None, details: dict | None = None
    ):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.details = details or {}


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is unavailable; nothing was written. Try again in a moment."
    default_code = "service_unavailable"


# Raised when PostgreSQL cannot be reached or drops the connection: an outage, not a bug, so a 503
# the client may retry rather than a 500 (statement errors are ProgrammingError/DataError, not these).
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER_SECONDS = 5


_CODES_BY_STATUS = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "throttled",
    503: "service_unavailable",
}


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The error envelope shared by the API, the 404/500 handlers and middleware."""
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested ValidationError detail into ``{"field.sub": [messages]}``."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = key if not prefix else f"{prefix}.{key}"
            if key == "non_field_errors":
                name = prefix or "non_field_errors"
            for sub_key, messages in _flatten(value, name).items():
                flat.setdefault(sub_key, []).extend(messages)
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            for sub_key, messages in _flatten(item, f"{prefix}[{index}]").items():
                flat.setdefault(sub_key, []).extend(messages)
        return flat
    return {prefix or "non_field_errors": [str(detail)]}


def _validation_message(fields: dict[str, list[str]]) -> str:
    if list(fields) == ["non_field_errors"]:
        return fields["non_field_errors"][0]
    first_field = next(iter(fields), None)
    if first_field is None:
        return "The request is invalid."
    return f"Invalid value for '{first_field}': {fields[first_field][0]}"


def _convert_django_exceptions(exc: Exception) -> Exception:
    if isinstance(exc, DATABASE_UNAVAILABLE_ERRORS):
        return DatabaseUnavailable()
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return exceptions.ValidationError(detail)
    if isinstance(exc, SuspiciousOperation):
        return exceptions.ParseError(str(exc) or "The request is malformed.")
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied()
    return exc


def _service_error_response(exc: ServiceError) -> Response:
    body = error_body(exc.code, exc.message, exc.fields)
    if exc.details:
        body["error"]["details"] = exc.details
    return Response(body, status=exc.status_code)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF exception handler producing the shared error body; unknown exceptions still become 500s."""
    if isinstance(exc, ServiceError):
        return _service_error_response(exc)
    exc = _convert_django_exceptions(exc)
    # Imported here: rest_framework.views reads the API settings on import, which import our parsers,
    # which import this module; services raise these errors long before any view exists.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, DatabaseUnavailable):
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    code = _CODES_BY_STATUS.get(response.status_code, "error")
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        response.data = error_body("invalid", _validation_message(fields), fields)
        return response
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        if isinstance(codes, str) and codes not in {"error", "invalid"}:
            code = codes
        detail = exc.detail
        message = str(detail) if not isinstance(detail, dict | list) else code.replace("_", " ").capitalize()
        fields = _flatten(detail) if isinstance(detail, dict) else {}
        response.data = error_body(code, message, fields)
    return response


def json_error_response(status_code: int, message: str, code: str | None = None) -> JsonResponse:
    """A plain Django response carrying the error body, for failures outside DRF views."""
    body = error_body(code or _CODES_BY_STATUS.get(status_code, "error"), message)
    return JsonResponse(body, status=status_code)
