"""Pieces shared by the registry API modules: upload plumbing, lookups, small serializer fields."""

from __future__ import annotations

import json
from collections.abc import Callable

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from registry import storage, uploads

NAME_REGEX = r"[A-Za-z0-9_-]+"
MAX_JSON_FIELD_KEYS = 1000


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
            return json.loads(data)
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
