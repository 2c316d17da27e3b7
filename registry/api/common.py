"""Pieces shared by the registry API modules: upload plumbing, lookups, small serializer fields."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Paginator
from django.http import QueryDict
from django.utils.functional import cached_property
from drf_spectacular.utils import OpenApiRequest, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from config import strict_json
from config.api import inputs
from config.api.errors import PayloadTooLarge
from config.api.pagination import PageNumberPagination
from registry import labels, storage, uploads
from registry.services import declarations

NAME_REGEX = r"[A-Za-z0-9_-]+"
MAX_JSON_FIELD_KEYS = 1000
# Lists count exactly up to this many rows (see InventoryPagination).
COUNT_CAP = 10_000


class UploadViewSetMixin:
    """Installs the hashing, size-capped upload handlers on POST before anything reads the body.

    This must happen in ``initialize_request``: session authentication's CSRF check reads
    ``request.POST``, which parses the multipart body, before the view method runs.
    """

    upload_max_bytes: Callable[[], int]

    def initialize_request(self, request, *args, **kwargs):
        if request.method == "POST" and request.content_type.startswith("multipart/"):
            uploads.install(request, max_bytes=type(self).upload_max_bytes())
        return super().initialize_request(request, *args, **kwargs)


def received_upload(request, field_name: str) -> storage.Upload:
    """The file sent in ``field_name`` with the digest computed while it streamed in."""
    received = request.FILES.get(field_name)
    digest = uploads.digest_of(request._request, field_name)
    if received is None or digest is None:
        raise ValidationError({field_name: [f"Send the file as the multipart field {field_name!r}."]})
    sha256, size = digest
    return storage.Upload(
        file=received, sha256=sha256, size=size, filename=storage.display_name(received.name, field_name)
    )


# The part of an upload that carries its fields as one JSON object, beside the file.
METADATA_PART = "metadata"
METADATA_HELP = (
    "The upload's fields as one JSON object (lists as arrays, objects as objects), sent as a part of type "
    "application/json beside the file. The older form, a multipart field per member (objects as JSON "
    "text, lists as repeated fields), is still accepted; never both (a 400 naming `metadata`)."
)
# JSON types named in messages about the metadata part as a whole
_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def upload_request(with_metadata: type[inputs.Input]) -> OpenApiRequest:
    """An upload's multipart body as the schema documents it: the file and its ``metadata`` JSON part.

    The older form (a multipart field per member) is still read but described only in words: schemathesis
    cannot generate a ``oneOf`` of two forms that hold a binary file, and new clients should not use it.
    """
    return OpenApiRequest(with_metadata, encoding={METADATA_PART: {"contentType": "application/json"}})


def upload_fields(
    request, *, file_field: str, metadata_input: type[inputs.Input], form_input: type[inputs.Input]
) -> dict:
    """An upload's validated fields, without the file: from its ``metadata`` JSON part, read by
    ``metadata_input``, or from the older per-field form, read by ``form_input``."""
    metadata = upload_metadata(request, file_field)
    serializer = form_input(data=request.data) if metadata is None else metadata_input(data=metadata)
    serializer.is_valid(raise_exception=True)
    fields = dict(serializer.validated_data)
    fields.pop(file_field, None)
    return fields


def upload_metadata(request, file_field: str) -> dict | None:
    """The ``metadata`` part's JSON object, or None when the upload sends its fields as form fields.

    The part may come as a file (``curl -F metadata=@meta.json``) or as a text field; sent beside the
    per-field form it is refused, so no field is read from two places."""
    if not isinstance(request.data, QueryDict):
        return None  # a body without a media type: DRF reads it as {}, and the form's checks refuse it
    sent = request.data.getlist(METADATA_PART)
    if not sent:
        return None
    if len(sent) > 1:
        raise ValidationError({METADATA_PART: ["Send one metadata part."]})
    others = sorted(
        strict_json.printable(name) for name in request.data if name not in (METADATA_PART, file_field)
    )
    if others:
        raise ValidationError(
            {
                METADATA_PART: [
                    "Give the fields either in the metadata part or as form fields, not both "
                    f"(also sent: {', '.join(others)})."
                ]
            }
        )
    return _metadata_object(_metadata_text(sent[0]))


def _metadata_text(part) -> str:
    if isinstance(part, str):
        return part
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # the cap of a JSON body
    raw = part.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(f"The metadata part is limited to {limit} bytes, as a JSON body is.")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError({METADATA_PART: ["Must be UTF-8 encoded JSON."]}) from None


def _metadata_object(text: str) -> dict:
    try:
        value = strict_json.loads(text)
    except strict_json.UnsafeJSON as exc:  # NUL, a lone surrogate, a too deep or too long value
        raise ValidationError({exc.field or METADATA_PART: [exc.message]}) from None
    except ValueError as exc:
        raise ValidationError({METADATA_PART: [f"Not valid JSON: {exc}"]}) from None
    if not isinstance(value, dict):
        kind = "null" if value is None else _JSON_KINDS.get(type(value), "another type")
        raise ValidationError({METADATA_PART: [f"Must be a JSON object of the upload's fields, not {kind}."]})
    return value


def _from_form(field: serializers.Field) -> bool:
    """Whether the field is read from a form, whose values are all text (a JSON body has its own types)."""
    return isinstance(getattr(field.root, "initial_data", None), QueryDict)


def _json_value(field: serializers.Field, data):
    """Multipart forms carry JSON as a string; JSON bodies (and metadata parts) carry the object itself."""
    if isinstance(data, bytes | str) and _from_form(field):
        try:
            return strict_json.loads(data.decode() if isinstance(data, bytes) else data)
        except strict_json.UnsafeJSON as exc:
            if exc.field:  # NUL, a lone surrogate or an over-long text inside: name where
                raise serializers.ValidationError({exc.field: [exc.message]}) from None
            field.fail("invalid")
        except ValueError:
            field.fail("invalid")
    return data


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
class StringMapField(serializers.JSONField):
    """A JSON object of strings (MLflow tags); a JSON string is accepted from multipart forms."""

    def to_internal_value(self, data):
        value = super().to_internal_value(_json_value(self, data))
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise serializers.ValidationError('Expected an object of strings: {"key": "value"}.')
        if len(value) > MAX_JSON_FIELD_KEYS:
            raise serializers.ValidationError(f"At most {MAX_JSON_FIELD_KEYS} entries.")
        return value


@extend_schema_field({"type": "object", "additionalProperties": {}})
class ObjectField(serializers.JSONField):
    """A JSON object (parameters, metrics, signature); a JSON string is accepted from multipart forms."""

    def to_internal_value(self, data):
        value = super().to_internal_value(_json_value(self, data))
        if not isinstance(value, dict):
            raise serializers.ValidationError("Expected a JSON object.")
        return value


LABEL_SCHEMA = {
    "oneOf": [{"type": "integer"}, {"type": "string", "maxLength": labels.MAX_LABEL_CHARS}],
    "nullable": True,
    "description": 'The target value that is the favourable outcome for the person, e.g. "good" or 1.',
}


@extend_schema_field(LABEL_SCHEMA)
class LabelField(serializers.Field):
    """A class label: an integer or a text, or null (``registry.services.declarations.favourable_label``).

    With ``from_text``, a value from a multipart form (where every value is text) is read as JSON when it
    is JSON, so ``1`` is the integer 1 and ``"1"`` the text "1", and as plain text otherwise (``good``);
    a JSON metadata part has its own types.
    """

    def __init__(self, *, from_text: bool = False, **kwargs):
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)
        self.from_text = from_text

    def to_internal_value(self, data):
        if self.from_text and isinstance(data, str) and _from_form(self):
            text = data.strip()
            try:
                data = strict_json.loads(text) if text else None
            except ValueError:
                data = text
        try:
            return declarations.favourable_label(data, self.field_name)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict[self.field_name]) from None

    def to_representation(self, value):
        return value


class CappedCountPaginator(Paginator):
    """Counts at most ``cap`` + 1 rows for the first pages, so a page of a large inventory costs the same
    as a page of a small one; pages beyond the cap (and ``page=last``) count exactly."""

    def __init__(self, *args, cap: int, requested_page: int | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.cap = cap
        self.requested_page = requested_page
        self.exact = True

    @cached_property
    def count(self) -> int:
        if self.requested_page is None or self.requested_page * self.per_page > self.cap:
            return self.object_list.count()
        # No ORDER BY and only the key: PostgreSQL stops scanning at cap + 1 matching rows.
        bounded = self.object_list.order_by().values("pk")[: self.cap + 1].count()
        self.exact = bounded <= self.cap
        return bounded


class InventoryPagination(PageNumberPagination):
    """Page-number pagination whose ``count`` is exact up to COUNT_CAP rows; past that the response says
    ``count_exact: false`` and ``count`` is a lower bound (ask for a page beyond it to get the exact count)."""

    count_cap = COUNT_CAP

    def django_paginator_class(self, queryset, page_size):  # DRF calls this like a class
        return CappedCountPaginator(queryset, page_size, cap=self.count_cap, requested_page=self._requested)

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get(self.page_query_param, "1")
        self._requested = int(raw) if raw.isdigit() else None
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["count_exact"] = self.page.paginator.exact
        return response

    def get_paginated_response_schema(self, schema):
        result = super().get_paginated_response_schema(schema)
        result["properties"]["count_exact"] = {"type": "boolean"}
        return result
