"""Issue 13, finding 8: every response carries a Content-Security-Policy and the other security headers;
the pages keep working under it (tests/ui and the browser journeys run with it too)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client, override_settings

from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
SCRIPT_TAG = re.compile(r"<script(?P<attrs>[^>]*)>", re.IGNORECASE)


def csp_directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("path", ["/login/", "/api/v1/teams/", "/healthz", "/no-such-page/"])
def test_every_response_has_the_security_headers(client, path):
    response = client.get(path)

    directives = csp_directives(response)
    assert directives["default-src"] == "default-src 'self'"
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    assert directives["object-src"] == "object-src 'none'"
    assert "'unsafe-inline'" not in directives["script-src"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "camera=()" in response["Permissions-Policy"]


def test_each_page_gets_its_own_nonce_and_its_inline_scripts_carry_it(client, maya):
    client.force_login(maya)
    first, second = client.get("/"), client.get("/")

    nonce = re.search(r"'nonce-([^']+)'", first["Content-Security-Policy"]).group(1)
    assert nonce not in second["Content-Security-Policy"]
    for match in SCRIPT_TAG.finditer(first.content.decode()):
        attrs = match.group("attrs")
        assert "src=" in attrs or f'nonce="{nonce}"' in attrs or "application/json" in attrs, attrs


def test_no_template_has_an_inline_event_handler_or_an_unnonced_inline_script():
    offenders = []
    for template in (ROOT / "templates").rglob("*.html"):
        if "reports/pdf" in template.as_posix():  # rendered to PDF by WeasyPrint, never by a browser
            continue
        text = Path(template).read_text()
        if INLINE_HANDLER.search(text):
            offenders.append(f"{template}: inline event handler")
        for match in SCRIPT_TAG.finditer(text):
            attrs = match.group("attrs")
            if "src=" not in attrs and "csp_nonce" not in attrs:
                offenders.append(f"{template}: <script{attrs}> without a nonce")
    assert offenders == []


def test_the_api_documentation_gets_its_own_same_origin_policy(client):
    directives = csp_directives(client.get("/api/docs/"))
    assert directives["default-src"] == "default-src 'self'"
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"


@override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_SSL_REDIRECT=False)
def test_strict_transport_security_is_sent_over_https():
    response = Client().get("/login/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
