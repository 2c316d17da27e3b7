"""Single sign-on, independent of the protocol: who an IdP's assertion is, what it grants, and the
re-authentication at the IdP that signs an approval or a review.

The OIDC and SAML views turn a verified response into a :class:`SignInAssertion` and call
:func:`federated_sign_in` or :func:`step_up_complete`; everything that decides (accounts, roles, teams,
freshness) is here, once, for both protocols.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.errors import ReauthenticationFailed
from accounts.models import FederatedIdentity, GroupMapping, IdentityProvider, StepUp, Team, User
from accounts.roles import ROLE_NAMES
from accounts.services import accounts
from audit import record
from config.api.errors import ServiceError

STEP_UP_SECONDS = 10 * 60  # from the start of a re-authentication to its use in a signature
USERNAME_MAX = 150


class SignInRefused(ServiceError):
    """The IdP vouched for someone Attest does not let in (no role mapped, account closed, name taken)."""

    status_code = 403
    code = "sso_sign_in_refused"


@dataclass(frozen=True)
class SignInAssertion:
    """What a verified OIDC ID token (and userinfo) or SAML assertion says about the person."""

    provider: IdentityProvider
    subject: str
    username: str
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    groups: tuple[str, ...] = ()
    authenticated_at: datetime | None = None  # the IdP's auth_time / AuthnInstant
    authn_context: dict = field(default_factory=dict)  # acr and amr, or SAML's AuthnContextClassRef


@dataclass(frozen=True)
class MappedAccess:
    roles: frozenset[str]
    teams: frozenset[int]  # the teams the person's groups grant
    governed_teams: frozenset[int]  # every team any mapping of the provider names


def mapped_access(provider: IdentityProvider, groups: Iterable[str]) -> MappedAccess:
    mappings = list(GroupMapping.objects.filter(provider=provider))
    held = set(groups)
    granted = [mapping for mapping in mappings if mapping.group in held]
    return MappedAccess(
        roles=frozenset(mapping.role for mapping in granted if mapping.role),
        teams=frozenset(mapping.team_id for mapping in granted if mapping.team_id),
        governed_teams=frozenset(mapping.team_id for mapping in mappings if mapping.team_id),
    )


def access_apply(user: User, provider: IdentityProvider, groups: Iterable[str]) -> MappedAccess:
    """Bring ``user``'s roles and mapped teams in line with ``groups`` under ``provider``'s mappings: what
    an SSO sign-in does, and what a SCIM group change does for the group's members. Audited."""
    access = mapped_access(provider, groups)
    with transaction.atomic():
        _roles_apply(user, access)
        _teams_apply(user, access)
    return access


# --- signing in ---------------------------------------------------------------------------------------


def federated_sign_in(assertion: SignInAssertion) -> User:
    """The account the IdP vouched for, created at the first sign-in and brought up to date at each:
    names and e-mail from the claims, roles and mapped teams from the groups. Audited; a refusal is
    audited and committed before it is raised."""
    try:
        with transaction.atomic():
            return _sign_in(assertion)
    except SignInRefused as refusal:
        with transaction.atomic():
            record(
                action="auth.sso_refused",
                actor=None,
                after={
                    "provider": assertion.provider.name,
                    "subject": assertion.subject[:255],
                    "username": assertion.username[:USERNAME_MAX],
                    "groups": list(assertion.groups)[:100],
                    "why": refusal.message,
                },
            )
        raise


def _sign_in(assertion: SignInAssertion) -> User:
    provider = assertion.provider
    if not provider.enabled:
        raise SignInRefused(f"Sign-in through {provider} is switched off.")
    access = mapped_access(provider, assertion.groups)
    identity = (
        FederatedIdentity.objects.select_for_update()
        .select_related("user")
        .filter(provider=provider, subject=assertion.subject)
        .first()
    )
    if identity is not None and not identity.user.is_active:
        raise SignInRefused("This account is deactivated; ask an administrator.")
    if not access.roles:
        raise SignInRefused(
            f"None of your groups at {provider} grants a role in Attest; ask an administrator to map one."
        )
    if identity is None:
        identity = _identity_create(assertion)
    user = identity.user
    _claims_apply(user, assertion)
    _roles_apply(user, access)
    _teams_apply(user, access)
    identity.groups = sorted(assertion.groups)
    identity.last_login_at = timezone.now()
    identity.save(update_fields=["groups", "last_login_at"])
    record(
        action="auth.sso_login",
        actor=user,
        obj=user,
        after={"provider": provider.name, "method": provider.method_prefix, "groups": identity.groups},
    )
    return user


def _identity_create(assertion: SignInAssertion) -> FederatedIdentity:
    """The first sign-in of this subject: a new account, or an account provisioned for it (by SCIM or an
    administrator, without a password). An account with a local password is never taken over."""
    username = assertion.username[:USERNAME_MAX]
    if not username:
        raise SignInRefused(f"{assertion.provider} sent no username or e-mail for this person.")
    user = User.objects.select_for_update().filter(username=username).first()
    if user is None:
        user = accounts.user_create(actor=None, username=username, password=None)
    elif user.has_usable_password() or user.identities.filter(provider=assertion.provider).exists():
        raise SignInRefused(
            f"An account named {username} already exists in Attest; an administrator must link it to "
            f"{assertion.provider} before you can sign in with it."
        )
    elif not user.is_active:
        raise SignInRefused("This account is deactivated; ask an administrator.")
    identity = FederatedIdentity.objects.create(
        provider=assertion.provider, user=user, subject=assertion.subject
    )
    record(
        action="auth.identity_linked",
        actor=None,
        obj=user,
        after={"provider": assertion.provider.name, "subject": assertion.subject, "username": username},
    )
    return identity


def _claims_apply(user: User, assertion: SignInAssertion) -> None:
    claimed = {"email": assertion.email, "first_name": assertion.first_name, "last_name": assertion.last_name}
    changes = {name: value[: 150 if name != "email" else 254] for name, value in claimed.items() if value}
    accounts.user_update(actor=None, user=user, **changes)


def _roles_apply(user: User, access: MappedAccess) -> None:
    current = set(user.groups.filter(name__in=ROLE_NAMES).values_list("name", flat=True))
    if current != set(access.roles):
        accounts.user_set_roles(actor=None, user=user, roles=sorted(access.roles))


def _teams_apply(user: User, access: MappedAccess) -> None:
    """Join the granted teams, leave the governed ones no longer granted; other teams stay as they are
    (an administrator may add someone to a team the IdP knows nothing of)."""
    member_of = set(Team.objects.filter(group__user=user).values_list("pk", flat=True))
    for team in Team.objects.filter(pk__in=access.teams - member_of).select_related("group"):
        accounts.team_add_member(actor=None, team=team, user=user)
    leaving = (access.governed_teams - access.teams) & member_of
    for team in Team.objects.filter(pk__in=leaving).select_related("group"):
        accounts.team_remove_member(actor=None, team=team, user=user)


# --- local passwords ----------------------------------------------------------------------------------


def local_password_allowed(username: str) -> bool:
    """``ATTEST_LOCAL_PASSWORDS=break-glass`` keeps password sign-in only for the accounts named in
    ``ATTEST_BREAK_GLASS_USERS`` (an administrator who can still get in when the IdP is down)."""
    if settings.ATTEST_LOCAL_PASSWORDS == "on":
        return True
    return (username or "").strip().lower() in {name.lower() for name in settings.ATTEST_BREAK_GLASS_USERS}


def enabled_providers() -> list[IdentityProvider]:
    return list(IdentityProvider.objects.filter(enabled=True))


# --- signing through the IdP ---------------------------------------------------------------------------


def signing_provider(user: User) -> IdentityProvider | None:
    """Where ``user`` re-authenticates to sign: the enabled IdP they last signed in through, when they have
    no local password; None for a local user, who re-enters their password (and TOTP code)."""
    if user.has_usable_password():
        return None
    identity = (
        FederatedIdentity.objects.filter(user=user, provider__enabled=True)
        .select_related("provider")
        .order_by("-last_login_at")
        .first()
    )
    return identity.provider if identity else None


def step_up_begin(*, user: User, provider: IdentityProvider, purpose: str) -> tuple[StepUp, str]:
    """Start a re-authentication at ``provider`` for one signature; returns the row and the one-time
    ``state`` to send to the IdP (only its hash is kept)."""
    if not FederatedIdentity.objects.filter(user=user, provider=provider).exists():
        raise ReauthenticationFailed(f"You do not sign in through {provider}; nothing was signed.")
    state = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        step_up = StepUp.objects.create(
            user=user,
            provider=provider,
            purpose=purpose[:100],
            state_sha256=_digest(state),
            created_at=now,
            expires_at=now + timedelta(seconds=STEP_UP_SECONDS),
        )
        record(
            action="auth.step_up_started",
            actor=user,
            obj=user,
            after={"provider": provider.name, "purpose": step_up.purpose, "step_up": step_up.pk},
        )
    return step_up, state


def step_up_for_state(state: str) -> StepUp | None:
    """The open re-authentication this IdP response answers (its ``state``/``RelayState``), if any."""
    if not state:
        return None
    return (
        StepUp.objects.select_related("provider", "user")
        .filter(state_sha256=_digest(state), completed_at__isnull=True)
        .first()
    )


def step_up_complete(*, step_up: StepUp, assertion: SignInAssertion) -> StepUp:
    """Accept the IdP's answer: same person, authenticated after the re-authentication began (within the
    provider's clock allowance), recently, with the required authentication context. Refusals audited."""
    try:
        with transaction.atomic():
            return _complete(step_up, assertion)
    except ReauthenticationFailed as refusal:
        with transaction.atomic():
            record(
                action="auth.step_up_refused",
                actor=step_up.user,
                obj=step_up.user,
                after={"provider": step_up.provider.name, "purpose": step_up.purpose, "why": refusal.message},
            )
        raise


def _complete(step_up: StepUp, assertion: SignInAssertion) -> StepUp:
    step_up = StepUp.objects.select_for_update().select_related("provider", "user").get(pk=step_up.pk)
    now = timezone.now()
    provider = step_up.provider
    if step_up.completed_at is not None or now > step_up.expires_at:
        raise ReauthenticationFailed("This re-authentication has expired or was already used; sign again.")
    identity = FederatedIdentity.objects.filter(provider=provider, user=step_up.user).first()
    if identity is None or identity.subject != assertion.subject:
        raise ReauthenticationFailed(f"{provider} re-authenticated someone else; nothing was signed.")
    _require_fresh(provider, step_up, assertion.authenticated_at, now)
    _require_context(provider, assertion.authn_context)
    step_up.completed_at = now
    step_up.idp_authenticated_at = assertion.authenticated_at
    step_up.authn_context = assertion.authn_context
    step_up.save(update_fields=["completed_at", "idp_authenticated_at", "authn_context"])
    record(
        action="auth.step_up_completed",
        actor=step_up.user,
        obj=step_up.user,
        after={
            "provider": provider.name,
            "purpose": step_up.purpose,
            "step_up": step_up.pk,
            "idp_authenticated_at": assertion.authenticated_at,
            "authn_context": assertion.authn_context,
        },
    )
    return step_up


def _require_fresh(provider: IdentityProvider, step_up: StepUp, authenticated_at, now) -> None:
    skew = timedelta(seconds=settings.ATTEST_SSO_CLOCK_SKEW_SECONDS)
    if authenticated_at is None:
        raise ReauthenticationFailed(
            f"{provider} did not say when you authenticated; a signature needs a fresh authentication."
        )
    if authenticated_at < step_up.created_at - skew:
        raise ReauthenticationFailed(
            f"{provider} reused an earlier sign-in ({authenticated_at:%H:%M:%S} UTC) instead of asking for "
            "your credentials again; nothing was signed."
        )
    if now - authenticated_at > timedelta(seconds=provider.step_up_max_age_seconds) + skew:
        raise ReauthenticationFailed("The authentication at the IdP is too old; sign again.")


def _require_context(provider: IdentityProvider, context: dict) -> None:
    required = provider.required_acr_values()
    if required and context.get("acr") not in required:
        raise ReauthenticationFailed(
            f"{provider} authenticated you with {context.get('acr') or 'an unstated method'}; a signature needs "
            f"{' or '.join(required)}."
        )


def step_up_consume(*, user: User, step_up_id: int | str | None, purpose: str) -> StepUp:
    """Use a completed re-authentication for one signature: the signer's own, for this ``purpose``, not
    used before and not expired. Raises ReauthenticationFailed (401)."""
    refusal = ReauthenticationFailed(
        "Re-authenticate at your identity provider to sign; nothing was signed.",
        fields={"step_up": ["Start a re-authentication for this signature and complete it at the IdP."]},
    )
    try:
        step_up_id = int(step_up_id)
    except (TypeError, ValueError):
        raise refusal from None
    with transaction.atomic():
        step_up = (
            StepUp.objects.select_for_update()
            .select_related("provider")
            .filter(
                pk=step_up_id,
                user=user,
                purpose=purpose,
                completed_at__isnull=False,
                consumed_at__isnull=True,
            )
            .first()
        )
        if step_up is None or timezone.now() > step_up.expires_at:
            raise refusal
        step_up.consumed_at = timezone.now()
        step_up.save(update_fields=["consumed_at"])
    return step_up


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
