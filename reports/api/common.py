"""Pieces shared by the reports API: subject lookups within the caller's scope, job output fields."""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts import access
from registry.api.references import model_reference
from registry.models import ModelVersion, RegisteredModel
from reports.models import Job
from workflow.api.common import visible_version


def subject_of(
    user, model_name: str | None, version: int | None
) -> tuple[RegisteredModel | None, ModelVersion | None]:
    """The model (and version) named in a request body, if the user may see them; 404 otherwise,
    exactly as for a model that does not exist. A bare name is the model itself (the version is
    optional here); ``version``, ``name:version`` or ``models:/…`` name one of its versions."""
    if not model_name:
        if version is not None:
            raise ValidationError({"model": ["Name the model of the version."]})
        return None, None
    if version is not None or not model_reference(model_name, None).is_bare_name:
        found = visible_version(user, model_name, version)
        return found.model, found
    model = access.scope(user, RegisteredModel.objects.all()).filter(name=model_name).first()
    if model is None:
        raise Http404
    return model, None


def choice(values: Sequence[str], **kwargs) -> serializers.ChoiceField:
    """A choice field documented as a string pattern rather than an enum component.

    ``kind`` and ``events`` already name other choice sets in the API (check kinds, webhook events);
    a second enum under the same property name makes drf-spectacular warn and rename both.
    """
    pattern = "^(" + "|".join(re.escape(value) for value in values) + ")$"
    schema = {"type": "string", "pattern": pattern, "description": f"One of: {', '.join(values)}."}
    field_class = extend_schema_field(schema)(type("PatternChoiceField", (serializers.ChoiceField,), {}))
    return field_class(choices=list(values), **kwargs)


class SubjectOutput(serializers.Serializer):
    """What a report or bundle is about: a model (version), a period, or both."""

    model = serializers.CharField(source="model.name", allow_null=True, default=None)
    version = serializers.IntegerField(source="model_version.version", allow_null=True, default=None)
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)
    text = serializers.CharField(source="subject_text")


class ProgressOutput(serializers.Serializer):
    stage = serializers.CharField()
    current = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.FloatField()


def progress_of(job: Job) -> dict:
    progress = job.progress or {}
    current, total = int(progress.get("current", 0)), int(progress.get("total", 0))
    percent = round(100 * current / total, 1) if total else 0.0
    if job.is_finished:
        percent = 100.0
    return {
        "stage": progress.get("stage", job.status),
        "current": current,
        "total": total,
        "percent": percent,
    }


class JobOutput(serializers.Serializer):
    """The job fields shared by reports and bundles."""

    id = serializers.IntegerField()
    subject = SubjectOutput(source="*")
    status = serializers.CharField()
    progress = serializers.SerializerMethodField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    requested_by = serializers.CharField(source="requested_by_name")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    generated_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField()

    @extend_schema_field(ProgressOutput)
    def get_progress(self, job) -> dict:
        return progress_of(job)


def attachment_headers(response, sha256: str) -> None:
    response["ETag"] = f'"sha256:{sha256}"'
    response["X-Checksum-SHA256"] = sha256
