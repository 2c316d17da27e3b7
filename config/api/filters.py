"""Query filters that refuse what the OpenAPI schema says is invalid, instead of quietly ignoring it.

django-filter reads an integer filter as a decimal (``?version=0.5`` matched nothing, with a 200),
a boolean filter as "true, false or anything else means unset" (``?review_overdue=null``), and takes
the last of a repeated parameter, skips a blank date-time and fails with a 500 on an offset beyond
±24 h. The schema (drf-spectacular) declares integers, booleans, date-times and single values, so
each of those is a 400 naming the parameter.
"""

from __future__ import annotations

import re
from datetime import UTC

import django_filters
from django.db import models
from django.utils.dateparse import parse_datetime
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import get_model_field
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter, SearchFilter

_INTEGER = re.compile(r"-?[0-9]+")
_BOOLEANS = frozenset({"true", "false"})
_NON_INTEGER_FIELDS = (models.DecimalField, models.FloatField)


class StrictFilterBackend(DjangoFilterBackend):
    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            _refuse_malformed(filterset, request.query_params)
        return filterset


def _refuse_malformed(filterset, params) -> None:
    errors: dict[str, list[str]] = {}
    for name, query_filter in filterset.filters.items():
        values = params.getlist(name)
        if not values:
            continue
        problem = _problem(filterset, query_filter, values)
        if problem:
            errors[name] = [problem]
    if errors:
        raise ValidationError(errors)


def _problem(filterset, query_filter, values: list[str]) -> str | None:
    if len(values) > 1 and not isinstance(query_filter, django_filters.MultipleChoiceFilter):
        return "Give this parameter once."
    value = values[0]
    if isinstance(query_filter, django_filters.BooleanFilter) and value not in _BOOLEANS:
        return "Must be true or false."
    if (
        isinstance(query_filter, django_filters.NumberFilter)
        and _is_integer(filterset, query_filter)
        and not _INTEGER.fullmatch(value)
    ):
        return "A whole number is required."
    if isinstance(query_filter, django_filters.IsoDateTimeFilter | django_filters.DateTimeFilter):
        return _datetime_problem(value)
    return None


def _datetime_problem(value: str) -> str | None:
    return datetime_problem(value)


def datetime_problem(value: str) -> str | None:
    """Why ``value`` is not a date-time the API can compare with, or None (django-filter skips a blank
    value)."""
    try:
        moment = parse_datetime(value)
        if moment is not None and moment.tzinfo is not None:
            moment.astimezone(UTC)  # the year 9999 with a negative offset overflows
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        return "An ISO 8601 date and time, e.g. 2025-03-01T00:00:00Z."
    return None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """Compares in UTC: PostgreSQL refuses an offset beyond ±15:59 (a DataError, so a 500) that
    RFC 3339 and Python accept, e.g. +20:34."""

    def filter(self, qs, value):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return super().filter(qs, value)


def _is_integer(filterset, query_filter) -> bool:
    model = getattr(filterset._meta, "model", None) or filterset.queryset.model
    field = get_model_field(model, query_filter.field_name)
    # a filter on a method or an annotation has no model field: the schema calls it a number
    return field is not None and not isinstance(field, _NON_INTEGER_FIELDS)


# The API's filter backends: DEFAULT_FILTER_BACKENDS with DjangoFilterBackend made strict. Set on the
# API's base viewsets (config.api.viewsets.ScopedViewSet and the few that do not derive from it).
API_FILTER_BACKENDS = [StrictFilterBackend, OrderingFilter, SearchFilter]


# The list filters every list names the same way (docs/ARCHITECTURE.md, "List filters"): `model` is a
# model's name, `version` its version number, whatever path the list's rows take to reach them.
def model_filter(field_name: str = "model__name") -> django_filters.CharFilter:
    return django_filters.CharFilter(field_name=field_name, help_text="Model name.")


def version_filter(field_name: str = "model_version__version") -> django_filters.NumberFilter:
    return django_filters.NumberFilter(field_name=field_name, help_text="Version number (with `model`).")


def deprecated_alias(of: str, query_filter: django_filters.Filter) -> django_filters.Filter:
    """A filter's old name, still accepted and documented as deprecated (config.api.schema marks it)."""
    query_filter.extra["help_text"] = f"Deprecated: the old name of `{of}`."
    query_filter.deprecated = True
    return query_filter


class VersionRecordFilter(django_filters.FilterSet):
    """The filters of a record that belongs to a model version (approvals, deployments, evidence):
    ``model`` and ``version``, and ``model``'s old name."""

    model = model_filter("model_version__model__name")
    version = version_filter()
    model_version__model__name = deprecated_alias("model", model_filter("model_version__model__name"))
