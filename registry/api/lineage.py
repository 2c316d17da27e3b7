"""``POST /api/v1/lineage``: OpenLineage RunEvent intake; ``/api/v1/tiering-rules/``: the tiering rule."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from accounts import access
from config.api import inputs
from config.api.query import StrictQueryParameters
from config.api.schema import JSONObjectField
from registry import selectors
from registry.services import inventory, lineage


class LineageEventOutput(serializers.Serializer):
    id = serializers.IntegerField()
    run_id = serializers.CharField(source="run.run_id")
    event_type = serializers.CharField()
    event_time = serializers.DateTimeField()
    run_state = serializers.CharField(source="run.state")
    resolution = serializers.JSONField()
    received_at = serializers.DateTimeField()


_NAMED = {"type": "string", "pattern": r"\S"}  # present and not only white space
_FACETS = {"description": "OpenLineage facets, kept as sent (not read by the intake)."}
_DATASET = {
    "type": "object",
    "required": ["namespace", "name"],
    "properties": {"namespace": _NAMED, "name": _NAMED, "facets": _FACETS},
}
# What lineage.lineage_event_receive checks (the rest of the OpenLineage RunEvent is kept as sent).
RUN_EVENT_SCHEMA = {
    "type": "object",
    "description": "An OpenLineage RunEvent (https://openlineage.io/spec/); other members are kept as sent.",
    "required": ["eventTime", "run", "job"],
    "properties": {
        "eventType": {"type": "string", "enum": sorted(lineage.EVENT_TYPES), "default": "OTHER"},
        "eventTime": {
            "type": "string",
            "format": "date-time",
            "pattern": "^[1-9]",
            "description": "With a time zone, from the year 1000 on.",
        },
        "run": {
            "type": "object",
            "required": ["runId"],
            "properties": {"runId": _NAMED, "facets": _FACETS},
        },
        "job": {
            "type": "object",
            "required": ["namespace", "name"],
            "properties": {"namespace": _NAMED, "name": _NAMED, "facets": _FACETS},
        },
        # null is read as none
        "inputs": {"type": "array", "nullable": True, "maxItems": lineage.MAX_DATASETS, "items": _DATASET},
        "outputs": {"type": "array", "nullable": True, "maxItems": lineage.MAX_DATASETS, "items": _DATASET},
        "producer": {"type": "string"},
        "schemaURL": {"type": "string"},
    },
}


class OpenLineageView(StrictQueryParameters, APIView):
    """Accepts RunEvents as ``openlineage-python``'s HTTP transport sends them (Bearer token, JSON).

    The job maps to a model by its lineage namespace and job name, inputs and outputs to dataset
    versions by namespace and name; the raw event is kept. 201 for a new event, 200 for a repeat.
    """

    @extend_schema(
        request={"application/json": RUN_EVENT_SCHEMA},
        responses={201: LineageEventOutput, 200: LineageEventOutput},
    )
    def post(self, request):
        event, created = lineage.lineage_event_receive(actor=request.user, event=request.data)
        body = LineageEventOutput(event).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class TieringRuleOutput(serializers.Serializer):
    version = serializers.IntegerField()
    weights = serializers.JSONField()
    thresholds = serializers.JSONField()
    floors = serializers.JSONField()
    note = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class TieringRuleViewSet(StrictQueryParameters, mixins.ListModelMixin, GenericViewSet):
    """Versions of the risk-tiering rule, newest first; an administrator records a new one with POST."""

    class Input(inputs.Input):
        weights = JSONObjectField()
        thresholds = JSONObjectField()
        floors = JSONObjectField(required=False, default=dict)
        note = serializers.CharField(required=False, allow_blank=True, default="")

    serializer_class = TieringRuleOutput
    filter_backends: list = []

    def get_queryset(self):
        return selectors.tiering_rule_list(user=self.request.user)

    def list(self, request, *args, **kwargs):
        if selectors.tiering_rule_list(user=request.user).exists() or not request.user.is_authenticated:
            return super().list(request, *args, **kwargs)
        inventory.tiering_rule_current()  # record the built-in default the first time anyone looks
        return super().list(request, *args, **kwargs)

    @extend_schema(request=Input, responses={201: TieringRuleOutput})
    def create(self, request):
        access.require(request.user, "administer")  # 403 before 400: readers learn nothing from validation
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = inventory.tiering_rule_create(actor=request.user, **serializer.validated_data)
        return Response(TieringRuleOutput(rule).data, status=status.HTTP_201_CREATED)
