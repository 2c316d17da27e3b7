"""OpenAPI generation tweaks: unique names for nested Input/Output serializers, and our auth schemes."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

_OUTER_SUFFIXES = ("ViewSet", "View", "Api")


class AutoSchema(SpectacularAutoSchema):
    """Names a nested serializer after its outer class (``TeamViewSet.Output`` → ``TeamOutput``).

    Views declare their serializers as nested ``Input``/``Output`` classes (HackSoft styleguide);
    without this every one of them would be a component called "Output".
    """

    def get_serializer_name(self, serializer, direction: str) -> str:
        qualname = type(serializer).__qualname__
        if "." not in qualname:
            return super().get_serializer_name(serializer, direction)
        *outer, inner = qualname.split(".")
        prefix = "".join(_strip_suffix(part) for part in outer)
        return f"{prefix}{inner}"


def _strip_suffix(name: str) -> str:
    for suffix in _OUTER_SUFFIXES:
        if name.endswith(suffix) and name != suffix:
            return name[: -len(suffix)]
    return name


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "governance.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An Attest API token (`attest_…`) from POST /api/v1/auth/token/ or the Tokens page.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "governance.authentication.SessionAuthentication"
    name = "sessionAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
