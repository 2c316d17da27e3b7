"""``/api/v1/evidence/``: documents attached to a version (multipart field ``file``), with downloads."""

from __future__ import annotations

import django_filters
from django.conf import settings
from django.http import FileResponse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from config.api import inputs
from config.api.filters import VersionRecordFilter, deprecated_alias, version_filter
from config.api.viewsets import ScopedViewSet
from registry import storage
from registry.api.common import (
    METADATA_HELP,
    UploadViewSetMixin,
    received_upload,
    upload_fields,
    upload_request,
)
from registry.api.references import model_reference_field, version_field
from workflow import selectors
from workflow.api.common import visible_version
from workflow.models import EvidenceDocument
from workflow.services import evidence as evidence_services


class EvidenceFilter(VersionRecordFilter):
    # a key, like the model name: one that names no evidence type matches nothing (not a 400)
    evidence_type = django_filters.CharFilter(field_name="evidence_type_id")
    model_version__version = deprecated_alias("version", version_filter())

    class Meta:
        model = EvidenceDocument
        fields = ["model", "version", "evidence_type", "model_version__model__name", "model_version__version"]


class EvidenceUploadMetadata(inputs.Input):
    """A document's fields beside its file: the ``metadata`` part's members, or the older form's fields."""

    model = model_reference_field()
    version = version_field()
    evidence_type = serializers.SlugField(max_length=64)
    title = serializers.CharField(max_length=300, allow_blank=True, default="")


class EvidenceViewSet(UploadViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Evidence documents. Upload: the ``file``, with ``model``, ``version``, ``evidence_type`` and ``title``
    in one JSON part ``metadata`` (or, the older form, as separate form fields)."""

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        model = serializers.CharField(source="model_version.model.name")
        version = serializers.IntegerField(source="model_version.version")
        evidence_type = serializers.CharField(source="evidence_type_id")
        title = serializers.CharField()
        file_name = serializers.CharField()
        sha256 = serializers.CharField()
        size = serializers.IntegerField()
        uploaded_by = serializers.CharField(source="uploaded_by.username")
        uploaded_at = serializers.DateTimeField()

    class Input(inputs.Input):
        """The document, and its fields as one JSON part."""

        file = serializers.FileField()
        metadata = EvidenceUploadMetadata(help_text=METADATA_HELP)

    class FormInput(EvidenceUploadMetadata):
        """The older form, still read though not in the schema: a multipart field per member."""

        file = serializers.FileField()

    selector = staticmethod(selectors.evidence_list)
    serializer_class = Output
    parser_classes = [MultiPartParser]
    filterset_class = EvidenceFilter

    @staticmethod
    def upload_max_bytes() -> int:
        return settings.ATTEST_MAX_DATASET_BYTES

    @extend_schema(
        request={"multipart/form-data": upload_request(Input)},
        responses={201: Output, 200: Output},
    )
    def create(self, request):
        data = upload_fields(
            request, file_field="file", metadata_input=EvidenceUploadMetadata, form_input=self.FormInput
        )
        version = visible_version(request.user, data["model"], data.get("version"))
        upload = received_upload(request, "file")
        existing = version.evidence.filter(sha256=upload.sha256).exists()
        document = evidence_services.evidence_add(
            actor=request.user,
            version=version,
            evidence_type=data["evidence_type"],
            title=data["title"],
            upload=upload,
        )
        return Response(
            self.Output(document).data, status=status.HTTP_200_OK if existing else status.HTTP_201_CREATED
        )

    # served with the type its file name suggests (text/markdown, application/pdf, …)
    @extend_schema(responses={(200, "*/*"): bytes})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        document = self.get_object()
        return FileResponse(
            storage.open_blob(document.file_key), as_attachment=True, filename=document.file_name
        )
