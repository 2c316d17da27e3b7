"""What the server publishes about itself: ServiceProviderConfig, ResourceTypes and Schemas.

The schemas are RFC 7643's, cut down to the attributes Attest stores and gives back: a client (and
scim2-tester) learns from them exactly what round-trips. Other RFC 7643 User attributes (phoneNumbers,
addresses, the enterprise extension…) are accepted and ignored, as Entra ID and Okta send them by default.
"""

from __future__ import annotations

from functools import cache

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    ETag,
    Filter,
    Group,
    Meta,
    Pagination,
    Patch,
    ResourceType,
    ServiceProviderConfig,
    Sort,
    User,
)

MAX_RESULTS = 200  # the largest page (count is capped to it)
DEFAULT_COUNT = 100

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"

# attribute -> the sub-attributes kept (None: a simple attribute)
USER_ATTRIBUTES = {
    "userName": None,
    "name": {"givenName", "familyName"},
    "active": None,
    "emails": {"value", "type", "primary"},
}
GROUP_ATTRIBUTES = {"displayName": None, "members": {"value", "$ref", "type"}}


def service_provider_config(base: str) -> dict:
    config = ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        pagination=Pagination(
            cursor=False,
            index=True,
            default_pagination_method="index",
            default_page_size=DEFAULT_COUNT,
            max_page_size=MAX_RESULTS,
        ),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="Bearer token",
                description="The SCIM client's token (manage.py scim_token create), in Authorization: Bearer.",
                primary=True,
            )
        ],
        meta=Meta(resource_type="ServiceProviderConfig", location=f"{base}ServiceProviderConfig"),
    )
    return config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def resource_types(base: str) -> list[dict]:
    kinds = (
        ("User", "/Users", USER_SCHEMA, "People who may sign in"),
        (
            "Group",
            "/Groups",
            GROUP_SCHEMA,
            "Groups whose names the identity provider's group mappings turn into roles and teams",
        ),
    )
    return [
        ResourceType(
            id=name,
            name=name,
            endpoint=endpoint,
            description=description,
            schema_=schema,
            meta=Meta(resource_type="ResourceType", location=f"{base}ResourceTypes/{name}"),
        ).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        for name, endpoint, schema, description in kinds
    ]


def schemas(base: str) -> list[dict]:
    published = []
    for model, kept in ((User, USER_ATTRIBUTES), (Group, GROUP_ATTRIBUTES)):
        schema = _schema(model, kept)
        schema["meta"] = {"resourceType": "Schema", "location": f"{base}Schemas/{schema['id']}"}
        published.append(schema)
    return published


@cache
def _base_schema(model) -> dict:
    return model.to_schema().model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def _schema(model, kept: dict) -> dict:
    schema = dict(_base_schema(model))
    attributes = []
    for attribute in schema["attributes"]:
        if attribute["name"] not in kept:
            continue
        attribute = dict(attribute)
        subs = kept[attribute["name"]]
        if subs is not None:
            attribute["subAttributes"] = [sub for sub in attribute["subAttributes"] if sub["name"] in subs]
        attributes.append(_adjusted(model, attribute))
    schema["attributes"] = attributes
    return schema


def _adjusted(model, attribute: dict) -> dict:
    """Where Attest differs from the RFC's defaults: usernames are unique, and a group's members are
    users (no nested groups)."""
    if attribute["name"] == "userName":
        attribute["uniqueness"] = "server"
        attribute["required"] = True
    if model is Group and attribute["name"] == "members":
        subs = []
        for sub in attribute["subAttributes"]:
            sub = dict(sub)
            if sub["name"] == "$ref":
                sub["referenceTypes"] = ["User"]
            if sub["name"] == "type":
                sub["canonicalValues"] = ["User"]
            subs.append(sub)
        attribute["subAttributes"] = subs
    return attribute


SCHEMA_IDS = (USER_SCHEMA, GROUP_SCHEMA)
