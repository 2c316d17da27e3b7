"""``/api/v1/notifications/``: the caller's own in-app notifications; mark one or all read."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from config.api.filters import API_FILTER_BACKENDS
from config.api.query import StrictQueryParameters
from workflow import selectors
from workflow.models import Notification, NotificationKind
from workflow.services import inbox


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(
        field_name="read_at", lookup_expr="isnull", help_text="true: only unread; false: only read."
    )
    kind = django_filters.ChoiceFilter(choices=NotificationKind.choices)

    class Meta:
        model = Notification
        fields = ["unread", "kind"]


class NotificationViewSet(
    StrictQueryParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet
):
    """Your own notifications, newest first (nobody lists another person's, whatever their role).
    ``POST …/{id}/read/`` marks one read; ``POST …/read-all/`` marks every unread one read."""

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        kind = serializers.CharField()
        kind_label = serializers.CharField(source="get_kind_display")
        title = serializers.CharField()
        link = serializers.CharField()
        object_type = serializers.CharField()
        object_id = serializers.CharField()
        created_at = serializers.DateTimeField()
        read_at = serializers.DateTimeField(allow_null=True)

    class ReadAllOutput(serializers.Serializer):
        marked = serializers.IntegerField()

    serializer_class = Output
    filter_backends = API_FILTER_BACKENDS
    filterset_class = NotificationFilter
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return selectors.notification_list(user=self.request.user)

    @extend_schema(request=None, responses={200: Output})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = self.get_object()
        inbox.notifications_mark_read(actor=request.user, ids=[notification.pk])
        notification.refresh_from_db()
        return Response(self.Output(notification).data)

    @extend_schema(request=None, responses={200: ReadAllOutput})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked": inbox.notifications_mark_read(actor=request.user)})
