"""Pieces shared by the registry API modules: upload plumbing, lookups, small serializer fields."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from config import strict_json
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


def _json_value(field: serializers.Field, data):
    """Multipart forms carry JSON as a string; JSON bodies carry the object itself."""
    if isinstance(data, bytes | str):
        try:
            return strict_json.loads(data.decode() if isinstance(data, bytes) else data)
        except strict_json.UnsafeJSON as exc:
            if exc.field:  # NUL, a lone surrogate or an over-long text inside: name where
                raise serializers.ValidationError({exc.field: [exc.message]}) from None
            field.fail("invalid")
        except ValueError:
            field.fail("invalid")
    return data


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

    With ``from_text`` (multipart forms, where every value is text) the value is read as JSON when it is
    JSON, so ``1`` is the integer 1 and ``"1"`` the text "1", and as plain text otherwise (``good``).
    """

    def __init__(self, *, from_text: bool = False, **kwargs):
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)
        self.from_text = from_text

    def to_internal_value(self, data):
        if self.from_text and isinstance(data, str):
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
