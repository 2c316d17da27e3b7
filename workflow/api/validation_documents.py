"""``/api/v1/models/{name}/versions/{version}/validation-document/``: the version's validation document.

GET (anyone who may see the version): the template's sections with the text, commentary and challenge
notes written in each, notes per check run, the rating and its conditions, the revision and its content
digest, and what keeps it from being complete. PATCH writes the parts given; PUT writes the whole document
(parts not given are emptied). Writing is the second line's (validators of the model's team, risk
officers, administrators) and never the version's submitter or the model's owner: 403 otherwise.
``base_revision`` (optional) refuses a write on top of a revision saved meanwhile (409).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import inputs
from config.api.query import StrictQueryParameters
from registry import selectors as registry_selectors
from workflow.models import Rating
from workflow.services import validation_documents as documents

TEXT = {"allow_blank": True, "max_length": documents.MAX_TEXT}


class SectionInput(inputs.Input):
    text = serializers.CharField(required=False, **TEXT)
    commentary = serializers.CharField(required=False, **TEXT)
    challenge = serializers.CharField(required=False, **TEXT)


class NoteInput(inputs.Input):
    commentary = serializers.CharField(required=False, **TEXT)
    challenge = serializers.CharField(required=False, **TEXT)


class ConditionInput(inputs.Input):
    text = serializers.CharField(max_length=documents.MAX_CONDITION_TEXT)
    due = serializers.DateField()


class DocumentInput(inputs.Input):
    sections = serializers.DictField(
        child=SectionInput(),
        required=False,
        help_text="Section key → {text, commentary, challenge} (Markdown).",
    )
    check_notes = serializers.DictField(
        child=NoteInput(), required=False, help_text="Check-run id → {commentary, challenge} (Markdown)."
    )
    rating = serializers.ChoiceField(choices=["", *Rating.values], allow_blank=True, required=False)
    conditions = serializers.ListField(
        child=ConditionInput(), max_length=documents.MAX_CONDITIONS, required=False
    )
    base_revision = serializers.IntegerField(
        min_value=0, max_value=2_000_000_000, required=False, help_text="The revision your edit starts from."
    )


class SectionOutput(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    guidance = serializers.CharField()
    required = serializers.BooleanField()
    live_blocks = serializers.JSONField()
    text = serializers.CharField()
    commentary = serializers.CharField()
    challenge = serializers.CharField()


class DocumentOutput(serializers.Serializer):
    model = serializers.CharField()
    version = serializers.IntegerField()
    title = serializers.CharField()
    revision = serializers.IntegerField(help_text="0 while nothing has been written.")
    content_sha256 = serializers.CharField(allow_blank=True)
    rating = serializers.CharField(allow_blank=True)
    conditions = serializers.JSONField()
    sections = SectionOutput(many=True)
    check_notes = serializers.JSONField()
    complete = serializers.BooleanField()
    missing = serializers.ListField(child=serializers.CharField())
    updated_by = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)
    can_author = serializers.BooleanField()


class ValidationDocumentView(StrictQueryParameters, APIView):
    """The validation document of a model version."""

    error_statuses = (404,)  # a model or version the caller cannot see

    def _version(self, request, name: str, version: int):
        model = registry_selectors.model_get(user=request.user, name=name)
        return get_object_or_404(
            registry_selectors.version_list(user=request.user, model=model), version=version
        )

    @extend_schema(responses={200: DocumentOutput})
    def get(self, request, name: str, version: int):
        found = self._version(request, name, version)
        return Response(_output(request.user, found))

    @extend_schema(request=DocumentInput, responses={200: DocumentOutput})
    def patch(self, request, name: str, version: int):
        return self._write(request, name, version, replace=False)

    @extend_schema(request=DocumentInput, responses={200: DocumentOutput})
    def put(self, request, name: str, version: int):
        return self._write(request, name, version, replace=True)

    def _write(self, request, name: str, version: int, *, replace: bool):
        found = self._version(request, name, version)
        body = DocumentInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        if replace:
            data = _whole(found, data)
        documents.validation_document_save(
            actor=request.user,
            version=found,
            sections=data.get("sections"),
            check_notes=data.get("check_notes"),
            rating=data.get("rating"),
            conditions=data.get("conditions"),
            base_revision=data.get("base_revision"),
        )
        return Response(_output(request.user, found))


def _whole(version, data: dict) -> dict:
    """A PUT's body as a full write: sections, notes, rating and conditions not given are emptied."""
    document = documents.document_of(version)
    _, sections = documents.sections_of(version, document)
    given = data.get("sections") or {}
    data["sections"] = {
        section["key"]: {name: given.get(section["key"], {}).get(name, "") for name in documents.TEXT_FIELDS}
        for section in sections
    } | {key: value for key, value in given.items() if key not in {s["key"] for s in sections}}
    notes = dict(data.get("check_notes") or {})
    for note in document.content.get("check_notes", []) if document else []:
        notes.setdefault(str(note["run"]), {"commentary": "", "challenge": ""})
    data["check_notes"] = notes
    data.setdefault("rating", "")
    data.setdefault("conditions", [])
    return data


def _output(user, version) -> dict:
    document = documents.document_of(version)
    title, sections = documents.sections_of(version, document)
    content = document.content if document is not None else documents.empty_content(sections)
    texts = {item["key"]: item for item in content.get("sections", [])}
    missing = documents.missing_items(version, document)
    return {
        "model": version.model.name,
        "version": version.version,
        "title": title,
        "revision": document.revision if document else 0,
        "content_sha256": document.content_sha256 if document else "",
        "rating": content.get("rating", ""),
        "conditions": content.get("conditions", []),
        "sections": [
            {
                "key": section["key"],
                "title": section["title"],
                "guidance": section.get("guidance", ""),
                "required": bool(section.get("required")),
                "live_blocks": section.get("live_blocks", []),
                **{name: texts.get(section["key"], {}).get(name, "") for name in documents.TEXT_FIELDS},
            }
            for section in sections
        ],
        "check_notes": content.get("check_notes", []),
        "complete": not missing,
        "missing": missing,
        "updated_by": document.updated_by.get_username() if document else None,
        "updated_at": document.updated_at if document else None,
        "can_author": documents.may_author(user, version),
    }
