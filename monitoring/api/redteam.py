"""``/api/v1/models/{name}/versions/{version}/red-team-runs/``: import a garak or promptfoo report (multipart
``report`` and ``format``), list a version's red-team runs, read one with its rates per OWASP category."""

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
from monitoring.models import RedTeamFormat, RedTeamRun
from monitoring.services import redteam as redteam_services
from registry.api.common import UploadViewSetMixin, received_upload

MAX_REPORT_BYTES = 100 * 1024 * 1024


class RedTeamRunViewSet(
    UploadViewSetMixin, VersionRecordsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet
):
    """Red-team runs of one version. Import: multipart with the file in ``report`` and ``format``
    (``garak``: its report.jsonl; ``promptfoo``: the JSON of ``promptfoo eval -o results.json``).
    Importing needs the 'run_checks' permission on the model; the same bytes again return the first run."""

    class Input(inputs.Input):
        report = serializers.FileField(help_text="The report file, at most 100 MiB.")
        format = serializers.ChoiceField(choices=RedTeamFormat.choices)

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        url = serializers.SerializerMethodField()
        model = serializers.CharField(source="model_version.model.name")
        version = serializers.IntegerField(source="model_version.version")
        format = serializers.CharField()
        file_name = serializers.CharField()
        report_sha256 = serializers.CharField()
        report_size = serializers.IntegerField()
        tool_version = serializers.CharField()
        target = serializers.CharField()
        attempts = serializers.IntegerField()
        failures = serializers.IntegerField()
        attack_success_rate = serializers.FloatField(allow_null=True)
        result_sha256 = serializers.CharField()
        imported_by = serializers.CharField(source="imported_by.username")
        created_at = serializers.DateTimeField()

        def get_url(self, run) -> str:
            version = run.model_version
            return reverse("api:red-team-run-detail", args=[version.model.name, version.version, run.pk])

    class DetailOutput(Output):
        results = serializers.JSONField(
            help_text="Per OWASP category (`categories`: id, name, attempts, failures, asr, atlas, sources) "
            "and per probe/detector or plugin/strategy (`sources`)."
        )

    selector = staticmethod(selectors.red_team_run_list)
    serializer_class = DetailOutput
    record_model = RedTeamRun
    max_upload_bytes = MAX_REPORT_BYTES

    @extend_schema(request={"multipart/form-data": Input}, responses={201: DetailOutput, 200: DetailOutput})
    def create(self, request, model_name=None, version=None):
        """Import a report; 201 with the run (200 with the earlier run when these bytes were imported)."""
        user = request.user
        access.require(user, "run_checks")
        target = self.version()
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        run, created = redteam_services.red_team_run_import(
            actor=user,
            version=target,
            report_format=body.validated_data["format"],
            upload=received_upload(request, "report"),
        )
        output = self.DetailOutput(run).data
        return Response(output, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
