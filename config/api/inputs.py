"""Request bodies read as their schema states them: closed, and with the JSON types declared.

DRF reads a body leniently: a member it does not know is dropped without a word (a client's typo,
``expires_in_day``, silently gives the default), and in JSON a number where a string is declared becomes
"0", 0 and 1 become booleans, "12" becomes an integer. A client sending either has a bug, and the schema
(``additionalProperties: false``, config.api.schema.close_request_bodies) promises a 400 for it; so every
request serializer derives from :class:`Input`, which refuses unknown members and checks each member's
JSON type before DRF converts it. Form and multipart bodies carry only text, so their values are
converted as before.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.http import QueryDict
from rest_framework import serializers
from rest_framework.fields import empty

from config import strict_json

# (field class, accepted JSON types, what the message calls it); the first matching class decides, so
# subclasses come before their bases (a URLField is a CharField; a BooleanField is no IntegerField, but
# a JSON true is a Python int).
_NUMBER = (int, float)
_EXPECTED: tuple[tuple[type, tuple[type, ...], str], ...] = (
    (serializers.BooleanField, (bool,), "a boolean (true or false)"),
    (serializers.IntegerField, (int,), "an integer"),
    (serializers.FloatField, _NUMBER, "a number"),
    (serializers.DecimalField, (*_NUMBER, str), "a number"),
    (serializers.MultipleChoiceField, (list,), "an array"),
    (serializers.ListField, (list,), "an array"),
    (serializers.DictField, (dict,), "an object"),
    (serializers.CharField, (str,), "a string"),
    (serializers.DateTimeField, (str,), "a string (an ISO 8601 date and time)"),
    (serializers.DateField, (str,), "a string (an ISO 8601 date)"),
    (serializers.SlugRelatedField, (str,), "a string"),
)
_JSON_NAMES = {
    bool: "a boolean",
    int: "a number",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
}


def json_type_problem(field: serializers.Field, value) -> str | None:
    """Why ``value`` (as a JSON body holds it) is not of the type ``field`` declares, or None."""
    if value is None or value is empty:
        return None  # absence and null are the field's own rules (required, allow_null)
    if isinstance(field, serializers.ChoiceField) and not isinstance(field, serializers.MultipleChoiceField):
        return _choice_problem(field, value)
    for field_class, accepted, expected in _EXPECTED:
        if isinstance(field, field_class):
            if isinstance(value, bool) and bool not in accepted:
                return _message(expected, value)
            return None if isinstance(value, accepted) else _message(expected, value)
    return None  # JSON fields, files, nested serializers (which check their own members)


def _choice_problem(field: serializers.ChoiceField, value) -> str | None:
    # A choice is compared with its keys as DRF compares them (as text); declared text choices
    # come only as JSON strings.
    if all(isinstance(key, str) for key in field.choices) and not isinstance(value, str):
        return _message("a string", value)
    return None


def _message(expected: str, value) -> str:
    given = _JSON_NAMES.get(type(value), "another type")
    return f"Must be {expected}, not {given}."


def _item_problems(field: serializers.Field, value) -> list[str]:
    """Type errors of a list's or a map's members, each prefixed with its index or key."""
    child = getattr(field, "child", None)
    if child is None or isinstance(child, serializers.Serializer):
        return []
    members = (
        enumerate(value) if isinstance(value, list) else value.items() if isinstance(value, dict) else ()
    )
    return [f"{key}: {problem}" for key, item in members if (problem := json_type_problem(child, item))]


class Input(serializers.Serializer):
    """The base of every request serializer: a JSON body's members must have their declared types."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            errors = self._unknown_members(data)
            if not isinstance(data, QueryDict):
                errors |= self._json_type_errors(data)
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)

    def _unknown_members(self, data: Mapping) -> dict[str, list[str]]:
        writable = [name for name, field in self.fields.items() if not field.read_only]
        known = ", ".join(writable)
        return {
            strict_json.printable(str(name)): [f"Unknown field; this body takes: {known}."]
            for name in data
            if name not in writable
        }

    def _json_type_errors(self, data: Mapping) -> dict[str, list[str]]:
        errors = {}
        for name, field in self.fields.items():
            if field.read_only or name not in data:
                continue
            problem = json_type_problem(field, data[name])
            problems = [problem] if problem else _item_problems(field, data[name])
            if problems:
                errors[name] = problems
        return errors
