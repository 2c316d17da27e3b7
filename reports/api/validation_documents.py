"""``GET /api/v1/models/{name}/versions/{version}/validation-document/docx/``: the validation document as a
Word file, built from the same content as the validation report's PDF section (each export audited)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import renderers
from rest_framework.views import APIView

from config.api.query import StrictQueryParameters
from config.api.viewsets import JsonErrors
from registry import selectors as registry_selectors
from reports.services import validation_documents


class DocxRenderer(renderers.BaseRenderer):
    """Lets ``Accept`` name the Word type through content negotiation; errors are rendered as JSON."""

    media_type = validation_documents.DOCX_TYPE
    format = "docx"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return renderers.JSONRenderer().render(data)


class ValidationDocumentDocxView(StrictQueryParameters, JsonErrors, APIView):
    """The version's validation document as DOCX (404 when none has been written or the version is unseen)."""

    error_statuses = (404,)
    renderer_classes = [renderers.JSONRenderer, DocxRenderer]

    @extend_schema(
        responses={(200, validation_documents.DOCX_TYPE): OpenApiResponse(response=OpenApiTypes.BINARY)}
    )
    def get(self, request, name: str, version: int):
        model = registry_selectors.model_get(user=request.user, name=name)
        found = get_object_or_404(
            registry_selectors.version_list(user=request.user, model=model), version=version
        )
        data, filename = validation_documents.validation_document_docx(actor=request.user, version=found)
        response = HttpResponse(data, content_type=validation_documents.DOCX_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
