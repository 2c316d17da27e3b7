"""``/api/v1/evidence-bundles/``: request a BagIt evidence bundle (202), follow it, download the zip.

Auditors, risk officers and administrators only (bundles reproduce audit log entries): anyone else
signed in gets 403 on create and sees no bundles (404 on a detail); anonymous callers get 401.
"""

from __future__ import annotations

from django.http import FileResponse
from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from config.api import inputs
from config.api.viewsets import ScopedViewSet
from registry.api.references import model_reference_field
from registry.references import MODEL_FORMS
from reports import selectors
from reports.api.common import JobOutput, attachment_headers, subject_of
from reports.models import EvidenceBundle, JobStatus
from reports.services import bundles as bundle_services


class BundleFilter(filters.FilterSet):
    model = filters.CharFilter(field_name="model__name", help_text="Model name.")
    version = filters.NumberFilter(field_name="model_version__version", help_text="Version number.")
    status = filters.ChoiceFilter(choices=JobStatus.choices)

    class Meta:
        model = EvidenceBundle
        fields = ["model", "version", "status"]


class FileOutput(serializers.Serializer):
    path = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()


class EvidenceBundleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Evidence bundles, newest first: one for a model version, or one for a period."""

    class Input(inputs.Input):
        model = model_reference_field(
            required=False,
            allow_blank=True,
            help_text=f"The model (a name), or one of its versions (with `version`, or {MODEL_FORMS}).",
        )
        version = serializers.IntegerField(min_value=1, required=False, allow_null=True)
        period_start = serializers.DateTimeField(required=False, allow_null=True)
        period_end = serializers.DateTimeField(required=False, allow_null=True)

    class Output(JobOutput):
        url = serializers.SerializerMethodField()
        bag_name = serializers.CharField()
        contents = serializers.JSONField()
        files = FileOutput(many=True)
        reports = serializers.SerializerMethodField()
        download_url = serializers.SerializerMethodField()

        def get_url(self, bundle) -> str:
            return reverse("api:evidence-bundle-detail", args=[bundle.pk])

        def get_reports(self, bundle) -> list[int]:
            return sorted(report.pk for report in bundle.reports.all())

        def get_download_url(self, bundle) -> str | None:
            if bundle.status != JobStatus.SUCCEEDED:
                return None
            return reverse("api:evidence-bundle-download", args=[bundle.pk])

    selector = staticmethod(selectors.bundle_list)
    serializer_class = Output
    filterset_class = BundleFilter
    ordering_fields = ["created_at", "finished_at"]
    search_fields: list[str] = []
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return super().get_queryset().prefetch_related("reports")

    @extend_schema(request=Input, responses={202: Output})
    def create(self, request):
        """Request a bundle for ``model`` + ``version`` or for ``period_start`` to ``period_end``; 202."""
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data.get("model") and data.get("version") is None:
            raise serializers.ValidationError({"version": ["A bundle is for one version: give its number."]})
        _model, version = subject_of(request.user, data.get("model"), data.get("version"))
        bundle = bundle_services.bundle_request(
            actor=request.user,
            version=version,
            period_start=data.get("period_start"),
            period_end=data.get("period_end"),
        )
        output = self.Output(self.get_queryset().get(pk=bundle.pk)).data
        return Response(output, status=status.HTTP_202_ACCEPTED, headers={"Location": output["url"]})

    @extend_schema(responses={(200, "application/zip"): bytes})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """The zip (audited as ``bundle.downloaded``); 409 while the bundle is not finished."""
        bundle = self.get_object()
        blob = bundle_services.bundle_download(actor=request.user, bundle=bundle)
        response = FileResponse(
            blob, as_attachment=True, filename=f"{bundle.bag_name}.zip", content_type="application/zip"
        )
        attachment_headers(response, bundle.sha256)
        return response
