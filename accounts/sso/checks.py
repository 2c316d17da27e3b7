"""``manage.py check --deploy``: a SAML provider is switched on but this server cannot verify SAML (no
xmlsec1). Standard library and Django only: pysaml2 is not loaded for the check."""

from __future__ import annotations

import shutil

from django.core import checks
from django.db import DatabaseError


@checks.register(checks.Tags.security, deploy=True)
def xmlsec1_for_saml(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if shutil.which("xmlsec1") is not None:
        return []
    from accounts.models import IdentityProvider

    try:
        names = list(
            IdentityProvider.objects.filter(
                protocol=IdentityProvider.Protocol.SAML, enabled=True
            ).values_list("name", flat=True)
        )
    except DatabaseError:  # not migrated yet: nothing is configured
        return []
    if not names:
        return []
    return [
        checks.Error(
            f"SAML identity provider(s) {', '.join(names)} are enabled, but the xmlsec1 program that signs and "
            "verifies SAML messages is not installed; every SAML sign-in would fail.",
            hint="Install it (Debian/Ubuntu: apt-get install xmlsec1; macOS: brew install libxmlsec1), or "
            "switch the providers off.",
            id="accounts.E101",
        )
    ]
