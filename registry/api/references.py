"""Request fields that name a model version or a dataset version, for every app's API
(registry.references has the syntax): parse errors are a 400 listing the accepted forms."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from registry import selectors
from registry.models import DatasetVersion, ModelVersion
from registry.references import (
    DATASET_PATTERN,
    DATASET_REFERENCE_HELP,
    MODEL_FORMS,
    MODEL_PATTERN,
    InvalidReference,
    Reference,
    parse_dataset_reference,
    parse_model_reference,
)

# the query parameter's schema: the grammar as a pattern, so schema-valid text always parses
MODEL_REFERENCE = {"type": "string", "pattern": MODEL_PATTERN, "maxLength": 200}
MODEL_FIELD_HELP = f"The model's name, with `version`; or, without `version`, a model version: {MODEL_FORMS}."


# a version column is a 32-bit integer: a larger number names no version and must not reach the database
VERSION_MAX = 2**31 - 1
VERSION_PARAMETER = {"type": "integer", "minimum": 1, "maximum": VERSION_MAX}


def version_field(**kwargs) -> serializers.IntegerField:
    """``version`` beside ``model``: optional, since ``model`` may be a whole reference."""
    kwargs.setdefault("required", False)
    kwargs.setdefault(
        "help_text", "The version number, when `model` is a bare name (without it: the newest)."
    )
    return serializers.IntegerField(min_value=1, max_value=VERSION_MAX, **kwargs)


def model_reference_field(**kwargs) -> serializers.CharField:
    """``model`` in a request body: a name next to ``version``, or a whole reference."""
    kwargs.setdefault("help_text", MODEL_FIELD_HELP)
    return _reference_field(MODEL_PATTERN, **kwargs)


def dataset_reference_field(**kwargs) -> serializers.CharField:
    kwargs.setdefault("help_text", DATASET_REFERENCE_HELP)
    return _reference_field(DATASET_PATTERN, **kwargs)


def _reference_field(pattern: str, **kwargs) -> serializers.CharField:
    """A text field documented with the grammar's pattern (empty text too, where blank is allowed)."""
    if kwargs.get("allow_blank"):
        pattern = f"^(?:{pattern[1:-1]})?$"
    schema = {"type": "string", "pattern": pattern, "maxLength": 200}
    field_class = extend_schema_field(schema)(type("ReferenceField", (serializers.CharField,), {}))
    return field_class(max_length=200, **kwargs)


def model_reference(text: str, version: int | None, field: str = "model") -> Reference:
    """``text`` (and ``version`` when given) as one reference; a 400 naming ``field`` otherwise."""
    try:
        reference = parse_model_reference(text)
    except InvalidReference as exc:
        raise ValidationError({field: [str(exc)]}) from None
    if version is None:
        return reference
    if not reference.is_bare_name:
        raise ValidationError({field: ["Give either `version` or a versioned reference, not both."]})
    return Reference(name=reference.name, version=version)


def model_version_named(user, text: str, version: int | None = None, **kwargs) -> ModelVersion | None:
    """The version that ``text`` (and ``version``) name, if the user may see it (None otherwise: the
    caller answers 404 or 400 as its endpoint does for a missing version)."""
    field = kwargs.pop("field", "model")
    return selectors.model_version_by_reference(
        user=user, reference=model_reference(text, version, field), **kwargs
    )


def dataset_version_named(user, text: str, field: str) -> DatasetVersion:
    try:
        reference = parse_dataset_reference(text)
    except InvalidReference as exc:
        raise ValidationError({field: [str(exc)]}) from None
    found = selectors.dataset_version_by_reference(user=user, reference=reference)
    if found is None:
        raise ValidationError({field: [f"No dataset version {text!r} that you can see."]})
    return found
