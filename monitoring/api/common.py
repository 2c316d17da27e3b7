"""Lookups shared by the monitoring API: references in request bodies resolved within the user's scope.

A reference the user cannot see is reported exactly like one that does not exist (400 naming the
field), so a request body cannot probe for other teams' models or datasets.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser

from accounts import access
from monitoring import checks
from registry.api.references import dataset_version_named, model_version_named
from registry.models import Dataset, DatasetVersion, ModelVersion


def version_of(user, model: str, number: int | None = None) -> ModelVersion:
    """``model`` with ``number``, or a model version reference (registry.references)."""
    version = model_version_named(user, model, number)
    if version is None:
        named = model if number is None else f"{model}:{number}"
        raise ValidationError({"model": [f"No model version {named!r} that you can see."]})
    return version


def dataset_version_of(user, reference: str | None, field: str) -> DatasetVersion | None:
    """``dataset:version`` or ``dataset`` (its newest version); None when the field is blank."""
    if not reference:
        return None
    return dataset_version_named(user, reference, field)


def check_config(kind: str, config) -> None:
    """The kind's option declarations applied to a request's ``config`` (400 naming e.g.
    ``config.options.psi_bins``), before any lookup; the service applies them again."""
    try:
        checks.check_options(kind, config or {})
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict) from None


def dataset_of(user, name: str, field: str = "dataset") -> Dataset:
    dataset = access.scope(user, Dataset.objects.all()).filter(name=name).first()
    if dataset is None:
        raise ValidationError({field: [f"No dataset {name!r} that you can see."]})
    return dataset


class DatasetVersionField(serializers.Serializer):
    """A dataset version as clients name it: ``{"dataset", "version", "sha256"}``."""

    dataset = serializers.CharField(source="dataset.name")
    version = serializers.IntegerField()
    sha256 = serializers.CharField(source="file_sha256")
    role = serializers.CharField()


class VersionRecordsMixin:
    """The records one model version imported (red-team runs, judged evaluations): nested under
    ``models/{model_name}/versions/{version}/``, the version resolved within the caller's scope (404 when it
    is not theirs), the list without the stored ``results`` (the detail has them). A subclass names its
    ``record_model``, ``max_upload_bytes``, ``Output`` and ``DetailOutput``."""

    record_model: type
    max_upload_bytes: int
    parser_classes = [MultiPartParser]
    ordering_fields = ["created_at"]
    search_fields: list[str] = []
    lookup_value_regex = r"\d+"

    @classmethod
    def upload_max_bytes(cls) -> int:  # read on the class, before the request is parsed
        return cls.max_upload_bytes

    def version(self) -> ModelVersion:
        found = model_version_named(self.request.user, self.kwargs["model_name"], int(self.kwargs["version"]))
        if found is None:
            raise Http404
        return found

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator: no URL arguments
            return self.record_model.objects.none()
        queryset = super().get_queryset().filter(model_version=self.version())
        return queryset.defer("results") if self.action == "list" else queryset

    def get_serializer_class(self):
        return self.Output if self.action == "list" else self.DetailOutput
