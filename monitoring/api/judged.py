"""``/api/v1/models/{name}/versions/{version}/judged-evaluations/``: import an LLM judge's results (multipart
``file`` and ``format``; optional ``labels`` CSV, ``judge_model``, ``judge_prompt_version``,
``pass_threshold``), list a version's judged evaluations, read one with its per-metric results."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from accounts import access
from config.api import inputs
from config.api.viewsets import ScopedViewSet
from monitoring import selectors
from monitoring.api.common import VersionRecordsMixin
from monitoring.models import JudgedEvaluation, JudgedFormat
from monitoring.services import judged as judged_services
from registry.api.common import UploadViewSetMixin, received_upload

MAX_FILE_BYTES = 200 * 1024 * 1024


class JudgedEvaluationViewSet(
    UploadViewSetMixin, VersionRecordsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet
):
    """Judged evaluations of one version. Import: multipart with the results in ``file`` and ``format``
    (``otel_genai``, ``promptfoo``, ``deepeval``, ``ragas``, ``mlflow``), optionally a ``labels`` CSV (item, metric,
    label) for the judge's agreement with people, and the judge's ``judge_model`` and
    ``judge_prompt_version`` where the file does not name them. Importing needs 'run_checks' on the model."""

    class Input(inputs.Input):
        file = serializers.FileField(help_text="The results file, at most 200 MiB.")
        format = serializers.ChoiceField(choices=JudgedFormat.choices)
        labels = serializers.FileField(
            required=False, help_text="Human labels: a CSV with columns item, metric, label (pass/fail)."
        )
        judge_model = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        judge_prompt_version = serializers.CharField(
            max_length=200, required=False, allow_blank=True, default=""
        )
        pass_threshold = serializers.FloatField(
            min_value=0.0,
            max_value=1.0,
            default=0.5,
            help_text="Score at which an item passes where the file gives no verdict (OpenTelemetry, ragas).",
        )

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        url = serializers.SerializerMethodField()
        model = serializers.CharField(source="model_version.model.name")
        version = serializers.IntegerField(source="model_version.version")
        format = serializers.CharField()
        file_name = serializers.CharField()
        file_sha256 = serializers.CharField()
        labels_sha256 = serializers.CharField()
        judge_model = serializers.CharField()
        judge_prompt_version = serializers.CharField()
        pass_threshold = serializers.FloatField()
        result_sha256 = serializers.CharField()
        imported_by = serializers.CharField(source="imported_by.username")
        created_at = serializers.DateTimeField()

        def get_url(self, evaluation) -> str:
            version = evaluation.model_version
            return reverse(
                "api:judged-evaluation-detail", args=[version.model.name, version.version, evaluation.pk]
            )

    class DetailOutput(Output):
        results = serializers.JSONField(
            help_text="`metrics`: per metric the items judged, mean_score, pass_rate, judge_models, "
            "judge_prompt_versions, human_labelled, agreement and kappa (Cohen's, judge against people)."
        )

    selector = staticmethod(selectors.judged_evaluation_list)
    serializer_class = DetailOutput
    record_model = JudgedEvaluation
    max_upload_bytes = MAX_FILE_BYTES

    @extend_schema(request={"multipart/form-data": Input}, responses={201: DetailOutput, 200: DetailOutput})
    def create(self, request, model_name=None, version=None):
        """Import judged results; 201 with the record (200 with the earlier one for the same inputs)."""
        user = request.user
        access.require(user, "run_checks")
        target = self.version()
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        evaluation, created = judged_services.judged_evaluation_import(
            actor=user,
            version=target,
            file_format=data["format"],
            upload=received_upload(request, "file"),
            labels=received_upload(request, "labels") if "labels" in data else None,
            judge_model=data["judge_model"],
            judge_prompt_version=data["judge_prompt_version"],
            pass_threshold=data["pass_threshold"],
        )
        output = self.DetailOutput(evaluation).data
        return Response(output, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
