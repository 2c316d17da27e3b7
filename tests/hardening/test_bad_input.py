"""The bad-input corpus: every write endpoint of the API, each hostile input → 4xx with the error body, and
nothing written (every table's row count, the audit log included, is what it was).

The endpoints come from the OpenAPI schema, so a new endpoint is covered the day it is added; a path
parameter this file cannot fill fails the test until a resolver is added to ``PATH_VALUES``. Bodies are
built from each operation's request schema with every field set to the hostile value (nested objects and
JSON fields included), and sent as JSON or, for upload endpoints, as multipart with the hostile archive in
every file field. Issue 13, finding 4; the focused tests beside this file pin each refusal's message.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection, transaction
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from accounts.services import accounts, grants
from reports.models import GrcConnector
from tests.factories import UserFactory
from tests.registry.conftest import make_dataset, make_dataset_version, make_model, make_version
from workflow.models import WebhookEndpoint
from workflow.services import findings, reviews

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch", "delete")
# Tables a refused request may legitimately touch: none. (Sessions are written by the sign-in of the
# test client before any request is counted.)
UNCOUNTED_TABLES = {"django_session"}
MIB = 1024 * 1024


# ---------------------------------------------------------------------------------------------- corpus


@dataclass(frozen=True)
class Hostile:
    """One hostile input: the value put in every field of a JSON body (``json_value``), the raw JSON body
    (``raw``), the text put in every multipart field and the file put in every file field."""

    name: str
    json_value: Callable[[dict], Any] | None = None
    raw: str | None = None
    form_text: str | None = None
    file: Callable[[], bytes] | None = None
    # only hostile in numeric fields: an operation without one is not sent it (a huge number in a text
    # field is a text, which the endpoint may rightly accept)
    numeric_only: bool = False


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _zip_bomb() -> bytes:
    """64 MiB of spaces as schema.json, deflated to about 64 KB: a thousandfold inflation."""
    buffer = io.BytesIO()
    archive = zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    with archive, archive.open("schema.json", "w", force_zip64=True) as stream:
        for _ in range(64):
            stream.write(b" " * MIB)
    return buffer.getvalue()


OMIT = object()


def _typed(value_for_string: Any, value_for_number: Any) -> Callable[[dict], Any]:
    def value(schema: dict) -> Any:
        kind = schema.get("type")
        if kind in ("integer", "number"):
            return value_for_number
        if value_for_string is OMIT:
            return OMIT
        if kind == "boolean":
            return value_for_number if value_for_number is not None else value_for_string
        if kind == "array":
            return [value(schema.get("items") or {})]
        if kind == "object" or not kind:
            return {value_for_string if isinstance(value_for_string, str) else "key": value_for_string}
        return value_for_string

    return value


CORPUS = [
    Hostile("deep-json", raw="[" * 100_000 + "]" * 100_000, form_text="[" * 5_000 + "]" * 5_000),
    Hostile("nul", json_value=_typed("a\x00b", "a\x00b"), form_text='{"k": "a\\u0000b"}'),
    Hostile("lone-surrogate", json_value=_typed("a\ud800b", "a\ud800b"), form_text='{"k": "a\\ud800b"}'),
    Hostile("huge-number", json_value=_typed(OMIT, 10**30), numeric_only=True),
    Hostile("huge-float", raw='{"x": 1e999}', form_text="1e999"),
    Hostile("over-long-string", json_value=_typed("x" * (256 * 1024 + 1), "x" * (256 * 1024 + 1))),
    Hostile("wrong-type", json_value=_typed({"nested": [[{}]]}, {"nested": [[{}]]}), form_text="[{}]"),
    Hostile("schema-json-zip", file=lambda: _zip({"schema.json": b'{"protocol": 1}'})),
    Hostile("zip-bomb", file=_zip_bomb),
]


# -------------------------------------------------------------------------------------- the endpoints


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    media_types: tuple[str, ...]
    schema: dict
    anonymous: bool

    @property
    def multipart_only(self) -> bool:
        return self.media_types == ("multipart/form-data",)

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


def _api_schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    for combinator in ("allOf", "oneOf", "anyOf"):
        if schema.get(combinator):
            schema = {
                **_resolve(schema[combinator][0], components),
                **{k: v for k, v in schema.items() if k != combinator},
            }
    return schema


def write_operations() -> list[Operation]:
    document = _api_schema()
    components = document.get("components", {}).get("schemas", {})
    found = []
    for path, operations in document["paths"].items():
        for method in WRITE_METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            content = (operation.get("requestBody") or {}).get("content", {})
            media = tuple(content)
            body_schema = (
                _resolve(next(iter(content.values()), {}).get("schema", {}), components) if content else {}
            )
            body_schema = _expand(body_schema, components)
            anonymous = {} in operation.get("security", [{"default": []}])
            found.append(Operation(method, path, media, body_schema, anonymous))
    return found


def _expand(schema: dict, components: dict, depth: int = 0) -> dict:
    """Resolve references inside the body schema (a few levels: enough to reach every field)."""
    schema = _resolve(schema, components)
    if depth > 4:
        return schema
    if "properties" in schema:
        schema = {
            **schema,
            "properties": {k: _expand(v, components, depth + 1) for k, v in schema["properties"].items()},
        }
    if "items" in schema:
        schema = {**schema, "items": _expand(schema["items"], components, depth + 1)}
    return schema


# ---------------------------------------------------------------------------------------------- world


@pytest.fixture
def world(credit_risk, fraud, tmp_path):
    """One of everything a write endpoint's path can name, made through services (or rows, where a
    service would need a whole workflow first)."""
    admin = UserFactory(username="admin", role="admin", teams=[credit_risk], is_superuser=True)
    maya = UserFactory(username="maya", role="ml-engineer", teams=[credit_risk])
    model = make_model(maya, credit_risk)
    version = make_version(maya, model)
    dataset = make_dataset(maya, credit_risk)
    make_dataset_version(maya, dataset)
    token, _ = accounts.token_create(actor=admin, name="corpus")
    webhook = WebhookEndpoint.objects.create(
        url="https://127.0.0.1/hook", events=[], secret="whsec_x", created_by=admin
    )
    connector = GrcConnector.objects.create(
        name="grc", kind="webhook", url="https://127.0.0.1/grc", events=[], created_by=admin
    )
    grant, _ = grants.grant_create(actor=admin, subject=fraud, obj=model, level="view", reason="corpus")
    finding = findings.finding_raise(actor=admin, model=model, severity="low", title="corpus")
    review = reviews.review_open(actor=admin, model=model)
    ids = {
        "webhooks": webhook.pk,
        "grc-connectors": connector.pk,
        "grants": grant.pk,
        "findings": finding.pk,
        "reviews": review.pk,
    }
    return {
        "admin": admin,
        "model": model,
        "version": version,
        "dataset": dataset,
        "token": token,
        "ids": ids,
    }


# A path parameter's value, from the world and the path around it. An id whose resource this world
# does not hold (approvals, deployments, tier changes, monitoring plans) is one that does not exist:
# those requests are still sent and must still be 4xx, they just stop at the lookup.
MISSING_ID = 2_000_000_000


def path_value(name: str, path: str, world: dict) -> str:
    resource = path.removeprefix("/api/v1/").split("/", 1)[0]
    values = {
        "model_name": world["model"].name,
        "name": world["model"].name if resource == "models" and "aliases" not in path else "champion",
        "dataset_name": world["dataset"].name,
        "approval_pk": str(MISSING_ID),
        "token_key": world["token"].token_key,
        "finding_pk": str(world["ids"]["findings"]),
        "milestone_pk": str(MISSING_ID),
        "version": str(world["version"].version),
        "id": str(world["ids"].get(resource, MISSING_ID)),
    }
    if name not in values:
        pytest.fail(f"No value for the path parameter {{{name}}} of {path}: add one to path_value()")
    return values[name]


def fill_path(operation: Operation, world: dict, override: str | None = None) -> str:
    path = operation.path
    for segment in path.split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            value = override if override is not None else path_value(segment[1:-1], operation.path, world)
            path = path.replace(segment, value, 1)
    return path


# ------------------------------------------------------------------------------------------- requests


def json_body(schema: dict, value: Callable[[dict], Any]) -> Any:
    properties = schema.get("properties")
    if not properties:
        return {"field": value({"type": "string"}), "config": value({})}
    body = {
        name: _field_value(field, value) for name, field in properties.items() if not field.get("readOnly")
    }
    return {name: item for name, item in body.items() if item is not OMIT}


def has_numeric_field(schema: dict) -> bool:
    if schema.get("type") in ("integer", "number"):
        return True
    children = [*(schema.get("properties") or {}).values(), schema.get("items") or {}]
    return any(has_numeric_field(child) for child in children if child)


def _field_value(field: dict, value: Callable[[dict], Any]) -> Any:
    if field.get("type") == "object" and field.get("properties"):
        return json_body(field, value)
    return value(field)


def multipart_body(schema: dict, hostile: Hostile) -> dict:
    body = {}
    for name, field in (schema.get("properties") or {}).items():
        if field.get("format") == "binary":
            content = hostile.file() if hostile.file else b"plain bytes"
            body[name] = io.BytesIO(content)
            body[name].name = f"{name}.skops"
        elif hostile.form_text is not None:
            body[name] = hostile.form_text
    return body


# Uploads whose file is kept as opaque bytes (stored by SHA-256, never unpacked or parsed) and whose body
# has no other field: no entry of the corpus makes such a body hostile (a zip is a legitimate attachment).
OPAQUE_UPLOADS = frozenset({"POST /api/v1/findings/{finding_pk}/attachments/"})


def _nothing_hostile(operation: Operation) -> bool:
    fields = (operation.schema.get("properties") or {}).values()
    return str(operation) in OPAQUE_UPLOADS and all(field.get("format") == "binary" for field in fields)


def send(client: Client, operation: Operation, path: str, hostile: Hostile):
    method = getattr(client, operation.method)
    if operation.multipart_only or (hostile.file and "multipart/form-data" in operation.media_types):
        if (hostile.file is None and hostile.form_text is None) or _nothing_hostile(operation):
            return None
        return client.generic(
            operation.method.upper(), path, **_multipart(multipart_body(operation.schema, hostile))
        )
    if hostile.raw is not None:
        return method(path, data=hostile.raw.encode(), content_type="application/json")
    if hostile.json_value is None:
        return None
    text = json.dumps(json_body(operation.schema, hostile.json_value), ensure_ascii=True)
    return method(path, data=text.encode(), content_type="application/json")


def _multipart(body: dict) -> dict:
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    return {"data": encode_multipart(BOUNDARY, body), "content_type": MULTIPART_CONTENT}


def row_counts() -> dict[str, int]:
    tables = sorted(set(connection.introspection.table_names()) - UNCOUNTED_TABLES)
    query = " UNION ALL ".join(f"SELECT %s, count(*) FROM {connection.ops.quote_name(t)}" for t in tables)
    with connection.cursor() as cursor:
        cursor.execute(query, tables)
        return dict(cursor.fetchall())


def exchanges(client: Client, operations: list[Operation], world: dict, hostile: Hostile) -> Iterator[str]:
    """Send ``hostile`` to every operation; yield a line for each answer that breaks the rules."""
    for operation in operations:
        if not operation.media_types:
            continue  # takes no body (sign out, deletions): the path corpus below covers them
        if hostile.numeric_only and not has_numeric_field(operation.schema):
            continue
        yield from _exchange(client, operation, fill_path(operation, world), hostile)


def _exchange(client: Client, operation: Operation, path: str, hostile: Hostile) -> Iterator[str]:
    before = row_counts()
    savepoint = transaction.savepoint()
    try:
        response = send(_client_for(client, operation), operation, path, hostile)
        if response is None:
            return
        problem = _judge(response)
        changed = {t: (n, after) for t, after in row_counts().items() if (n := before.get(t)) != after}
    finally:
        transaction.savepoint_rollback(savepoint)
    if problem:
        yield f"{operation} [{hostile.name}]: {problem}"
    if changed:
        yield f"{operation} [{hostile.name}]: wrote rows {changed}"


_ANONYMOUS = Client(raise_request_exception=False)


def _client_for(client: Client, operation: Operation) -> Client:
    return _ANONYMOUS if operation.anonymous else client


def _judge(response) -> str | None:
    if not 400 <= response.status_code < 500:
        return f"answered {response.status_code}: {response.content[:300]!r}"
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return f"answered {response.status_code} without the error body: {response.content[:200]!r}"
    if not {"code", "message", "fields"} <= set(error):
        return f"answered {response.status_code} with an incomplete error body: {error}"
    return None


OPERATIONS = write_operations()


def test_the_schema_lists_the_write_endpoints():
    assert len(OPERATIONS) >= 40
    assert {"POST /api/v1/checks/", "POST /api/v1/auth/token/", "POST /api/v1/lineage/"} <= {
        str(o) for o in OPERATIONS
    }


@pytest.mark.parametrize("hostile", CORPUS, ids=[hostile.name for hostile in CORPUS])
def test_every_write_endpoint_refuses_the_input_with_4xx_and_writes_nothing(world, hostile):
    client = Client(raise_request_exception=False)
    client.force_login(world["admin"])
    failures = list(_all_exchanges(client, world, hostile))
    assert not failures, "\n".join(failures)


def _all_exchanges(client: Client, world: dict, hostile: Hostile) -> Iterator[str]:
    yield from exchanges(client, OPERATIONS, world, hostile)


@pytest.mark.parametrize(
    "value", ["%00", str(10**30), "%ED%A0%80", quote("x" * 2000)], ids=["nul", "huge", "surrogate", "long"]
)
def test_every_write_endpoint_refuses_a_hostile_path_parameter_with_4xx_and_writes_nothing(world, value):
    client = Client(raise_request_exception=False)
    client.force_login(world["admin"])
    failures = []
    for operation in OPERATIONS:
        if "{" not in operation.path:
            continue
        path = fill_path(operation, world, override=value)
        hostile = Hostile("path", raw="{}")
        failures.extend(_exchange(client, operation, path, hostile))
    assert not failures, "\n".join(failures)
