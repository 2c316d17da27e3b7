"""JSON parsing that refuses what Python's json module would quietly accept."""

from __future__ import annotations

import codecs
import io

from django.conf import settings
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser

from config import strict_json
from config.api.errors import PayloadTooLarge


def _read_capped(stream, kind: str) -> bytes:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    raw = stream.read(limit + 1) if stream is not None else b""
    if len(raw) > limit:
        raise PayloadTooLarge(f"{kind} bodies are limited to {limit} bytes.")
    return raw


def _refuse_unstorable_fields(data, files=None) -> None:
    """Form fields (names, values, file names) that PostgreSQL text could not store: 400 naming the field."""
    for name, values in data.lists():
        problem = strict_json.text_problem(name) or next(
            (found for value in values if (found := strict_json.text_problem(value))), None
        )
        if problem:
            raise ValidationError({strict_json.printable(name): [problem]})
    for name, uploads in files.lists() if files is not None else ():
        problem = next(
            (found for upload in uploads if (found := strict_json.text_problem(upload.name))), None
        )
        if problem:
            raise ValidationError({strict_json.printable(name): [f"File name: {problem}"]})


class StrictJSONParser(JSONParser):
    """Rejects NaN/Infinity literals and numbers that overflow to infinity (``1e999``), and caps the size,
    the nesting depth and the strings; NUL characters and lone surrogates are a 400 naming the field.

    The body is read from the socket, not through Django's ``request.body``, so Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE does not apply to it; the cap is enforced here instead.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        raw = _read_capped(stream, "JSON")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return strict_json.loads(codecs.decode(raw, encoding))
        except strict_json.UnsafeJSON as exc:
            if exc.field:
                raise ValidationError({exc.field: [exc.message]}) from None
            raise ParseError(exc.message) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error: {exc}") from None


class StrictFormParser(FormParser):
    """URL-encoded forms, with the JSON body's size cap and its refusal of text PostgreSQL cannot store."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = _read_capped(stream, "Form")
        data = super().parse(io.BytesIO(raw), media_type, parser_context)
        _refuse_unstorable_fields(data)
        return data


class StrictMultiPartParser(MultiPartParser):
    """Multipart forms (Django enforces the size of the text fields); their text and file names checked."""

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        _refuse_unstorable_fields(parsed.data, parsed.files)
        return parsed
