"""Administering single sign-on: identity providers and their group mappings, each change audited in
its own transaction (``sso.provider_created``/``changed``/``deleted``, ``sso.mapping_changed``).

A provider's URLs are admin-typed targets of Attest's own requests (discovery, tokens, keys, metadata), so
they obey ``config.outbound``'s address policy when saved: no loopback, private or link-local address
unless ``ATTEST_OUTBOUND_ALLOW_HOSTS`` lets it through, and https unless the host is allow-listed. The
client secret is never written to the audit log, only that it changed.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import GroupMapping, IdentityProvider, User
from audit import record
from config import outbound
from config.api.errors import ServiceError

SETTINGS = (
    "name",
    "title",
    "protocol",
    "enabled",
    "issuer",
    "client_id",
    "scopes",
    "metadata_url",
    "groups_claim",
    "step_up_acr",
    "step_up_max_age_seconds",
)
WRITE_ONLY = "client_secret"
OUTBOUND_URLS = ("issuer", "metadata_url")


class ProviderInUse(ServiceError):
    status_code = 409
    code = "provider_in_use"


def url_problem(url: str) -> str:
    """Why Attest may not send requests to ``url``, or "" when it may."""
    if not url:
        return ""
    try:
        outbound.check_url(url)
    except outbound.InvalidUrl as exc:
        return f"Give {exc}."
    except outbound.Refused:
        return (
            "This address is private or local; Attest sends no requests there unless the operator "
            "allows the host (ATTEST_OUTBOUND_ALLOW_HOSTS)."
        )
    parts = urlsplit(url)
    if parts.scheme != "https" and not _allow_listed(parts.hostname or ""):
        return "Use https: the client secret and the tokens travel over this connection."
    return ""


def _allow_listed(host: str) -> bool:
    allow = outbound.configured_allow_list()
    try:
        return allow.allows_address(ipaddress.ip_address(host))
    except ValueError:
        return allow.allows_host(host)


def validate(provider: IdentityProvider) -> None:
    """The settings a provider of its protocol needs, and its URLs under the outbound policy."""
    errors: dict[str, list[str]] = {}
    for field in OUTBOUND_URLS:
        problem = url_problem(getattr(provider, field))
        if problem:
            errors[field] = [problem]
    if provider.protocol == IdentityProvider.Protocol.OIDC:
        for field in ("issuer", "client_id"):
            if not getattr(provider, field):
                errors.setdefault(field, []).append("Required for OpenID Connect.")
    elif not (provider.metadata_url or provider.metadata_xml):
        errors["metadata_xml"] = ["Paste the IdP's SAML metadata or give the URL it is published at."]
    if errors:
        raise ValidationError(errors)


def _facts(provider: IdentityProvider) -> dict:
    return {field: getattr(provider, field) for field in SETTINGS} | {
        "client_secret_set": bool(provider.client_secret)
    }


def provider_create(*, actor: User, **values) -> IdentityProvider:
    provider = IdentityProvider(**values)
    validate(provider)
    provider.full_clean()
    with transaction.atomic():
        provider.save()
        record(action="sso.provider_created", actor=actor, obj=provider, after=_facts(provider))
    return provider


def provider_update(*, actor: User, provider: IdentityProvider, **changes) -> IdentityProvider:
    """Change settings; a blank ``client_secret`` keeps the stored one. ``name`` and ``protocol`` are
    fixed (they are in the provider's URLs and in the method signatures record)."""
    changes.pop("name", None), changes.pop("protocol", None)
    if not changes.get(WRITE_ONLY):
        changes.pop(WRITE_ONLY, None)
    before = _facts(provider)
    for field, value in changes.items():
        setattr(provider, field, value)
    validate(provider)
    provider.full_clean()
    after = _facts(provider)
    changed = sorted(field for field in after if after[field] != before[field])
    if WRITE_ONLY in changes:
        changed.append("client_secret")
    with transaction.atomic():
        provider.save()
        record(
            action="sso.provider_changed",
            actor=actor,
            obj=provider,
            before={field: before[field] for field in changed if field in before},
            after={field: after[field] for field in changed if field in after} | {"changed": changed},
        )
    return provider


def provider_delete(*, actor: User, provider: IdentityProvider) -> None:
    if provider.identities.exists():
        raise ProviderInUse(
            f"People have signed in through {provider}; switch it off (untick Enabled) instead of "
            "deleting it."
        )
    facts = _facts(provider)
    with transaction.atomic():
        record(action="sso.provider_deleted", actor=actor, obj=provider, before=facts)
        provider.delete()


def _mapping_facts(mapping: GroupMapping) -> dict:
    return {
        "provider": mapping.provider.name,
        "group": mapping.group,
        "role": mapping.role,
        "team": mapping.team.name if mapping.team_id else None,
    }


def mapping_save(*, actor: User, mapping: GroupMapping) -> GroupMapping:
    """Add or change a group mapping (it takes effect at each person's next sign-in)."""
    before = _mapping_facts(GroupMapping.objects.get(pk=mapping.pk)) if mapping.pk else None
    mapping.full_clean()
    with transaction.atomic():
        mapping.save()
        record(
            action="sso.mapping_changed",
            actor=actor,
            obj=mapping.provider,
            before=before,
            after=_mapping_facts(mapping) | {"verb": "changed" if before else "added"},
        )
    return mapping


def mapping_delete(*, actor: User, mapping: GroupMapping) -> None:
    with transaction.atomic():
        record(
            action="sso.mapping_changed",
            actor=actor,
            obj=mapping.provider,
            before=_mapping_facts(mapping),
            after={"verb": "removed"},
        )
        mapping.delete()
