"""``/api/v1/grc-connectors/``: where evidence is pushed (administrators), the delivery log, and
``…/{id}/deliver/`` to push a finished report or bundle now.

The secret is returned once: in the response that creates the connector (a webhook's generated
``whsec_…``) or rotates it; a ServiceNow password is never returned at all.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from accounts.api.common import MayDo
from config.api import inputs
from config.api.query import StrictQueryParameters
from reports import selectors
from reports.api.common import choice
from reports.models import CONNECTOR_EVENTS, ConnectorKind, Payload
from reports.services import connectors as connector_services
from reports.services import deliveries as delivery_services


class GrcDeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    connector = serializers.CharField(source="connector.name")
    trigger = serializers.CharField()
    approval = serializers.IntegerField(source="approval_id", allow_null=True)
    report = serializers.IntegerField(source="report_id", allow_null=True)
    bundle = serializers.IntegerField(source="bundle_id", allow_null=True)
    message_id = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    sha256 = serializers.CharField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    log = serializers.JSONField(
        help_text="One entry per attempt: attempt, at, status_code, error, next_attempt_at."
    )
    created_at = serializers.DateTimeField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)


class GrcConnectorViewSet(
    StrictQueryParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet
):
    """GRC connectors (administrators only). Deactivate one with ``is_active: false``; the log stays."""

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        kind = serializers.CharField()
        url = serializers.URLField()
        username = serializers.CharField()
        events = serializers.JSONField()
        payload = serializers.CharField()
        is_active = serializers.BooleanField()
        created_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()

    class SecretOutput(Output):
        secret = serializers.CharField(help_text="The webhook signing secret: shown this once.")

    class Input(inputs.Input):
        name = serializers.SlugField(max_length=100)
        kind = choice(ConnectorKind.values)
        url = serializers.URLField(max_length=1000)
        events = serializers.ListField(child=choice(CONNECTOR_EVENTS), default=list)
        payload = serializers.ChoiceField(choices=Payload.choices, default=Payload.BUNDLE)
        username = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        password = serializers.CharField(
            max_length=500, required=False, allow_blank=True, default="", write_only=True
        )

    class UpdateInput(inputs.Input):
        url = serializers.URLField(max_length=1000, required=False)
        events = serializers.ListField(child=choice(CONNECTOR_EVENTS), required=False)
        payload = serializers.ChoiceField(choices=Payload.choices, required=False)
        is_active = serializers.BooleanField(required=False)
        username = serializers.CharField(max_length=200, required=False, allow_blank=True)
        password = serializers.CharField(max_length=500, required=False, write_only=True)
        rotate_secret = serializers.BooleanField(required=False, default=False)

    class DeliverInput(inputs.Input):
        report = serializers.IntegerField(required=False, allow_null=True)
        bundle = serializers.IntegerField(required=False, allow_null=True)

    permission_classes = [MayDo.of("administer")]
    serializer_class = Output
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return selectors.connector_list(user=self.request.user)

    @extend_schema(request=Input, responses={201: SecretOutput})
    def create(self, request):
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        connector = connector_services.connector_create(actor=request.user, **body.validated_data)
        output = self.SecretOutput if connector.kind == ConnectorKind.WEBHOOK else self.Output
        return Response(output(connector).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UpdateInput, responses={200: Output})
    def partial_update(self, request, pk=None):
        body = self.UpdateInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        connector = connector_services.connector_update(
            actor=request.user, connector=self.get_object(), **data
        )
        rotated = data.get("rotate_secret") and connector.kind == ConnectorKind.WEBHOOK
        return Response((self.SecretOutput if rotated else self.Output)(connector).data)

    @extend_schema(responses={200: GrcDeliveryOutput(many=True)})
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        """The delivery log of this connector, newest first."""
        deliveries = selectors.delivery_list(user=request.user, connector=self.get_object())
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(GrcDeliveryOutput(page, many=True).data)

    @extend_schema(request=DeliverInput, responses={202: GrcDeliveryOutput})
    @action(detail=True, methods=["post"])
    def deliver(self, request, pk=None):
        """Push a finished report or bundle to this connector now; 202 with the delivery."""
        connector = self.get_object()
        body = self.DeliverInput(data=request.data)
        body.is_valid(raise_exception=True)
        report_id, bundle_id = body.validated_data.get("report"), body.validated_data.get("bundle")
        report = (
            get_object_or_404(selectors.report_list(user=request.user), pk=report_id) if report_id else None
        )
        bundle = (
            get_object_or_404(selectors.bundle_list(user=request.user), pk=bundle_id) if bundle_id else None
        )
        delivery = delivery_services.delivery_request(
            actor=request.user, connector=connector, report=report, bundle=bundle
        )
        return Response(GrcDeliveryOutput(delivery).data, status=status.HTTP_202_ACCEPTED)
