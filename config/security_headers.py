"""Content-Security-Policy and Permissions-Policy on every response.

Django's SecurityMiddleware already sends X-Content-Type-Options, Referrer-Policy, Cross-Origin-Opener-Policy
and (in production, over HTTPS) Strict-Transport-Security; XFrameOptionsMiddleware sends X-Frame-Options.
This adds what Django 5.2 has no setting for.

The pages load scripts and styles only from our own origin: htmx and our JavaScript are static files, and
the few inline scripts carry the per-request nonce (``{{ request.csp_nonce }}``). Style *attributes* stay
allowed (``style-src-attr``): a progress bar's width is drawn by the server, and an attribute cannot run
code. The API documentation pages (Swagger UI, Redoc) are third-party bundles that inject inline code and
styles and start workers from blobs, so they get a policy of their own, still same-origin only.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

APP_POLICY = (
    "default-src 'self'",
    "script-src 'self' 'nonce-{nonce}'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
API_DOCS_POLICY = (
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' blob:",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "worker-src 'self' blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
API_DOCS_PATHS = ("/api/docs/", "/api/redoc/")
# Features no page of Attest uses; a script injected despite the CSP still cannot turn them on.
PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), usb=()"
)


def content_security_policy(request: HttpRequest) -> str:
    if request.path.startswith(API_DOCS_PATHS):
        return "; ".join(API_DOCS_POLICY)
    return "; ".join(APP_POLICY).format(nonce=request.csp_nonce)


class SecurityHeadersMiddleware:
    """Gives each request a CSP nonce and each response the policy that uses it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.csp_nonce = secrets.token_urlsafe(18)
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = content_security_policy(request)
        if "Permissions-Policy" not in response:
            response["Permissions-Policy"] = PERMISSIONS_POLICY
        return response
