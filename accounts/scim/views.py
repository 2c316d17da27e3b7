"""The SCIM 2.0 endpoints. A SCIM client's bearer token only: no session, no person's API token, no CSRF
(there is no cookie to ride on). Every answer is ``application/scim+json``; every refusal a SCIM Error
with the right 4xx and scimType."""

from __future__ import annotations

import json

import pydantic
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from scim2_models import Context, Error, ResponseParameters, SCIMException

from accounts import context
from accounts.models import ScimClient
from accounts.scim import filters, resources, schemas
from accounts.services import scim
from config import strict_json
from config.api.errors import ServiceError

CONTENT_TYPE = "application/scim+json"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
READ = Context.RESOURCE_QUERY_RESPONSE
MAX_START = 2**31  # beyond any page; keeps the OFFSET within what PostgreSQL takes


class ScimFailure(Exception):
    def __init__(self, status: int, detail: str, scim_type: str | None = None):
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type


def respond(body, status: int = 200, **headers) -> HttpResponse:
    return HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder), status=status, content_type=CONTENT_TYPE, headers=headers
    )


def error(status: int, detail: str, scim_type: str | None = None, **headers) -> HttpResponse:
    body = Error(status=status, scim_type=scim_type or None, detail=detail).model_dump(scim_ctx=READ)
    return respond(body, status=status, **headers)


@method_decorator(csrf_exempt, name="dispatch")
class ScimEndpoint(View):
    """Authenticates the SCIM client, marks the request context ``scim``, and turns every refusal into a
    SCIM Error."""

    client: ScimClient

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        client = scim.client_for_token(_bearer(request))
        if client is None:
            return error(
                401, "A SCIM client's bearer token is required.", WWW_Authenticate='Bearer realm="SCIM"'
            )
        self.client = client
        context.update(auth_method="scim", actor_id=None)
        try:
            _require_storable_parameters(request)
            return super().dispatch(request, *args, **kwargs)
        except ScimFailure as failure:
            return error(failure.status, failure.detail, failure.scim_type)
        except SCIMException as refusal:
            return respond(refusal.to_error().model_dump(scim_ctx=READ), status=refusal.status)
        except pydantic.ValidationError as invalid:
            return _invalid(invalid)
        except ServiceError as refusal:
            return error(refusal.status_code, refusal.message, refusal.code)
        except ValidationError as invalid:
            return error(400, " ".join(invalid.messages), "invalidValue")
        except IntegrityError:
            # two requests creating the same userName at once: the database's unique index decided
            return error(409, "The userName or group name was taken meanwhile.", "uniqueness")

    def http_method_not_allowed(self, request, *args, **kwargs):
        return error(405, f"{request.method} is not supported here.")

    @property
    def base(self) -> str:
        return self.request.build_absolute_uri(reverse("scim-root"))

    def body(self):
        try:
            payload = strict_json.loads((self.request.body or b"null").decode())
        except RequestDataTooBig:
            raise ScimFailure(413, "The body is too large.") from None
        except strict_json.UnsafeJSON as unsafe:
            raise ScimFailure(400, str(unsafe), "invalidValue") from None
        except (ValueError, UnicodeDecodeError):
            raise ScimFailure(400, "The body is not JSON.", "invalidSyntax") from None
        if not isinstance(payload, dict):
            raise ScimFailure(400, "The body must be a JSON object.", "invalidSyntax")
        return payload

    def response_parameters(self) -> ResponseParameters:
        return ResponseParameters.model_validate(
            {
                "attributes": self.request.GET.get("attributes") or None,
                "excludedAttributes": self.request.GET.get("excludedAttributes") or None,
            }
        )

    def shown(self, resource) -> dict:
        return resource.model_dump(scim_ctx=READ, response_parameters=self.response_parameters())

    def listed(self, queryset, present) -> HttpResponse:
        """One page of ``queryset`` (``startIndex`` 1-based, ``count`` capped)."""
        start = min(max(_integer(self.request.GET.get("startIndex"), "startIndex", 1), 1), MAX_START)
        count = _integer(self.request.GET.get("count"), "count", schemas.DEFAULT_COUNT)
        count = min(max(count, 0), schemas.MAX_RESULTS)
        total = queryset.count()
        page = list(queryset[start - 1 : start - 1 + count]) if count else []
        parameters = self.response_parameters()
        found = [item.model_dump(scim_ctx=READ, response_parameters=parameters) for item in present(page)]
        return respond(
            {
                "schemas": [LIST_RESPONSE],
                "totalResults": total,
                "startIndex": start,
                "itemsPerPage": len(found),
                "Resources": found,
            }
        )


def _require_storable_parameters(request: HttpRequest) -> None:
    """A query parameter PostgreSQL could not compare (a NUL, a lone surrogate) is refused up front."""
    for name, value in request.GET.items():
        problem = strict_json.text_problem(value)
        if problem:
            raise ScimFailure(
                400, f"{name}: {problem}", "invalidFilter" if name == "filter" else "invalidValue"
            )


def _bearer(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _integer(raw: str | None, name: str, default: int) -> int:
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ScimFailure(400, f"{name} must be an integer.", "invalidValue") from None


def _invalid(invalid: pydantic.ValidationError) -> HttpResponse:
    """scim2-models' validation errors name the scimType (``scim_invalidPath``…); pydantic's own are a
    body that does not fit the schema (an unknown attribute, a missing one) or a bad value."""
    problems = invalid.errors()
    kinds = [problem["type"] for problem in problems]
    scim_type = next((kind.removeprefix("scim_") for kind in kinds if kind.startswith("scim_")), None)
    if scim_type is None:
        structural = any(kind in ("extra_forbidden", "missing", "model_type") for kind in kinds)
        scim_type = "invalidSyntax" if structural else "invalidValue"
    detail = "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['msg']}"
        for problem in problems[:5]
    )
    return error(400, detail, scim_type)


# --- discovery ----------------------------------------------------------------------------------------


class ServiceProviderConfigView(ScimEndpoint):
    def get(self, request):
        return respond(schemas.service_provider_config(self.base))


class ResourceTypesView(ScimEndpoint):
    def get(self, request, name: str | None = None):
        return _discovery(schemas.resource_types(self.base), name, "id")


class SchemasView(ScimEndpoint):
    def get(self, request, name: str | None = None):
        return _discovery(schemas.schemas(self.base), name, "id")


def _discovery(items: list[dict], name: str | None, key: str) -> HttpResponse:
    if name is not None:
        found = next((item for item in items if item[key] == name), None)
        return respond(found) if found else error(404, f"No {name} here.")
    return respond(
        {
            "schemas": [LIST_RESPONSE],
            "totalResults": len(items),
            "startIndex": 1,
            "itemsPerPage": len(items),
            "Resources": items,
        }
    )


class NotFoundView(ScimEndpoint):
    """Any other path under /scim/v2/: a SCIM 404 (after authentication, so it reveals nothing)."""

    def get(self, request, **_kwargs):
        raise ScimFailure(404, f"{request.path} is not a SCIM endpoint.")

    put = patch = delete = get

    def post(self, request, **kwargs):
        if request.path.endswith("/.search"):
            raise ScimFailure(501, "Searching with POST /.search is not supported; use GET with a filter.")
        return self.get(request, **kwargs)


# --- users --------------------------------------------------------------------------------------------


class UsersView(ScimEndpoint):
    def get(self, request):
        queryset = scim.managed_users(self.client)
        if request.GET.get("filter"):
            queryset = queryset.filter(filters.user_query(self.client, request.GET["filter"]))
        return self.listed(queryset, self._present)

    def _present(self, users):
        identities = scim.identities_for(self.client, users)
        return [resources.user_resource(user, identities[user.pk], self.base) for user in users]

    def post(self, request):
        resource = resources.user_parse(self.body(), replacing=False)
        fields = resources.user_fields(resource, active_default=True)
        identity = scim.user_provision(client=self.client, fields=fields)
        created = resources.user_resource(identity.user, identity, self.base)
        return respond(self.shown(created), status=201, Location=created.meta.location)


class UserView(ScimEndpoint):
    def identity(self, user_id: str):
        identity = scim.identity_for(self.client, user_id)
        if identity is None:
            raise ScimFailure(404, f"No user {user_id} is provisioned by this client.")
        return identity

    def current(self, identity):
        return resources.user_resource(identity.user, identity, self.base)

    def get(self, request, user_id: str):
        return respond(self.shown(self.current(self.identity(user_id))))

    def put(self, request, user_id: str):
        identity = self.identity(user_id)
        resource = resources.user_parse(self.body(), replacing=True)
        return self._store(identity, resources.user_fields(resource, active_default=identity.user.is_active))

    def patch(self, request, user_id: str):
        identity = self.identity(user_id)
        patched = resources.user_patched(self.current(identity), self.body())
        return self._store(identity, resources.user_fields(patched, active_default=identity.user.is_active))

    def _store(self, identity, fields) -> HttpResponse:
        identity = scim.user_replace(client=self.client, identity=identity, fields=fields)
        identity.user.refresh_from_db()
        return respond(self.shown(self.current(identity)))

    def delete(self, request, user_id: str):
        scim.user_delete(client=self.client, identity=self.identity(user_id))
        return HttpResponse(status=204)


# --- groups -------------------------------------------------------------------------------------------


class GroupsView(ScimEndpoint):
    def get(self, request):
        queryset = scim.groups_of(self.client)
        if request.GET.get("filter"):
            queryset = queryset.filter(filters.group_query(self.client, request.GET["filter"])).distinct()
        return self.listed(queryset, lambda groups: [resources.group_resource(g, self.base) for g in groups])

    def post(self, request):
        resource = resources.group_parse(self.body(), replacing=False)
        group = scim.group_create(client=self.client, fields=resources.group_fields(resource))
        created = resources.group_resource(group, self.base)
        return respond(self.shown(created), status=201, Location=created.meta.location)


class GroupView(ScimEndpoint):
    def group(self, group_id: str):
        number = scim.parse_id(group_id)
        group = scim.groups_of(self.client).filter(pk=number).first() if number is not None else None
        if group is None:
            raise ScimFailure(404, f"No group {group_id} is provisioned by this client.")
        return group

    def get(self, request, group_id: str):
        return respond(self.shown(resources.group_resource(self.group(group_id), self.base)))

    def put(self, request, group_id: str):
        group = self.group(group_id)
        resource = resources.group_parse(self.body(), replacing=True)
        return self._store(group, resources.group_fields(resource))

    def patch(self, request, group_id: str):
        group = self.group(group_id)
        patched = resources.group_patched(resources.group_resource(group, self.base), self.body())
        return self._store(group, resources.group_fields(patched))

    def _store(self, group, fields) -> HttpResponse:
        group = scim.group_replace(client=self.client, group=group, fields=fields)
        return respond(self.shown(resources.group_resource(group, self.base)))

    def delete(self, request, group_id: str):
        scim.group_delete(client=self.client, group=self.group(group_id))
        return HttpResponse(status=204)
