"""Single sign-on: the identity providers people sign in through, how their groups map to roles and teams,
which account each provider's subject is, and the one-time re-authentications that sign approvals."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models.accounts import Team
from accounts.roles import Role


class IdentityProvider(models.Model):
    """An OpenID Connect or SAML 2.0 identity provider, configured by an administrator.

    ``name`` is fixed once created: it is in the provider's URLs (``/sso/<name>/…``) and in the method
    recorded on signatures (``oidc:<name>``, ``saml:<name>``).
    """

    class Protocol(models.TextChoices):
        OIDC = "oidc", "OpenID Connect"
        SAML = "saml", "SAML 2.0"

    name = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=200, help_text="What the sign-in button says, e.g. 'Contoso SSO'.")
    protocol = models.CharField(max_length=8, choices=Protocol.choices)
    enabled = models.BooleanField(default=True)
    # OpenID Connect: discovery at ``issuer`` + /.well-known/openid-configuration
    issuer = models.URLField(max_length=500, blank=True)
    client_id = models.CharField(max_length=255, blank=True)
    client_secret = models.CharField(max_length=500, blank=True)
    scopes = models.CharField(max_length=300, default="openid email profile", blank=True)
    # SAML: the IdP's metadata (XML pasted, or fetched from a URL the administrator gives)
    metadata_url = models.URLField(max_length=500, blank=True)
    metadata_xml = models.TextField(blank=True)
    # Both: where the groups are (an ID token / userinfo claim, or a SAML attribute)
    groups_claim = models.CharField(max_length=200, default="groups")
    # Signing through the IdP: the authentication-context values a re-authentication for a signature must
    # carry (acr for OIDC, AuthnContextClassRef for SAML; blank: any), and how old the IdP's
    # authentication may be when Attest receives it.
    step_up_acr = models.CharField(max_length=300, blank=True)
    step_up_max_age_seconds = models.PositiveIntegerField(default=120)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.title or self.name

    @property
    def method_prefix(self) -> str:
        """The method recorded on a signature re-authenticated here, e.g. ``oidc:corp``."""
        return f"{self.protocol}:{self.name}"

    def required_acr_values(self) -> list[str]:
        return [value for value in self.step_up_acr.split() if value]


class GroupMapping(models.Model):
    """One IdP group grants a role, a team membership, or both. Re-evaluated at every sign-in: the IdP is
    the source of truth for the roles and for the teams that any of its mappings name."""

    provider = models.ForeignKey(IdentityProvider, on_delete=models.CASCADE, related_name="mappings")
    group = models.CharField(max_length=255, help_text="The group's name or id as the IdP sends it.")
    role = models.CharField(max_length=32, choices=[(role.value, role.value) for role in Role], blank=True)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, blank=True)

    class Meta:
        ordering = ["provider", "group"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role="") | models.Q(team__isnull=False),
                name="group_mapping_grants_something",
            ),
            models.UniqueConstraint(fields=["provider", "group", "role", "team"], name="group_mapping_once"),
        ]

    def __str__(self) -> str:
        grants = " and ".join(part for part in (self.role, self.team and f"team {self.team}") if part)
        return f"{self.provider.name}: {self.group} → {grants}"


class FederatedIdentity(models.Model):
    """This provider's subject (OIDC ``sub``, SAML NameID) is this account. Never re-pointed: a new subject
    with a taken username is refused rather than merged (an IdP must not take over a local account)."""

    provider = models.ForeignKey(IdentityProvider, on_delete=models.PROTECT, related_name="identities")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="identities")
    subject = models.CharField(max_length=255)
    groups = models.JSONField(default=list, help_text="The groups the IdP sent at the last sign-in.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["provider", "subject"]
        verbose_name_plural = "federated identities"
        constraints = [
            models.UniqueConstraint(fields=["provider", "subject"], name="federated_identity_once"),
        ]

    def __str__(self) -> str:
        return f"{self.provider.name}:{self.subject} → {self.user_id}"


class StepUp(models.Model):
    """A re-authentication at the IdP asked for one signature (21 CFR 11.200 through the IdP).

    Begun for ``purpose`` (``approval:<id>``, ``review:<id>``) with a random ``state`` kept only as its
    SHA-256; completed when the IdP answers with a fresh authentication of the same subject; consumed by
    exactly one signature of the same person for the same purpose.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="step_ups")
    provider = models.ForeignKey(IdentityProvider, on_delete=models.CASCADE, related_name="step_ups")
    purpose = models.CharField(max_length=100)
    state_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    idp_authenticated_at = models.DateTimeField(null=True, blank=True)
    authn_context = models.JSONField(default=dict, blank=True, help_text="acr/amr, or SAML's AuthnContext.")
    consumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"step-up {self.pk} of {self.user_id} for {self.purpose}"
