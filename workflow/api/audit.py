"""The auditor's API: ``/api/v1/audit/events/`` (cursor pages, filters, CSV and JSON-lines exports),
``/api/v1/audit/checkpoints/`` and ``/api/v1/audit/verifications/`` (202 + a job with progress).

Auditors, risk officers and administrators only: anyone else signed in gets 403, anonymous 401.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.http import StreamingHttpResponse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, pagination, permissions, renderers, serializers, status
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from accounts import access
from audit import exports
from config.api import inputs
from config.api.filters import API_FILTER_BACKENDS, UtcDateTimeFilter
from config.api.pagination import PageNumberPagination, StrictPageSize
from config.api.query import StrictQueryParameters
from config.api.viewsets import JsonErrors
from workflow import audit_selectors as selectors
from workflow.services import audit as audit_services


class CanAudit(permissions.BasePermission):
    """Signed in and holding a role that may audit (``access.may(user, "audit")``)."""

    message = "Your role does not allow reading the audit log."

    def has_permission(self, request, view) -> bool:
        return access.may(request.user, "audit")


class AuditCursorPagination(StrictPageSize, pagination.CursorPagination):
    """Stable pages however fast events arrive: the cursor is a seq, never an offset."""

    ordering = "seq"


class CheckpointPagination(AuditCursorPagination):
    ordering = "number"


class AuditViewSet(StrictQueryParameters, GenericViewSet):
    filter_backends = API_FILTER_BACKENDS
    permission_classes = [permissions.IsAuthenticated, CanAudit]
    pagination_class = AuditCursorPagination


class EventFilter(filters.FilterSet):
    actor = filters.CharFilter(field_name="actor_username", help_text="Username at the time of the event.")
    actor_id = filters.NumberFilter(field_name="actor_pk")
    action = filters.CharFilter(help_text="An exact action name, e.g. auth.login_failed.")
    action_prefix = filters.CharFilter(field_name="action", lookup_expr="startswith", help_text="e.g. auth.")
    object_type = filters.CharFilter(help_text="app.model, e.g. governance.user.")
    object_id = filters.CharFilter()
    request_id = filters.CharFilter()
    occurred_after = UtcDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = UtcDateTimeFilter(field_name="occurred_at", lookup_expr="lt")
    seq_from = filters.NumberFilter(field_name="seq", lookup_expr="gte")
    seq_to = filters.NumberFilter(field_name="seq", lookup_expr="lte")


_OUTPUT_FIELDS: dict[str, Callable[..., serializers.Field]] = {
    "integer": serializers.IntegerField,
    "text": serializers.CharField,
    "texts": lambda **options: serializers.ListField(child=serializers.CharField(), **options),
    "uuid": serializers.UUIDField,
    "time": serializers.DateTimeField,
    "json": serializers.JSONField,
}


def _output_field(field: exports.EventField) -> serializers.Field:
    """The API field of a published event field (DRF refuses a ``source`` equal to the name)."""
    options: dict[str, Any] = {"allow_null": True} if field.nullable else {}
    if field.attribute != field.name:
        options["source"] = field.attribute
    return _OUTPUT_FIELDS[field.kind](**options)


# The event's fields come from their one declaration, audit.exports.EVENT_FIELDS.
EventFields = type(
    "EventFields",
    (serializers.Serializer,),
    {field.name: _output_field(field) for field in exports.EVENT_FIELDS},
)


class EventOutput(EventFields):
    canonical = serializers.SerializerMethodField(help_text="The exact RFC 8785 text that was hashed.")

    def get_canonical(self, event) -> str:
        return exports.canonical_text(event)


class CSVRenderer(renderers.BaseRenderer):
    """Lets ``Accept: text/csv`` through negotiation; the export itself streams past the renderer,
    so only error bodies are ever rendered here (as JSON, the one error shape)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data).encode()


class JSONLinesRenderer(CSVRenderer):
    media_type = "application/jsonl"
    format = "jsonl"


class AuditEventViewSet(JsonErrors, mixins.ListModelMixin, mixins.RetrieveModelMixin, AuditViewSet):
    """The audit log, oldest first (``?ordering=-seq`` for newest first); detail by seq."""

    # The exports are routed by hand in urls.py (export.csv, export.jsonl: no trailing slash).
    export_renderers = {
        "csv": [renderers.JSONRenderer, CSVRenderer],
        "jsonl": [renderers.JSONRenderer, JSONLinesRenderer],
    }

    serializer_class = EventOutput
    filterset_class = EventFilter
    error_statuses = (404,)  # the exports' ?format= naming no renderer
    ordering_fields = ["seq"]
    lookup_field = "seq"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.event_list(user=self.request.user)

    @extend_schema(
        operation_id="audit_events_export_csv", filters=True, responses={(200, "text/csv"): OpenApiTypes.STR}
    )
    def export_csv(self, request):
        """Every matching event as CSV (formula-like cells escaped). The export is itself audited."""
        return self._export(request, "csv", exports.csv_stream, "text/csv; charset=utf-8")

    @extend_schema(
        operation_id="audit_events_export_jsonl",
        filters=True,
        responses={(200, "application/jsonl"): OpenApiTypes.STR},
    )
    def export_jsonl(self, request):
        """Every matching event as one JSON object a line, with its canonical text, for verification."""
        return self._export(request, "jsonl", exports.jsonl_stream, "application/jsonl; charset=utf-8")

    def _export(self, request, export_format: str, stream, content_type: str) -> StreamingHttpResponse:
        queryset = self.filter_queryset(self.get_queryset())  # invalid filters answer 400 before anything
        chosen = {
            key: value for key, value in request.query_params.items() if key in EventFilter.base_filters
        }
        through_seq = audit_services.export_started(
            actor=request.user, export_format=export_format, filters=chosen
        )
        response = StreamingHttpResponse(stream(queryset, through_seq), content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="attest-audit-events.{export_format}"'
        return response


class CheckpointOutput(serializers.Serializer):
    number = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    last_seq = serializers.IntegerField()
    chain_head = serializers.CharField()
    previous_signature = serializers.CharField()
    key_id = serializers.CharField()
    signature = serializers.CharField()
    payload = serializers.SerializerMethodField(help_text="The exact RFC 8785 text that was signed.")

    def get_payload(self, checkpoint) -> str:
        return bytes(checkpoint.payload).decode("utf-8", "replace")


class AuditCheckpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AuditViewSet):
    """Signed checkpoints of the chain head, oldest first."""

    serializer_class = CheckpointOutput
    pagination_class = CheckpointPagination
    lookup_field = "number"
    lookup_value_regex = r"[0-9]+"
    filter_backends: list = []

    def get_queryset(self):
        return selectors.checkpoint_list(user=self.request.user)


class VerificationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    intact = serializers.BooleanField(allow_null=True)
    from_seq = serializers.IntegerField(allow_null=True)
    requested_by = serializers.CharField(source="requested_by_username")
    progress = serializers.SerializerMethodField()
    result = serializers.JSONField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_progress(self, job) -> dict:
        total = job.progress_total
        percent = (
            round(100 * job.progress_current / total, 1) if total else (100.0 if job.finished_at else 0.0)
        )
        return {"current": job.progress_current, "total": total, "percent": min(percent, 100.0)}


class AuditVerificationViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, AuditViewSet
):
    """Verification jobs: POST queues one (202); GET shows its progress and, when done, the report."""

    class Input(inputs.Input):
        from_seq = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1, allow_null=True)

    serializer_class = VerificationOutput
    pagination_class = PageNumberPagination
    filter_backends: list = []
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.verification_list(user=self.request.user)

    @extend_schema(request=Input, responses={202: VerificationOutput})
    def create(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        job = audit_services.verification_request(
            actor=request.user, from_seq=data.validated_data.get("from_seq")
        )
        body = VerificationOutput(job).data
        location = request.build_absolute_uri(f"{request.path}{job.pk}/")
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": location})
