"""SCIM 2.0 provisioning, independent of the protocol's JSON: the clients and their tokens, the accounts a
client manages, deprovisioning, and groups whose names feed the identity provider's group mappings.

The SCIM views (``accounts.scim``) turn a request into :class:`UserFields` or a group's fields and call
these; every change is one transaction with its audit events, written with the request context marked
``auth_method="scim"`` and the client's name in the event.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import ApiToken, IdentityProvider, ScimClient, ScimGroup, ScimIdentity, User
from accounts.services import accounts, federation
from audit import record
from config.api.errors import ServiceError

TOKEN_PREFIX = "attest_scim_"  # noqa: S105 (a prefix that tells a SCIM token apart, not a secret)
NAME_MAX = 150  # first_name, last_name, username
EMAIL_MAX = 254
GROUP_NAME_MAX = 255
EXTERNAL_ID_MAX = 255
_ID = re.compile(r"[0-9]{1,18}")


class ScimInvalid(ServiceError):
    """A value Attest cannot store (too long, not a username, a member it does not know)."""

    status_code = 400
    code = "invalidValue"


class ScimConflict(ServiceError):
    """The userName or group name is taken (by an account this client may not manage)."""

    status_code = 409
    code = "uniqueness"


@dataclass(frozen=True)
class UserFields:
    """What a SCIM client says about a person, in Attest's terms."""

    username: str
    first_name: str = ""
    last_name: str = ""
    emails: tuple[dict, ...] = ()  # as sent: {"value", "type", "primary"}
    active: bool = True
    external_id: str = ""

    @property
    def email(self) -> str:
        """The account's e-mail: the primary address, else the first."""
        chosen = next((item for item in self.emails if item.get("primary")), None)
        chosen = chosen or (self.emails[0] if self.emails else {})
        return chosen.get("value") or ""


@dataclass(frozen=True)
class GroupFields:
    display_name: str
    external_id: str = ""
    member_ids: tuple[str, ...] = ()


# --- clients and their tokens -------------------------------------------------------------------------


def client_create(*, actor: User | None, name: str, provider: IdentityProvider | None = None):
    """A provisioning client and its bearer token (returned once; only its SHA-256 is kept)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        client = ScimClient(name=name, provider=provider, token_sha256=_digest(token))
        client.full_clean()
        client.save()
        record(
            action="scim.client_created",
            actor=actor,
            obj=client,
            after={"name": name, "provider": provider.name if provider else None},
        )
    return client, token


def client_revoke(*, actor: User | None, client: ScimClient) -> None:
    """Switch a client off: its token stops working at once. The accounts it manages are untouched."""
    with transaction.atomic():
        client.active = False
        client.save(update_fields=["active"])
        record(action="scim.client_revoked", actor=actor, obj=client, after={"name": client.name})


def client_update(*, actor: User | None, client: ScimClient, provider: IdentityProvider | None) -> None:
    """Point the client's groups at another identity provider's mappings (None: they grant nothing)."""
    with transaction.atomic():
        client = ScimClient.objects.select_for_update().get(pk=client.pk)
        before = client.provider.name if client.provider else None
        after = provider.name if provider else None
        if before == after:
            return
        client.provider = provider
        client.save(update_fields=["provider"])
        record(
            action="scim.client_changed",
            actor=actor,
            obj=client,
            before={"provider": before},
            after={"provider": after},
        )


def client_for_token(token: str) -> ScimClient | None:
    """The active client whose token this is. The lookup is by the token's SHA-256, so no secret is
    compared byte by byte (nothing to time)."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    client = (
        ScimClient.objects.select_related("provider").filter(token_sha256=_digest(token), active=True).first()
    )
    if client is not None:
        ScimClient.objects.filter(pk=client.pk).update(last_used_at=timezone.now())
    return client


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- users --------------------------------------------------------------------------------------------


def managed_users(client: ScimClient) -> QuerySet[User]:
    """The accounts ``client`` manages (what its /Users lists), oldest first."""
    return User.objects.filter(scim_identities__scim_client=client).order_by("pk")


def parse_id(value) -> int | None:
    """A resource id as the client sent it, if it can be one: ASCII digits within a bigint (anything else
    names nothing, and must not reach the database as an out-of-range number)."""
    text = str(value) if isinstance(value, (str, int)) else ""
    return int(text) if _ID.fullmatch(text) else None


def identity_for(client: ScimClient, user_id) -> ScimIdentity | None:
    user_id = parse_id(user_id)
    if user_id is None:
        return None
    return ScimIdentity.objects.select_related("user").filter(scim_client=client, user_id=user_id).first()


def identities_for(client: ScimClient, users: Iterable[User]) -> dict[int, ScimIdentity]:
    rows = ScimIdentity.objects.filter(scim_client=client, user__in=[user.pk for user in users])
    return {row.user_id: row for row in rows}


def user_provision(*, client: ScimClient, fields: UserFields) -> ScimIdentity:
    """Create the account, password-less (the person signs in through the IdP), or adopt an existing
    account that has no password and no other SCIM client. Accounts with a local password (break-glass
    administrators) and superusers are never taken over: 409."""
    _validate_user(fields)
    with transaction.atomic():
        existing = User.objects.select_for_update().filter(username__iexact=fields.username).first()
        if existing is not None and not _adoptable(existing):
            raise ScimConflict(
                f"userName {fields.username!r} belongs to an account this client may not manage."
            )
        user = existing or accounts.user_create(actor=None, username=fields.username, password=None)
        identity = ScimIdentity.objects.create(scim_client=client, user=user)
        record(
            action="scim.user_linked",
            actor=None,
            obj=user,
            after={
                "scim_client": client.name,
                "external_id": fields.external_id,
                "adopted": existing is not None,
            },
        )
        _user_apply(client, identity, fields)
    return identity


def _adoptable(user: User) -> bool:
    return not (user.has_usable_password() or user.is_superuser or user.scim_identities.exists())


def user_replace(*, client: ScimClient, identity: ScimIdentity, fields: UserFields) -> ScimIdentity:
    """PUT and PATCH: the account becomes what ``fields`` says; ``active`` false deprovisions."""
    _validate_user(fields)
    with transaction.atomic():
        identity = ScimIdentity.objects.select_for_update().select_related("user").get(pk=identity.pk)
        taken = User.objects.filter(username__iexact=fields.username).exclude(pk=identity.user_id).exists()
        if taken:
            raise ScimConflict(f"userName {fields.username!r} is taken by another account.")
        _user_apply(client, identity, fields)
    return identity


def user_delete(*, client: ScimClient, identity: ScimIdentity) -> None:
    """DELETE: the account is deprovisioned, never deleted (its name stands in the audit trail and on
    signatures), and the client stops managing it (a later GET is 404)."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=identity.user_id)
        if user.is_active:
            _deprovision(client, user)
        groups = list(ScimGroup.objects.filter(scim_client=client, members=user))
        for group in groups:
            group.members.remove(user)
        record(
            action="scim.user_unlinked",
            actor=None,
            obj=user,
            before={"scim_client": client.name, "external_id": identity.external_id},
            after={"left_groups": [group.display_name for group in groups]},
        )
        identity.delete()
        if groups:
            _access_refresh(client, [user])


def _validate_user(fields: UserFields) -> None:
    try:
        for validator in User.username_validator, *User._meta.get_field("username").validators:
            validator(fields.username)
    except ValidationError as error:
        raise ScimInvalid(
            f"userName: {' '.join(error.messages)}", fields={"userName": error.messages}
        ) from None
    limits = {
        "name.givenName": (fields.first_name, NAME_MAX),
        "name.familyName": (fields.last_name, NAME_MAX),
    }
    limits["emails.value"] = (fields.email, EMAIL_MAX)
    limits["externalId"] = (fields.external_id, EXTERNAL_ID_MAX)
    for name, (value, limit) in limits.items():
        if len(value) > limit:
            raise ScimInvalid(f"{name} is longer than {limit} characters.", fields={name: ["Too long."]})


def _user_apply(client: ScimClient, identity: ScimIdentity, fields: UserFields) -> None:
    user = identity.user
    changes = {
        "username": fields.username,
        "first_name": fields.first_name,
        "last_name": fields.last_name,
        "email": fields.email,
    }
    if fields.active and not user.is_active:
        changes["is_active"] = True  # reactivated: sign-in works again; revoked tokens stay revoked
    accounts.user_update(actor=None, user=user, **changes)
    kept = {"external_id": fields.external_id, "emails": [dict(item) for item in fields.emails]}
    before = {
        name: getattr(identity, name) for name, value in kept.items() if getattr(identity, name) != value
    }
    if before:
        for name in before:
            setattr(identity, name, kept[name])
        identity.save(update_fields=list(before))
        after = {name: kept[name] for name in before}
        record(
            action="scim.user_changed",
            actor=None,
            obj=user,
            before=before,
            after={"scim_client": client.name, **after},
        )
    if not fields.active and user.is_active:
        _deprovision(client, user)


def _deprovision(client: ScimClient, user: User) -> None:
    """Deactivate, revoke every API token and end every session, in the caller's transaction: the next
    request with the token is 401 and the browser is signed out."""
    accounts.user_update(actor=None, user=user, is_active=False)
    tokens = list(ApiToken.objects.select_for_update().filter(user=user))
    for token in tokens:
        record(
            action="token.revoked",
            actor=None,
            obj=user,
            before={
                "token_key": token.token_key,
                "name": token.name,
                "user": user.username,
                "expiry": token.expiry,
            },
            after={"scim_client": client.name},
        )
    ApiToken.objects.filter(pk__in=[token.pk for token in tokens]).delete()
    sessions = _sessions_end(user)
    record(
        action="scim.user_deprovisioned",
        actor=None,
        obj=user,
        after={"scim_client": client.name, "tokens_revoked": len(tokens), "sessions_ended": sessions},
    )


def _sessions_end(user: User) -> int:
    """Delete the user's live sessions. Sessions are keyed by a random key, not by user, so the live ones
    are decoded one by one: deprovisioning is rare, and this needs no index kept in step at every sign-in.
    Deleted through the session engine, so a cached_db engine drops its cached copy too."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    owner = str(user.pk)
    keys = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=500)
        if session.get_decoded().get(SESSION_KEY) == owner
    ]
    for key in keys:
        store(session_key=key).delete()
    return len(keys)


# --- groups -------------------------------------------------------------------------------------------


def groups_of(client: ScimClient) -> QuerySet[ScimGroup]:
    return ScimGroup.objects.filter(scim_client=client).order_by("pk").prefetch_related("members")


def group_create(*, client: ScimClient, fields: GroupFields) -> ScimGroup:
    _validate_group(fields)
    with transaction.atomic():
        if groups_of(client).filter(display_name=fields.display_name).exists():
            raise ScimConflict(f"A group named {fields.display_name!r} exists already.")
        members = _members(client, fields.member_ids)
        group = ScimGroup.objects.create(
            scim_client=client, display_name=fields.display_name, external_id=fields.external_id
        )
        group.members.set(members)
        record(
            action="scim.group_created",
            actor=None,
            obj=group,
            after={**_group_facts(group, members), "scim_client": client.name},
        )
        _access_refresh(client, members)
    return group


def group_replace(*, client: ScimClient, group: ScimGroup, fields: GroupFields) -> ScimGroup:
    """PUT and PATCH: name, externalId and members become ``fields``; the roles and teams of everyone who
    joined or left, or whose group was renamed, are re-evaluated against the mappings."""
    _validate_group(fields)
    with transaction.atomic():
        group = ScimGroup.objects.select_for_update().get(pk=group.pk)
        if groups_of(client).filter(display_name=fields.display_name).exclude(pk=group.pk).exists():
            raise ScimConflict(f"A group named {fields.display_name!r} exists already.")
        before_members = list(group.members.order_by("pk"))
        before = _group_facts(group, before_members)
        members = _members(client, fields.member_ids)
        group.display_name, group.external_id = fields.display_name, fields.external_id
        group.save(update_fields=["display_name", "external_id"])
        group.members.set(members)
        after = _group_facts(group, members)
        if after == before:
            return group
        record(
            action="scim.group_changed",
            actor=None,
            obj=group,
            before=before,
            after={**after, "scim_client": client.name},
        )
        renamed = (before["display_name"], before["external_id"]) != (
            after["display_name"],
            after["external_id"],
        )
        affected = set(before_members) ^ set(members) if not renamed else set(before_members) | set(members)
        _access_refresh(client, sorted(affected, key=lambda user: user.pk))
    return group


def group_delete(*, client: ScimClient, group: ScimGroup) -> None:
    with transaction.atomic():
        members = list(group.members.order_by("pk"))
        record(
            action="scim.group_deleted",
            actor=None,
            obj=group,
            before={**_group_facts(group, members), "scim_client": client.name},
        )
        group.delete()
        _access_refresh(client, members)


def _validate_group(fields: GroupFields) -> None:
    if not fields.display_name.strip():
        raise ScimInvalid("displayName is required.", fields={"displayName": ["Required."]})
    if len(fields.display_name) > GROUP_NAME_MAX:
        raise ScimInvalid(f"displayName is longer than {GROUP_NAME_MAX} characters.")
    if len(fields.external_id) > EXTERNAL_ID_MAX:
        raise ScimInvalid(f"externalId is longer than {EXTERNAL_ID_MAX} characters.")


def _members(client: ScimClient, member_ids: Iterable[str]) -> list[User]:
    """The accounts named, each one the client manages (a client cannot grant access to others)."""
    wanted = list(dict.fromkeys(member_ids))
    numeric = [number for number in map(parse_id, wanted) if number is not None]
    found = {str(user.pk): user for user in managed_users(client).filter(pk__in=numeric)}
    unknown = [value for value in wanted if str(value) not in found]
    if unknown:
        raise ScimInvalid(
            f"members: no user {', '.join(map(str, unknown[:5]))} is provisioned by this client.",
            fields={"members": ["Unknown member."]},
        )
    return [found[str(value)] for value in wanted]


def _group_facts(group: ScimGroup, members: list[User]) -> dict:
    return {
        "display_name": group.display_name,
        "external_id": group.external_id,
        "members": sorted(user.username for user in members),
    }


def _access_refresh(client: ScimClient, users: Iterable[User]) -> None:
    """The roles and mapped teams of ``users``, from the names of the client's groups they are in, under
    the same mappings an SSO sign-in through the client's identity provider uses."""
    provider = client.provider
    if provider is None:
        return
    for user in users:
        names = ScimGroup.objects.filter(scim_client=client, members=user).values_list(
            "display_name", "external_id"
        )
        groups = {name for pair in names for name in pair if name}
        federation.access_apply(user, provider, groups)
