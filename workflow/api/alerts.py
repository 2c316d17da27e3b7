"""``/api/v1/monitoring-alerts/``: the alert inbox, and acknowledging, snoozing or escalating an alert.

Lives with the workflow because escalating raises a finding; acknowledging and snoozing call the
monitoring services. Who may act: ``handle_alert`` (the model's team and the second line); everyone who
may see the alert reads it; an alert outside the caller's scope is a 404.
"""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import access
from config.api import inputs
from config.api.filters import model_filter, version_filter
from config.api.viewsets import ScopedViewSet
from monitoring import selectors as monitoring_selectors
from monitoring.api.plans import AlertOutput
from monitoring.models import AlertSeverity, AlertState, MonitoringAlert
from monitoring.services import alerts as alert_services
from workflow.models import Severity
from workflow.services import findings as finding_services


class AlertFilter(django_filters.FilterSet):
    """``state`` as read now (a snooze that ended is ``open``), ``severity``, ``model``, ``version``, ``plan``."""

    state = django_filters.ChoiceFilter(field_name="current_state", choices=AlertState.choices)
    severity = django_filters.ChoiceFilter(choices=AlertSeverity.choices)
    model = model_filter("check_run__model_version__model__name")
    version = version_filter("check_run__model_version__version")
    plan = django_filters.NumberFilter(field_name="plan", help_text="Monitoring plan id.")

    class Meta:
        model = MonitoringAlert
        fields = ["state", "severity", "model", "version", "plan"]


class EscalationOutput(serializers.Serializer):
    alert = AlertOutput()
    finding = serializers.IntegerField(help_text="The finding the alert was escalated to.")
    created = serializers.BooleanField(help_text="False when the alert already had its finding.")


class MonitoringAlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Alerts on versions the caller may see, newest first. ``POST …/{id}/acknowledge/``, ``…/snooze/``
    (``{reason, until}``, at most 90 days ahead) and ``…/escalate/`` (``{severity?}``; idempotent)."""

    class SnoozeInput(inputs.Input):
        reason = serializers.CharField(max_length=alert_services.MAX_REASON)
        until = serializers.DateTimeField(
            help_text="ISO 8601 with a time zone; at least 5 minutes and at most 90 days from now."
        )

    class EscalateInput(inputs.Input):
        severity = serializers.ChoiceField(
            choices=Severity.choices,
            required=False,
            help_text="The finding's severity; by default critical alerts give critical findings, warnings medium.",
        )

    selector = staticmethod(monitoring_selectors.monitoring_alert_list)
    serializer_class = AlertOutput
    filterset_class = AlertFilter
    ordering_fields = ["created_at", "severity"]
    search_fields = ["title", "metric"]
    lookup_value_regex = r"\d+"

    def _reloaded(self, pk: int) -> dict:
        return AlertOutput(self.get_queryset().get(pk=pk)).data

    @extend_schema(request=None, responses={200: AlertOutput})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        alert = alert_services.monitoring_alert_acknowledge(actor=request.user, alert=self.get_object())
        return Response(self._reloaded(alert.pk))

    @extend_schema(request=SnoozeInput, responses={200: AlertOutput})
    @action(detail=True, methods=["post"])
    def snooze(self, request, pk=None):
        alert = self.get_object()
        access.require(request.user, "handle_alert", alert)  # a reader is refused before the body is read
        body = self.SnoozeInput(data=request.data)
        body.is_valid(raise_exception=True)
        alert = alert_services.monitoring_alert_snooze(
            actor=request.user,
            alert=alert,
            reason=body.validated_data["reason"],
            until=body.validated_data["until"],
        )
        return Response(self._reloaded(alert.pk))

    @extend_schema(request=EscalateInput, responses={200: EscalationOutput})
    @action(detail=True, methods=["post"])
    def escalate(self, request, pk=None):
        alert = self.get_object()
        access.require(request.user, "handle_alert", alert)
        body = self.EscalateInput(data=request.data)
        body.is_valid(raise_exception=True)
        finding, created = finding_services.finding_escalate_alert(
            actor=request.user, alert=alert, severity=body.validated_data.get("severity")
        )
        return Response({"alert": self._reloaded(alert.pk), "finding": finding.pk, "created": created})
