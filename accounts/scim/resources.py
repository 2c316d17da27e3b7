"""Accounts and groups as SCIM resources (scim2-models), and back: what a POST, PUT or PATCH body says,
in the terms of ``accounts.services.scim``.

PATCH is applied by scim2-models to the resource as Attest shows it, then the result is stored like a
PUT: one set of rules for the three verbs. Two forms Entra ID sends that RFC 7644 reads differently are
accepted (see :func:`_entra_compatible`).
"""

from __future__ import annotations

from typing import Any

from scim2_models import (
    Context,
    Email,
    EnterpriseUser,
    Group,
    GroupMember,
    Meta,
    Name,
    NoTargetException,
    PatchOp,
    PatchOperation,
    SCIMException,
    User,
)
from scim2_models.path.expressions import CompareOperator, Comparison

from accounts.models import ScimGroup, ScimIdentity
from accounts.models import User as Account
from accounts.services.scim import GroupFields, UserFields

# The enterprise extension is parsed (Entra ID and Okta send it) and ignored; anything else unknown is 400.
UserResource = User[EnterpriseUser]

# What PATCH may change and Attest keeps; an operation on another RFC 7643 attribute (phoneNumbers,
# the enterprise extension…) is ignored, as a POST or PUT ignores those attributes.
# (lower-cased: attribute names are case-insensitive, RFC 7643 §2.1)
USER_KEPT = {"username", "name", "emails", "active", "externalid"}
GROUP_KEPT = {"displayname", "members", "externalid"}


class ActiveNotRemovable(SCIMException):
    status = 400
    scim_type = "mutability"


# --- accounts -----------------------------------------------------------------------------------------


def user_resource(account: Account, identity: ScimIdentity, base: str) -> UserResource:
    names = {"given_name": account.first_name or None, "family_name": account.last_name or None}
    return UserResource(
        id=str(account.pk),
        external_id=identity.external_id or None,
        user_name=account.username,
        name=Name(**names) if any(names.values()) else None,
        emails=_emails(account, identity) or None,
        active=account.is_active,
        meta=Meta(resource_type="User", created=account.date_joined, location=f"{base}Users/{account.pk}"),
    )


def _emails(account: Account, identity: ScimIdentity) -> list[Email]:
    """The addresses as the client sent them, while the account's e-mail is still their primary one (an
    SSO sign-in may have changed it since); otherwise the account's e-mail, as the primary work address."""
    kept = identity.emails or []
    principal = next((item for item in kept if item.get("primary")), kept[0] if kept else {})
    if kept and principal.get("value") == account.email:
        return [Email(**item) for item in kept]
    return [Email(value=account.email, type="work", primary=True)] if account.email else []


def user_fields(resource: UserResource, *, active_default: bool) -> UserFields:
    name = resource.name or Name()
    emails = tuple(
        {key: value for key, value in _email_item(email).items() if value is not None}
        for email in resource.emails or []
        if email.value
    )
    return UserFields(
        username=(resource.user_name or "").strip(),
        first_name=name.given_name or "",
        last_name=name.family_name or "",
        emails=emails,
        active=active_default if resource.active is None else bool(resource.active),
        external_id=resource.external_id or "",
    )


def _email_item(email: Email) -> dict:
    kind = email.type.value if hasattr(email.type, "value") else email.type
    return {"value": email.value, "type": kind, "primary": email.primary}


def user_parse(payload: Any, *, replacing: bool) -> UserResource:
    scim_ctx = Context.RESOURCE_REPLACEMENT_REQUEST if replacing else Context.RESOURCE_CREATION_REQUEST
    return UserResource.model_validate(payload, scim_ctx=scim_ctx)


def user_patched(resource: UserResource, payload: Any) -> UserResource:
    _patch(UserResource, resource, payload, USER_KEPT)
    return resource


# --- groups -------------------------------------------------------------------------------------------


def group_resource(group: ScimGroup, base: str) -> Group:
    members = [
        GroupMember(value=str(pk), ref=f"{base}Users/{pk}", type="User")
        for pk in sorted(member.pk for member in group.members.all())  # prefetched on lists
    ]
    return Group(
        id=str(group.pk),
        external_id=group.external_id or None,
        display_name=group.display_name,
        members=members or None,
        meta=Meta(resource_type="Group", created=group.created_at, location=f"{base}Groups/{group.pk}"),
    )


def group_fields(resource: Group) -> GroupFields:
    members = []
    for member in resource.members or []:
        if member.type not in (None, "User"):
            raise InvalidMember(
                detail="members: only users can be members (nested groups are not supported)."
            )
        if not member.value:
            raise InvalidMember(detail="members: a member needs its value (the user's id).")
        members.append(str(member.value))
    return GroupFields(
        display_name=(resource.display_name or "").strip(),
        external_id=resource.external_id or "",
        member_ids=tuple(members),
    )


class InvalidMember(SCIMException):
    status = 400
    scim_type = "invalidValue"


def group_parse(payload: Any, *, replacing: bool) -> Group:
    scim_ctx = Context.RESOURCE_REPLACEMENT_REQUEST if replacing else Context.RESOURCE_CREATION_REQUEST
    return Group.model_validate(payload, scim_ctx=scim_ctx)


def group_patched(resource: Group, payload: Any) -> Group:
    _patch(Group, resource, _entra_compatible(payload), GROUP_KEPT)
    return resource


# --- PATCH --------------------------------------------------------------------------------------------


def _patch(model, resource, payload: Any, kept: set[str]) -> None:
    """Apply the operations one by one (a remove that matches nothing is a no-op, so a retried request
    is harmless); an add or replace whose filter matches nothing is 400 noTarget."""
    operations = PatchOp[model].model_validate(payload, scim_ctx=Context.RESOURCE_PATCH_REQUEST).operations
    core = resource.schemas[0].lower()
    for operation in operations:
        path = operation.path
        parts = _lowered(path)
        if path is not None and ((path.schema or core).lower() != core or parts[0] not in kept):
            continue
        if operation.op == PatchOperation.Op.remove and parts == ("active",):
            raise ActiveNotRemovable(detail="active cannot be removed: replace it with false to deprovision.")
        if _email_added(resource, operation):
            continue
        try:
            PatchOp[model](operations=[operation]).patch(resource)
        except NoTargetException:
            if operation.op != PatchOperation.Op.remove:
                raise


def _email_added(resource, operation) -> bool:
    """Entra ID replaces ``emails[type eq "work"].value`` even when the user has no work address yet; it
    means: set the work address. Done here (the RFC would answer noTarget)."""
    path = operation.path
    selector = path.value_filter if path is not None else None
    if operation.op == PatchOperation.Op.remove or _lowered(path) != ("emails", "value"):
        return False
    if not isinstance(selector, Comparison) or selector.op != CompareOperator.eq:
        return False
    if selector.attr_path.attr.lower() != "type" or not isinstance(operation.value, str):
        return False
    kind = str(selector.value)
    emails = list(resource.emails or [])
    if any(_email_item(email)["type"] == kind for email in emails):
        return False
    primary = not any(email.primary for email in emails)
    resource.emails = [*emails, Email(value=operation.value, type=kind, primary=primary)]
    return True


def _lowered(path) -> tuple[str, ...]:
    return tuple(part.lower() for part in path.parts) if path is not None else ()


def _entra_compatible(payload: Any) -> Any:
    """Entra ID removes group members with ``{"op": "Remove", "path": "members", "value": [{"value":
    id}]}``; RFC 7644 puts the selection in the path. Rewritten to ``members[value eq "id"]``."""
    if not isinstance(payload, dict) or not isinstance(payload.get("Operations"), list):
        return payload
    rewritten = []
    for operation in payload["Operations"]:
        if (
            isinstance(operation, dict)
            and str(operation.get("op", "")).lower() == "remove"
            and str(operation.get("path", "")).lower() == "members"
            and isinstance(operation.get("value"), list)
        ):
            for member in operation["value"]:
                value = member.get("value") if isinstance(member, dict) else member
                escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
                rewritten.append({"op": "remove", "path": f'members[value eq "{escaped}"]'})
        else:
            rewritten.append(operation)
    return {**payload, "Operations": rewritten}
