"""``/api/v1/webhooks/``: outgoing Standard Webhooks endpoints (administrators) and their delivery log."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from accounts.api.common import MayDo
from config.api import inputs
from config.api.query import StrictQueryParameters
from workflow import selectors
from workflow.models.notifications import WEBHOOK_EVENTS
from workflow.services import notifications


class DeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    message_id = serializers.CharField()
    event_type = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)


class WebhookViewSet(
    StrictQueryParameters,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    GenericViewSet,
):
    """Webhook endpoints. The signing secret (``whsec_…``) is returned once, when the endpoint is created."""

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        url = serializers.URLField()
        description = serializers.CharField()
        events = serializers.JSONField()
        team = serializers.CharField(source="team.name", allow_null=True, default=None)
        is_active = serializers.BooleanField()
        created_at = serializers.DateTimeField()

    class CreatedOutput(Output):
        secret = serializers.CharField()

    class Input(inputs.Input):
        url = serializers.URLField(max_length=1000)
        description = serializers.CharField(max_length=300, allow_blank=True, default="")
        events = serializers.ListField(child=serializers.ChoiceField(choices=WEBHOOK_EVENTS), default=list)

    class UpdateInput(inputs.Input):
        url = serializers.URLField(max_length=1000, required=False)
        description = serializers.CharField(max_length=300, allow_blank=True, required=False)
        events = serializers.ListField(child=serializers.ChoiceField(choices=WEBHOOK_EVENTS), required=False)
        is_active = serializers.BooleanField(required=False)

    permission_classes = [MayDo.of("administer")]
    serializer_class = Output

    def get_queryset(self):
        return selectors.webhook_list(user=self.request.user)

    @extend_schema(request=Input, responses={201: CreatedOutput})
    def create(self, request):
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = notifications.webhook_create(actor=request.user, **serializer.validated_data)
        return Response(self.CreatedOutput(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UpdateInput, responses={200: Output})
    def partial_update(self, request, pk=None):
        serializer = self.UpdateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = notifications.webhook_update(
            actor=request.user, endpoint=self.get_object(), **serializer.validated_data
        )
        return Response(self.Output(endpoint).data)

    def perform_destroy(self, instance):
        notifications.webhook_delete(actor=self.request.user, endpoint=instance)

    @extend_schema(responses={200: DeliveryOutput(many=True)})
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        deliveries = self.get_object().deliveries.order_by("-created_at")
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(DeliveryOutput(page, many=True).data)
