"""``/api/v1/siem/destinations/``: where the audit trail is forwarded (administrators only), and how far
each destination has got. The token is write-only: no answer ever carries it, only whether one is set."""

from __future__ import annotations

import re

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from accounts.api.common import MayDo
from config.api import inputs
from config.api.query import StrictQueryParameters
from integrations.models import SiemDestination
from integrations.services import siem


def _choice(values: list[str], **kwargs) -> serializers.ChoiceField:
    """A choice documented as a string pattern: ``kind`` and ``format`` name other enums in the API."""
    pattern = "^(" + "|".join(re.escape(value) for value in values) + ")$"
    schema = {"type": "string", "pattern": pattern, "description": f"One of: {', '.join(values)}."}
    field_class = extend_schema_field(schema)(type("SiemChoiceField", (serializers.ChoiceField,), {}))
    return field_class(choices=values, **kwargs)


class SiemDestinationOutput(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField()
    host = serializers.CharField()
    port = serializers.IntegerField(allow_null=True)
    url = serializers.CharField()
    format = serializers.CharField(help_text="Syslog message format: cef or json.")
    ca_bundle = serializers.CharField()
    token_set = serializers.SerializerMethodField()
    enabled = serializers.BooleanField()
    batch_size = serializers.IntegerField()
    last_seq_sent = serializers.IntegerField(help_text="Every event up to this seq was acknowledged.")
    last_sent_at = serializers.DateTimeField(allow_null=True)
    lag = serializers.SerializerMethodField(help_text="Events recorded but not yet acknowledged.")
    attempts = serializers.IntegerField(help_text="Failed sends since the last success.")
    last_error = serializers.CharField()
    last_error_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_token_set(self, destination) -> bool:
        return bool(destination.token)

    def get_lag(self, destination) -> int:
        head = self.context.get("head")
        return max(head - destination.last_seq_sent, 0) if head is not None else siem.lag(destination)


_AUTH_HELP = "Splunk HEC: the collector's token; OTLP: the Authorization header's value. Never returned."


class SiemDestinationViewSet(
    StrictQueryParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet
):
    """SIEM destinations of the audit trail (administrators only). Disable one with ``enabled: false``."""

    class Input(inputs.Input):
        name = serializers.SlugField(max_length=64)
        kind = _choice(SiemDestination.Kind.values)
        host = serializers.CharField(max_length=253, required=False, allow_blank=True, default="")
        port = serializers.IntegerField(min_value=1, max_value=65535, required=False, allow_null=True)
        url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
        token = serializers.CharField(
            max_length=500,
            required=False,
            allow_blank=True,
            default="",
            write_only=True,
            help_text=_AUTH_HELP,
        )
        ca_bundle = serializers.CharField(max_length=100_000, required=False, allow_blank=True, default="")
        format = _choice(SiemDestination.Format.values, default=SiemDestination.Format.CEF)
        enabled = serializers.BooleanField(default=True)
        batch_size = serializers.IntegerField(min_value=1, max_value=1000, default=500)

    class UpdateInput(inputs.Input):
        host = serializers.CharField(max_length=253, required=False, allow_blank=True)
        port = serializers.IntegerField(min_value=1, max_value=65535, required=False, allow_null=True)
        url = serializers.URLField(max_length=500, required=False, allow_blank=True)
        token = serializers.CharField(
            max_length=500, required=False, allow_blank=True, write_only=True, help_text=_AUTH_HELP
        )
        ca_bundle = serializers.CharField(max_length=100_000, required=False, allow_blank=True)
        format = _choice(SiemDestination.Format.values, required=False)
        enabled = serializers.BooleanField(required=False)
        batch_size = serializers.IntegerField(min_value=1, max_value=1000, required=False)

    permission_classes = [MayDo.of("administer")]
    serializer_class = SiemDestinationOutput
    filter_backends: list = []
    lookup_field = "name"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    queryset = SiemDestination.objects.all()

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "head": siem.head_seq()}

    @extend_schema(request=Input, responses={201: SiemDestinationOutput})
    def create(self, request):
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        destination = siem.destination_create(actor=request.user, **body.validated_data)
        return Response(
            SiemDestinationOutput(destination, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=UpdateInput, responses={200: SiemDestinationOutput})
    def partial_update(self, request, name=None):
        body = self.UpdateInput(data=request.data)
        body.is_valid(raise_exception=True)
        destination = siem.destination_update(
            actor=request.user, destination=self.get_object(), **body.validated_data
        )
        return Response(SiemDestinationOutput(destination, context=self.get_serializer_context()).data)
