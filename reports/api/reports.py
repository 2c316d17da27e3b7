"""``/api/v1/reports/``: request a PDF report (202 with the job), follow its progress, download it.

Validation, documentation and monitoring reports are about one model version and need ``view`` on
it; audit evidence reports (a model and/or a period) need a role that audits. A model or version the
caller cannot see is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

from django.http import FileResponse
from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from config.api import inputs
from config.api.viewsets import ScopedViewSet
from registry.api.references import model_reference_field
from registry.references import MODEL_FORMS
from reports import kinds, selectors
from reports.api.common import JobOutput, attachment_headers, choice, subject_of
from reports.models import JobStatus, Report, Variant
from reports.services import reports as report_services


class ReportFilter(filters.FilterSet):
    model = filters.CharFilter(field_name="model__name", help_text="Model name.")
    version = filters.NumberFilter(field_name="model_version__version", help_text="Version number.")
    kind = filters.ChoiceFilter(choices=kinds.choices)  # a callable: kinds declared later are accepted too
    status = filters.ChoiceFilter(choices=JobStatus.choices)

    class Meta:
        model = Report
        fields = ["model", "version", "kind", "status"]


class ReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Reports the caller may see, newest first. Creating one answers 202 with the job to poll."""

    class Input(inputs.Input):
        kind = choice(kinds.names())
        model = model_reference_field(
            required=False,
            allow_blank=True,
            help_text=f"The model (a name), or one of its versions (with `version`, or {MODEL_FORMS}).",
        )
        version = serializers.IntegerField(min_value=1, required=False, allow_null=True)
        period_start = serializers.DateTimeField(required=False, allow_null=True)
        period_end = serializers.DateTimeField(required=False, allow_null=True)
        variant = serializers.ChoiceField(choices=Variant.choices, default=Variant.STANDARD)
        approval = serializers.IntegerField(
            min_value=1,
            required=False,
            allow_null=True,
            help_text="Validation and documentation reports: the approval request whose signed evidence the "
            "report describes (default: the version's latest completed approval, else its pending one).",
        )

    class Output(JobOutput):
        url = serializers.SerializerMethodField()
        kind = serializers.CharField()
        title = serializers.CharField()
        document_id = serializers.CharField()
        variant = serializers.CharField()
        summary = serializers.JSONField()
        inputs_digest = serializers.CharField()
        text_digest = serializers.CharField()
        page_count = serializers.IntegerField(allow_null=True)
        bundle = serializers.IntegerField(source="bundle_id", allow_null=True)
        download_url = serializers.SerializerMethodField()

        def get_url(self, report) -> str:
            return reverse("api:report-detail", args=[report.pk])

        def get_download_url(self, report) -> str | None:
            if report.status != JobStatus.SUCCEEDED:
                return None
            return reverse("api:report-download", args=[report.pk])

    selector = staticmethod(selectors.report_list)
    serializer_class = Output
    filterset_class = ReportFilter
    ordering_fields = ["created_at", "finished_at"]
    search_fields: list[str] = []
    lookup_value_regex = r"\d+"

    # The filter validates against the kinds declared when it runs; the schema lists those the apps
    # declared at start, so a generated client (and schemathesis) sends only values the API accepts.
    @extend_schema(parameters=[OpenApiParameter("kind", str, enum=kinds.names(), description="Report kind.")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=Input, responses={202: Output})
    def create(self, request):
        """Request a report; 202 with the job, whose ``status`` and ``progress`` can be polled."""
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        model, version = subject_of(request.user, data.get("model"), data.get("version"))
        report = report_services.report_request(
            actor=request.user,
            kind=data["kind"],
            version=version,
            model=model,
            period_start=data.get("period_start"),
            period_end=data.get("period_end"),
            variant=data["variant"],
            approval_id=data.get("approval"),
        )
        output = self.Output(self.get_queryset().get(pk=report.pk)).data
        return Response(output, status=status.HTTP_202_ACCEPTED, headers={"Location": output["url"]})

    @extend_schema(responses={(200, "application/pdf"): bytes})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """The PDF (audited as ``report.downloaded``); 409 while the report is not finished."""
        report = self.get_object()
        blob = report_services.report_download(actor=request.user, report=report)
        response = FileResponse(
            blob, as_attachment=True, filename=download_name(report), content_type="application/pdf"
        )
        attachment_headers(response, report.sha256)
        return response


def download_name(report: Report) -> str:
    subject = report.subject_text.split(",")[0].replace(" ", "-") if report.model_id else "range"
    return f"{report.kind.replace('_', '-')}-{subject}-{report.document_id}.pdf"
