"""SCIM filters (RFC 7644 §3.4.2.2) as database queries: ``eq`` on the attributes identity providers
match on, joined with ``and``. Anything else is 400 invalidFilter, never a silently wrong list."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q
from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path.expressions import (
    AttrPath,
    CompareOperator,
    Comparison,
    LogicalExpr,
    LogicalOperator,
    ValuePath,
)

from accounts.models import ScimClient, ScimIdentity
from accounts.scim.schemas import GROUP_SCHEMA, USER_SCHEMA
from accounts.services.scim import parse_id

Lookup = Callable[[ScimClient, object], Q]


def _text(lookup: str) -> Lookup:
    def build(_client, value) -> Q:
        return Q(**{lookup: _string(value)})

    return build


def _ids(_client, value) -> Q:
    number = parse_id(_string(value))
    return Q(pk=number) if number is not None else Q(pk__in=[])


def _members(_client, value) -> Q:
    number = parse_id(_string(value))
    return Q(members__pk=number) if number is not None else Q(pk__in=[])


def _user_external_id(client, value) -> Q:
    owners = ScimIdentity.objects.filter(scim_client=client, external_id=_string(value)).values("user_id")
    return Q(pk__in=owners)


def _active(_client, value) -> Q:
    if not isinstance(value, bool):
        raise InvalidFilterException(detail="active is compared with true or false.")
    return Q(is_active=value)


# lower-cased attribute path -> how to match it (caseExact false attributes compare case-insensitively)
USER_LOOKUPS: dict[str, Lookup] = {
    "id": _ids,
    "username": _text("username__iexact"),
    "externalid": _user_external_id,
    "emails": _text("email__iexact"),
    "emails.value": _text("email__iexact"),
    "active": _active,
    "name.givenname": _text("first_name__iexact"),
    "name.familyname": _text("last_name__iexact"),
}
GROUP_LOOKUPS: dict[str, Lookup] = {
    "id": _ids,
    "displayname": _text("display_name__iexact"),
    "externalid": _text("external_id"),
    "members": _members,
    "members.value": _members,
}
SUPPORTED = (
    "eq on id, userName, externalId, emails.value, active, name.givenName, name.familyName (Users) or "
)
SUPPORTED += "id, displayName, externalId, members.value (Groups), joined with and"


def user_query(client: ScimClient, text: str) -> Q:
    return _query(client, text, USER_LOOKUPS, USER_SCHEMA)


def group_query(client: ScimClient, text: str) -> Q:
    return _query(client, text, GROUP_LOOKUPS, GROUP_SCHEMA)


def _query(client: ScimClient, text: str, lookups: dict[str, Lookup], schema: str) -> Q:
    try:
        tree = ScimFilter(text).ast
    except InvalidFilterException:
        raise
    except Exception as error:  # the grammar's own errors
        raise InvalidFilterException(detail=f"The filter cannot be read: {error}") from None
    return _node(client, tree, lookups, schema)


def _node(client, node, lookups, schema) -> Q:
    if isinstance(node, LogicalExpr) and node.op == LogicalOperator.and_:
        query = Q()
        for term in node.terms:
            query &= _node(client, term, lookups, schema)
        return query
    if isinstance(node, Comparison) and node.op == CompareOperator.eq:
        return _lookup(lookups, node.attr_path, schema)(client, node.value)
    if (
        isinstance(node, ValuePath)
        and isinstance(node.val_filter, Comparison)
        and node.val_filter.op == CompareOperator.eq
    ):
        inner = node.val_filter.attr_path
        path = AttrPath(attr=node.attr_path.attr, sub_attr=inner.attr, uri=node.attr_path.uri)
        return _lookup(lookups, path, schema)(client, node.val_filter.value)
    raise InvalidFilterException(detail=f"This filter is not supported; Attest supports {SUPPORTED}.")


def _lookup(lookups, attr_path: AttrPath, schema: str) -> Lookup:
    if (attr_path.uri or schema).lower() != schema.lower():
        raise InvalidFilterException(detail=f"Attributes of {attr_path.uri} cannot be filtered on.")
    name = attr_path.attr if not attr_path.sub_attr else f"{attr_path.attr}.{attr_path.sub_attr}"
    lookup = lookups.get(name.lower())
    if lookup is None:
        raise InvalidFilterException(detail=f"{name} cannot be filtered on; Attest supports {SUPPORTED}.")
    return lookup


def _string(value) -> str:
    if not isinstance(value, str):
        raise InvalidFilterException(detail="This attribute is compared with a string.")
    return value
