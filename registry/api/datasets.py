"""``/api/v1/datasets/``: datasets and their versions (multipart upload in field ``file``)."""

from __future__ import annotations

import django_filters
from django.conf import settings
from django.http import FileResponse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts import access
from config.api import inputs
from config.api.filters import deprecated_alias
from config.api.viewsets import ScopedViewSet
from registry import graph, selectors
from registry.api.common import (
    METADATA_HELP,
    NAME_REGEX,
    InventoryPagination,
    LabelField,
    UploadViewSetMixin,
    received_upload,
    upload_fields,
    upload_request,
)
from registry.api.versions import DOWNLOAD_BLOCK_BYTES, LINEAGE_DEPTH, lineage_depth
from registry.models.datasets import Dataset, DatasetRole, DatasetVersion
from registry.services import datasets as dataset_services


class DatasetOutput(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    team = serializers.CharField(source="team.name")
    owner = serializers.CharField(source="owner.username")
    lineage_namespace = serializers.CharField()
    lineage_name = serializers.CharField()
    latest_version = serializers.IntegerField(allow_null=True)
    version_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class DatasetFilter(django_filters.FilterSet):
    """``team`` and ``owner`` by name, as on the models list."""

    team = django_filters.CharFilter(field_name="team__name", help_text="Team name.")
    owner = django_filters.CharFilter(field_name="owner__username", help_text="Owner's username.")
    team__name = deprecated_alias("team", django_filters.CharFilter(field_name="team__name"))
    owner__username = deprecated_alias("owner", django_filters.CharFilter(field_name="owner__username"))

    class Meta:
        model = Dataset
        fields = ["team", "owner", "team__name", "owner__username"]


class DatasetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Datasets owned by the caller's teams (all of them for auditors, risk officers and admins)."""

    class Input(inputs.Input):
        name = serializers.SlugField(max_length=100)
        team = serializers.SlugField(max_length=64)
        title = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
        description = serializers.CharField(required=False, allow_blank=True, default="")
        lineage_namespace = serializers.CharField(
            required=False, allow_blank=True, max_length=200, default=""
        )
        lineage_name = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")

    selector = staticmethod(selectors.dataset_list)
    pagination_class = InventoryPagination
    serializer_class = DatasetOutput
    lookup_field = "name"
    lookup_value_regex = NAME_REGEX
    filterset_class = DatasetFilter
    ordering_fields = ["name", "created_at"]
    ordering = ["name"]
    search_fields = ["name", "title", "description"]

    @extend_schema(request=Input, responses={201: DatasetOutput})
    def create(self, request):
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        team = access.visible_teams(request.user).filter(name=data.pop("team")).first()
        if team is None:
            raise serializers.ValidationError({"team": ["Unknown team."]})
        dataset = dataset_services.dataset_create(actor=request.user, team=team, **data)
        body = DatasetOutput(selectors.dataset_list(user=request.user).get(pk=dataset.pk)).data
        return Response(body, status=status.HTTP_201_CREATED)


class DatasetVersionOutput(serializers.Serializer):
    dataset = serializers.CharField(source="dataset.name")
    version = serializers.IntegerField()
    role = serializers.CharField()
    file = serializers.SerializerMethodField()
    schema = serializers.JSONField()
    target_column = serializers.CharField()
    prediction_column = serializers.CharField()
    sensitive_columns = serializers.ListField(child=serializers.CharField())
    favourable_label = LabelField()
    description = serializers.CharField()
    row_count = serializers.IntegerField(allow_null=True)
    profile_status = serializers.CharField()
    profile_error = serializers.CharField()
    profiled_at = serializers.DateTimeField(allow_null=True)
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()

    def get_file(self, version) -> dict:
        return {
            "sha256": version.file_sha256,
            "size": version.file_size,
            "name": version.file_name,
            "format": version.file_format,
        }


class DatasetVersionDetailOutput(DatasetVersionOutput):
    profile = serializers.JSONField(allow_null=True)


FILE_HELP = "CSV (UTF-8, with a header) or Parquet."


class DatasetUploadMetadata(inputs.Input):
    """A dataset version's fields beside its file: the ``metadata`` part's members, or the older form's."""

    sha256 = serializers.RegexField(r"^[0-9a-fA-F]{64}$", required=False)
    role = serializers.ChoiceField(choices=DatasetRole.choices, default=DatasetRole.OTHER)
    target_column = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    prediction_column = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    sensitive_columns = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list, max_length=200
    )
    favourable_label = LabelField(
        from_text=True,
        required=False,
        default=None,
        help_text="The target column's value that is the favourable outcome for the person "
        '(credit granted: good). In a form field it is text: 1 is the integer 1, "1" (quoted) the text; '
        "in the metadata part, a JSON integer or string.",
    )
    description = serializers.CharField(required=False, allow_blank=True, default="")


class DatasetVersionViewSet(
    UploadViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet
):
    """Versions of one dataset. Create is a multipart upload with the CSV or Parquet file in ``file`` and
    the other fields in one JSON part ``metadata`` (or, the older form, as separate form fields); the
    profile is computed in the background (``profile_status`` goes pending → succeeded)."""

    class Input(inputs.Input):
        """The file, and the dataset version's fields as one JSON part (the file alone takes the defaults)."""

        file = serializers.FileField(help_text=FILE_HELP)
        metadata = DatasetUploadMetadata(required=False, help_text=METADATA_HELP)

    class FormInput(DatasetUploadMetadata):
        """The older form, still read though not in the schema: a multipart field per member (lists as
        repeated fields)."""

        file = serializers.FileField(help_text=FILE_HELP)

    selector = staticmethod(selectors.dataset_version_list)
    serializer_class = DatasetVersionOutput
    parser_classes = [MultiPartParser]
    lookup_field = "version"
    lookup_value_regex = "[0-9]+"
    filterset_fields = ["role", "profile_status", "file_format"]
    ordering_fields = ["version", "created_at"]
    ordering = ["-version"]

    @staticmethod
    def upload_max_bytes() -> int:
        return settings.ATTEST_MAX_DATASET_BYTES

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no URL kwargs
            return DatasetVersion.objects.none()
        return selectors.dataset_version_list(user=self.request.user, dataset=self.parent_dataset())

    def get_serializer_class(self):
        return DatasetVersionDetailOutput if self.action == "retrieve" else DatasetVersionOutput

    def parent_dataset(self):
        if not hasattr(self, "_parent_dataset"):
            self._parent_dataset = selectors.dataset_get(
                user=self.request.user, name=self.kwargs["dataset_name"]
            )
        return self._parent_dataset

    @extend_schema(
        request={"multipart/form-data": upload_request(Input)},
        responses={201: DatasetVersionDetailOutput, 200: DatasetVersionDetailOutput},
    )
    def create(self, request, dataset_name=None):
        dataset = self.parent_dataset()
        access.require(request.user, "change", dataset)  # before the body is read
        upload = received_upload(request, "file")
        data = upload_fields(
            request, file_field="file", metadata_input=DatasetUploadMetadata, form_input=self.FormInput
        )
        version, created = dataset_services.dataset_version_upload(
            actor=request.user, dataset=dataset, upload=upload, declared_sha256=data.pop("sha256", ""), **data
        )
        body = DatasetVersionDetailOutput(self.get_queryset().get(pk=version.pk)).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    # a CSV file is served as text/csv, a Parquet file as application/octet-stream
    @extend_schema(responses={(200, "text/csv"): bytes, (200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"])
    def download(self, request, dataset_name=None, version=None):
        found = self.get_object()
        blob = dataset_services.dataset_version_download(actor=request.user, version=found)
        response = FileResponse(blob, as_attachment=True, filename=found.file_name)
        response.block_size = DOWNLOAD_BLOCK_BYTES
        response["ETag"] = f'"sha256:{found.file_sha256}"'
        response["X-Checksum-SHA256"] = found.file_sha256
        return response

    @extend_schema(parameters=[LINEAGE_DEPTH])
    @action(detail=True, methods=["get"])
    def lineage(self, request, dataset_name=None, version=None):
        return Response(
            graph.lineage_graph(user=request.user, root=self.get_object(), depth=lineage_depth(request))
        )
