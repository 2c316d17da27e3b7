"""``/api/v1/checks/``: queue a check (202 with the run), list runs, follow one's progress and results."""

from __future__ import annotations

from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from accounts import access
from config.api import inputs
from config.api.schema import JSONObjectField
from config.api.viewsets import ScopedViewSet
from monitoring import selectors
from monitoring.api.common import DatasetVersionField, check_config, dataset_version_of, version_of
from monitoring.models import CheckKind, CheckRun, Outcome, RunStatus
from monitoring.models.runs import RUNNABLE_KINDS
from monitoring.services import runs as run_services
from registry.api.references import dataset_reference_field, model_reference_field, version_field
from registry.references import DATASET_REFERENCE_HELP

LIST_DEFERRED = ("results", "evaluations", "diagnostics", "config", "thresholds", "library_versions")


class CheckRunFilter(filters.FilterSet):
    model = filters.CharFilter(field_name="model_version__model__name", help_text="Model name.")
    version = filters.NumberFilter(field_name="model_version__version", help_text="Version number.")
    kind = filters.ChoiceFilter(choices=CheckKind.choices)
    status = filters.ChoiceFilter(choices=RunStatus.choices)
    outcome = filters.ChoiceFilter(choices=Outcome.choices)
    plan = filters.NumberFilter(field_name="plan", help_text="Monitoring plan id.")

    class Meta:
        model = CheckRun
        fields = ["model", "version", "kind", "status", "outcome", "plan"]


class CheckRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Check runs on versions the caller may see; creating one needs the 'run_checks' permission."""

    class Input(inputs.Input):
        kind = serializers.ChoiceField(choices=RUNNABLE_KINDS)
        model = model_reference_field()
        version = version_field()
        reference_dataset = dataset_reference_field(
            required=False,
            allow_blank=True,
            help_text=f"{DATASET_REFERENCE_HELP} The baseline of drift, data quality and the SHAP background.",
        )
        current_dataset = dataset_reference_field(required=False, allow_blank=True)
        config = JSONObjectField(required=False, default=dict)

        def validate(self, attrs):
            check_config(attrs["kind"], attrs.get("config"))
            return attrs

    class ErrorOutput(serializers.Serializer):
        type = serializers.CharField(source="error_type")
        message = serializers.CharField(source="error_message")

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        url = serializers.SerializerMethodField()
        kind = serializers.CharField()
        model = serializers.CharField(source="model_version.model.name")
        version = serializers.IntegerField(source="model_version.version")
        artifact_sha256 = serializers.CharField()
        reference_dataset = DatasetVersionField(allow_null=True)
        current_dataset = DatasetVersionField(allow_null=True)
        status = serializers.CharField()
        progress = serializers.JSONField(
            help_text='`{"stage", "current", "total"}` over the stages; during a long stage also `step` '
            '(`{"label", "done", "total", "unit"}`, e.g. rows explained), `eta_seconds` (seconds left in the '
            "step at the pace so far; null until enough is done to tell) and `updated_at` (when written)."
        )
        outcome = serializers.CharField(allow_null=True, source="outcome_or_none")
        outcome_reason = serializers.CharField()
        result_sha256 = serializers.CharField()
        error = serializers.SerializerMethodField()
        requested_by = serializers.CharField(source="requested_by.username", allow_null=True, default=None)
        plan = serializers.IntegerField(source="plan_id", allow_null=True)
        attempts = serializers.IntegerField()
        created_at = serializers.DateTimeField()
        started_at = serializers.DateTimeField(allow_null=True)
        finished_at = serializers.DateTimeField(allow_null=True)
        duration_seconds = serializers.FloatField(allow_null=True)

        def get_url(self, run) -> str:
            return reverse("api:check-run-detail", args=[run.pk])

        def get_error(self, run) -> dict | None:
            if not run.error_message:
                return None
            return {"type": run.error_type, "message": run.error_message}

    class DetailOutput(Output):
        config = serializers.JSONField()
        thresholds = serializers.JSONField()
        evaluations = serializers.JSONField()
        results = serializers.JSONField(allow_null=True)
        charts = serializers.SerializerMethodField()
        library_versions = serializers.JSONField()
        diagnostics = serializers.JSONField()

        def get_charts(self, run) -> dict | None:
            return (run.results or {}).get("charts")

    selector = staticmethod(selectors.check_run_detail)
    serializer_class = DetailOutput
    filterset_class = CheckRunFilter
    ordering_fields = ["created_at", "finished_at"]
    search_fields: list[str] = []
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        queryset = super().get_queryset()
        return queryset.defer(*LIST_DEFERRED) if self.action == "list" else queryset

    def get_serializer_class(self):
        return self.Output if self.action == "list" else self.DetailOutput

    @extend_schema(request=Input, responses={202: DetailOutput})
    def create(self, request):
        """Queue a check; 202 with the run, whose ``status`` and ``progress`` can then be polled."""
        user = request.user
        access.require(user, "run_checks")
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        run = run_services.check_run_create(
            actor=user,
            kind=data["kind"],
            version=version_of(user, data["model"], data.get("version")),
            reference=dataset_version_of(user, data.get("reference_dataset"), "reference_dataset"),
            current=dataset_version_of(user, data.get("current_dataset"), "current_dataset"),
            config=data.get("config") or {},
        )
        run = self.get_queryset().get(pk=run.pk)
        output = self.DetailOutput(run).data
        return Response(output, status=status.HTTP_202_ACCEPTED, headers={"Location": output["url"]})
