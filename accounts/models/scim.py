"""SCIM 2.0 provisioning: the identity providers' provisioning clients, which accounts each one manages
(with the identifiers it gave them) and the groups it pushes, whose names feed the SSO group mappings."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models.federation import IdentityProvider


class ScimClient(models.Model):
    """An identity provider's provisioning connector (Entra ID, Okta), authenticated by a bearer token of
    its own: never a person's API token. Only the token's SHA-256 is kept; it is shown once at creation.
    ``provider`` is the IdP whose group mappings the client's groups feed (none: groups grant nothing)."""

    name = models.SlugField(max_length=64, unique=True)
    token_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    provider = models.ForeignKey(
        IdentityProvider, on_delete=models.SET_NULL, null=True, blank=True, related_name="scim_clients"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ScimIdentity(models.Model):
    """An account a SCIM client manages: created by it, or an account without a password it adopted. The
    client's ``externalId`` and the e-mail addresses as it sent them (type, primary) are kept here; the
    account's own ``email`` is the primary one."""

    scim_client = models.ForeignKey(ScimClient, on_delete=models.CASCADE, related_name="identities")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="scim_identities"
    )
    external_id = models.CharField(max_length=255, blank=True)
    emails = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scim_client", "user"], name="scim_identity_once")]
        indexes = [models.Index(fields=["scim_client", "external_id"], name="scim_identity_external")]

    def __str__(self) -> str:
        return f"{self.user} ({self.scim_client})"


class ScimGroup(models.Model):
    """A group a SCIM client pushes. Its ``display_name`` (or ``external_id``) is matched against the group
    mappings of the client's identity provider, exactly as the groups of an SSO sign-in are."""

    scim_client = models.ForeignKey(ScimClient, on_delete=models.CASCADE, related_name="groups")
    display_name = models.CharField(max_length=255)
    external_id = models.CharField(max_length=255, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="scim_groups", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["scim_client", "display_name"], name="scim_group_name_once")
        ]

    def __str__(self) -> str:
        return self.display_name
