"""``/api/v1/models/{name}/versions/`` and ``/aliases/``: artifact upload, detail, download, lineage."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts import access
from config.api import inputs
from config.api.viewsets import ScopedViewSet
from registry import graph, selectors
from registry.api.common import (
    METADATA_HELP,
    ObjectField,
    StringMapField,
    UploadViewSetMixin,
    received_upload,
    upload_fields,
    upload_request,
)
from registry.api.references import dataset_reference_field, dataset_version_named, model_version_named
from registry.models import ModelAlias, ModelVersion
from registry.models.lineage import EdgeKind
from registry.references import DATASET_REFERENCE_HELP, MODEL_FORMS
from registry.services import versions as version_services

DOWNLOAD_BLOCK_BYTES = 1024 * 1024


class VersionOutput(serializers.Serializer):
    model = serializers.CharField(source="model.name")
    version = serializers.IntegerField()
    status = serializers.CharField()
    artifact = serializers.SerializerMethodField()
    framework = serializers.CharField()
    framework_version = serializers.CharField()
    description = serializers.CharField()
    source = serializers.CharField()
    run_id = serializers.CharField()
    run_link = serializers.CharField()
    tags = serializers.DictField(child=serializers.CharField())
    signature = serializers.JSONField()
    source_repository = serializers.CharField()
    source_commit = serializers.CharField()
    parameters = serializers.JSONField()
    metrics = serializers.JSONField()
    bundle = serializers.SerializerMethodField()
    aliases = serializers.SerializerMethodField()
    training_datasets = serializers.SerializerMethodField()
    validation_datasets = serializers.SerializerMethodField()
    parent = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()

    def get_artifact(self, version) -> dict:
        return {
            "sha256": version.artifact_sha256,
            "size": version.artifact_size,
            "filename": version.artifact_filename,
            "format": version.artifact_format,
            "executable": version.artifact_executable,
            "details": version.artifact_details,
        }

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "description": "An LLM application's bundle: {schema, digest, component_digests, components} "
            "(docs/LLM.md); null for a version with an artifact.",
        }
    )
    def get_bundle(self, version) -> dict | None:
        return version.bundle or None

    def get_aliases(self, version) -> list[str]:
        return [alias.name for alias in version.aliases.all()]

    def _datasets(self, version, kind: str) -> list[dict]:
        return [
            {
                "dataset": e.src_dataset.dataset.name,
                "version": e.src_dataset.version,
                "sha256": e.src_dataset.file_sha256,
            }
            for e in version.input_edges
            if e.kind == kind
        ]

    def get_training_datasets(self, version) -> list[dict]:
        return self._datasets(version, EdgeKind.TRAINED_ON)

    def get_validation_datasets(self, version) -> list[dict]:
        return self._datasets(version, EdgeKind.VALIDATED_ON)

    def get_parent(self, version) -> dict | None:
        for edge in version.input_edges:
            if edge.kind == EdgeKind.PARENT:
                return {"model": edge.src_version.model.name, "version": edge.src_version.version}
        return None


LINEAGE_DEPTH = OpenApiParameter(
    "depth",
    {"type": "integer", "minimum": 1, "maximum": graph.MAX_DEPTH},
    description=f"1 to {graph.MAX_DEPTH}, default 2",
)


class VersionUploadMetadata(inputs.Input):
    """A version's fields beside its artifact: the ``metadata`` part's members, or the older form's fields."""

    sha256 = serializers.RegexField(
        r"^[0-9a-fA-F]{64}$", required=False, help_text="Checked against the bytes."
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    source = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    run_id = serializers.CharField(required=False, allow_blank=True, max_length=200)
    run_link = serializers.URLField(required=False, allow_blank=True, max_length=1000)
    tags = StringMapField(required=False)
    signature = ObjectField(required=False)
    framework = serializers.CharField(required=False, allow_blank=True, max_length=100)
    framework_version = serializers.CharField(required=False, allow_blank=True, max_length=50)
    source_repository = serializers.CharField(required=False, allow_blank=True, max_length=500)
    source_commit = serializers.CharField(required=False, allow_blank=True, max_length=64)
    parameters = ObjectField(required=False)
    metrics = ObjectField(required=False)
    training_datasets = serializers.ListField(
        child=dataset_reference_field(), required=False, max_length=100, help_text=DATASET_REFERENCE_HELP
    )
    validation_datasets = serializers.ListField(
        child=dataset_reference_field(), required=False, max_length=100, help_text=DATASET_REFERENCE_HELP
    )
    parent = serializers.CharField(
        required=False,
        max_length=200,
        help_text=f"A version number of this model, or a model version: {MODEL_FORMS}.",
    )


class ModelVersionViewSet(
    UploadViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet
):
    """Versions of one model. Create is a multipart upload with the file in field ``artifact`` and the
    other fields in one JSON part ``metadata`` (or, the older form, as separate form fields)."""

    class Input(inputs.Input):
        """The artifact, and the version's fields as one JSON part (the artifact alone sets none)."""

        artifact = serializers.FileField(help_text="The model file.")
        metadata = VersionUploadMetadata(required=False, help_text=METADATA_HELP)

    class FormInput(VersionUploadMetadata):
        """The older form, still read though not in the schema: a multipart field per member (objects as
        JSON text, lists as repeated fields)."""

        artifact = serializers.FileField(help_text="The model file.")

    selector = staticmethod(selectors.version_list)
    serializer_class = VersionOutput
    parser_classes = [MultiPartParser]
    lookup_field = "version"
    lookup_value_regex = "[0-9]+"
    ordering_fields = ["version", "created_at"]
    ordering = ["-version"]
    filterset_fields = ["artifact_format", "run_id"]
    search_fields = ["description", "run_id", "source_commit"]

    @staticmethod
    def upload_max_bytes() -> int:
        return settings.ATTEST_MAX_ARTIFACT_BYTES

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no URL kwargs
            return ModelVersion.objects.none()
        return selectors.version_list(user=self.request.user, model=self.parent_model())

    def parent_model(self):
        if not hasattr(self, "_parent_model"):
            self._parent_model = selectors.model_get(user=self.request.user, name=self.kwargs["model_name"])
        return self._parent_model

    @extend_schema(
        request={"multipart/form-data": upload_request(Input)},
        responses={201: VersionOutput, 200: VersionOutput},
    )
    def create(self, request, model_name=None):
        model = self.parent_model()
        access.require(request.user, "change", model)  # before the body is read
        upload = received_upload(request, "artifact")
        data = upload_fields(
            request, file_field="artifact", metadata_input=VersionUploadMetadata, form_input=self.FormInput
        )
        declared = data.pop("sha256", "")
        metadata = version_services.VersionMetadata(
            training_datasets=_datasets(request.user, data.pop("training_datasets", []), "training_datasets"),
            validation_datasets=_datasets(
                request.user, data.pop("validation_datasets", []), "validation_datasets"
            ),
            parent=_parent(request.user, model.name, data.pop("parent", "")),
            **data,
        )
        version, created = version_services.model_version_submit(
            actor=request.user, model=model, upload=upload, declared_sha256=declared, metadata=metadata
        )
        body = VersionOutput(self.get_queryset().get(pk=version.pk)).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"])
    def download(self, request, model_name=None, version=None):
        found = self.get_object()
        blob = version_services.model_version_download(actor=request.user, version=found)
        response = FileResponse(
            blob,
            as_attachment=True,
            filename=found.artifact_filename,
            content_type="application/octet-stream",
        )
        response.block_size = DOWNLOAD_BLOCK_BYTES
        response["ETag"] = f'"sha256:{found.artifact_sha256}"'
        response["X-Checksum-SHA256"] = found.artifact_sha256
        return response

    @extend_schema(parameters=[LINEAGE_DEPTH])
    @action(detail=True, methods=["get"])
    def lineage(self, request, model_name=None, version=None):
        return Response(
            graph.lineage_graph(user=request.user, root=self.get_object(), depth=lineage_depth(request))
        )


def lineage_depth(request) -> int:
    raw = request.query_params.get("depth", "2")
    if not raw.isdigit() or not 1 <= int(raw) <= graph.MAX_DEPTH:
        raise serializers.ValidationError({"depth": [f"Give a whole number from 1 to {graph.MAX_DEPTH}."]})
    return int(raw)


def _datasets(user, references: list[str], field: str):
    return [dataset_version_named(user, reference, field) for reference in references]


def _parent(user, model_name: str, reference: str) -> ModelVersion | None:
    if not reference:
        return None
    if reference.isdigit():
        parent = model_version_named(user, model_name, int(reference), field="parent")
    else:
        parent = model_version_named(user, reference, field="parent")
    if parent is None:
        raise serializers.ValidationError({"parent": [f"Unknown version {reference!r}."]})
    return parent


class AliasOutput(serializers.Serializer):
    alias = serializers.CharField(source="name")
    model = serializers.CharField(source="model.name")
    version = serializers.IntegerField(source="version.version")
    updated_by = serializers.CharField(source="updated_by.username")
    updated_at = serializers.DateTimeField()


class ModelAliasViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Aliases (``champion``, ``challenger``, …): PUT ``{"version": N}`` moves one, DELETE removes it."""

    class Input(inputs.Input):
        version = serializers.IntegerField(min_value=1)

    selector = staticmethod(selectors.alias_list)
    serializer_class = AliasOutput
    lookup_field = "name"
    lookup_value_regex = r"[A-Za-z0-9_-]+"
    filter_backends: list = []
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ModelAlias.objects.none()
        model = selectors.model_get(user=self.request.user, name=self.kwargs["model_name"])
        self.parent_model = model
        return selectors.alias_list(user=self.request.user, model=model)

    @extend_schema(request=Input, responses={200: AliasOutput})
    def update(self, request, model_name=None, name=None):
        self.get_queryset()
        model = self.parent_model
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        target = selectors.version_by_reference(
            user=request.user, model_name=model.name, version=serializer.validated_data["version"]
        )
        if target is None:
            raise serializers.ValidationError({"version": ["This model has no such version."]})
        alias = version_services.model_alias_set(actor=request.user, model=model, alias=name, version=target)
        return Response(AliasOutput(alias).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, model_name=None, name=None):
        version_services.model_alias_remove(actor=request.user, alias=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
