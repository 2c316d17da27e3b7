"""``/api/v1/monitoring-plans/``: scheduled checks of a deployed version, and the alerts they raised."""

from __future__ import annotations

import django_filters
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts import access
from config.api import inputs
from config.api.filters import model_filter, version_filter
from config.api.schema import JSONObjectField
from config.api.viewsets import ScopedViewSet
from monitoring import selectors, trends
from monitoring.api.common import (
    DatasetVersionField,
    check_config,
    dataset_of,
    dataset_version_of,
    version_of,
)
from monitoring.models.plans import AlertOn, MonitoringPlan
from monitoring.models.runs import RUNNABLE_KINDS
from monitoring.services import plans as plan_services
from registry.api.references import dataset_reference_field, model_reference_field, version_field
from registry.references import DATASET_REFERENCE_HELP


class CheckEntry(inputs.Input):
    kind = serializers.ChoiceField(choices=RUNNABLE_KINDS)
    config = JSONObjectField(required=False, default=dict)


def check_entries(entries: list[dict]) -> None:
    """Each check's options against its kind's declarations, named as the service names them
    (``checks[0].config.options.bootstrap``)."""
    for index, entry in enumerate(entries):
        try:
            check_config(entry["kind"], entry.get("config"))
        except ValidationError as exc:
            raise ValidationError(
                {f"checks[{index}].{key}": value for key, value in exc.detail.items()}
            ) from None


class AlertOutput(serializers.Serializer):
    """A monitoring alert with its handling (``/api/v1/monitoring-alerts/`` and a plan's ``alerts``)."""

    id = serializers.IntegerField()
    plan = serializers.IntegerField(
        source="plan_id", allow_null=True, help_text="None for an alert raised by production telemetry."
    )
    check_run = serializers.IntegerField(source="check_run_id")
    model = serializers.CharField(source="check_run.model_version.model.name")
    version = serializers.IntegerField(source="check_run.model_version.version")
    title = serializers.CharField(help_text="The worst breaching subject and its metrics.")
    metric = serializers.CharField(help_text="The single worst breaching evaluation.")
    value = serializers.FloatField(allow_null=True)
    threshold = serializers.FloatField(allow_null=True)
    severity = serializers.CharField()
    message = serializers.CharField()
    breaches = serializers.JSONField(
        help_text="Every breaching evaluation, worst first, with its exceedance."
    )
    created_at = serializers.DateTimeField()
    state = serializers.CharField(
        source="current_state",
        help_text="open · acknowledged · snoozed · escalated; an ended snooze is open.",
    )
    acknowledged_by = serializers.CharField(source="acknowledged_by.username", allow_null=True, default=None)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    snoozed_by = serializers.CharField(source="snoozed_by.username", allow_null=True, default=None)
    snoozed_at = serializers.DateTimeField(allow_null=True)
    snooze_reason = serializers.CharField()
    snoozed_until = serializers.DateTimeField(allow_null=True)
    escalated_by = serializers.CharField(source="escalated_by.username", allow_null=True, default=None)
    escalated_at = serializers.DateTimeField(allow_null=True)


class TrendPointOutput(serializers.Serializer):
    check_run = serializers.IntegerField()
    at = serializers.DateTimeField(help_text="When the run finished.")
    value = serializers.FloatField(allow_null=True)
    status = serializers.CharField(help_text="pass · warn · fail as the run judged it; info when not judged.")
    threshold = serializers.FloatField(allow_null=True)


class TrendOutput(serializers.Serializer):
    key = serializers.CharField()
    kind = serializers.CharField()
    metric = serializers.CharField()
    scope = serializers.CharField()
    label = serializers.CharField()
    direction = serializers.CharField()
    log_scale = serializers.BooleanField()
    thresholds = serializers.ListField(child=serializers.FloatField())
    points = TrendPointOutput(many=True)


class MonitoringPlanFilter(django_filters.FilterSet):
    """``model`` and ``version`` as on every list of a version's records; ``enabled`` for paused plans."""

    model = model_filter("model_version__model__name")
    version = version_filter()

    class Meta:
        model = MonitoringPlan
        fields = ["model", "version", "enabled"]


class MonitoringPlanViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, ScopedViewSet
):
    """Plans on versions the caller may see; the version's team's ML engineers and admins change them."""

    class Input(inputs.Input):
        title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        model = model_reference_field()
        version = version_field()
        dataset = serializers.CharField(
            max_length=100, help_text="Dataset whose newest 'production batch' version each run checks."
        )
        reference_dataset = dataset_reference_field(
            required=False,
            allow_blank=True,
            default="",
            help_text=f"{DATASET_REFERENCE_HELP} For drift/quality.",
        )
        checks = CheckEntry(many=True)
        crontab = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        interval_seconds = serializers.IntegerField(
            required=False,
            allow_null=True,
            default=None,
            min_value=plan_services.MIN_INTERVAL_SECONDS,
            max_value=plan_services.MAX_INTERVAL_SECONDS,
        )
        enabled = serializers.BooleanField(required=False, default=True)
        alert_on = serializers.ChoiceField(choices=AlertOn.choices, required=False, default=AlertOn.FAIL)

        def validate(self, attrs):
            check_entries(attrs.get("checks") or [])
            return attrs

    class UpdateInput(inputs.Input):
        title = serializers.CharField(max_length=200, required=False, allow_blank=True)
        reference_dataset = dataset_reference_field(required=False, allow_blank=True)
        checks = CheckEntry(many=True, required=False)
        crontab = serializers.CharField(max_length=100, required=False, allow_blank=True)
        interval_seconds = serializers.IntegerField(
            required=False,
            allow_null=True,
            min_value=plan_services.MIN_INTERVAL_SECONDS,
            max_value=plan_services.MAX_INTERVAL_SECONDS,
        )
        enabled = serializers.BooleanField(required=False)
        alert_on = serializers.ChoiceField(choices=AlertOn.choices, required=False)

        def validate(self, attrs):
            check_entries(attrs.get("checks") or [])
            return attrs

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        url = serializers.SerializerMethodField()
        title = serializers.CharField()
        model = serializers.CharField(source="model_version.model.name")
        version = serializers.IntegerField(source="model_version.version")
        dataset = serializers.CharField(source="dataset.name")
        reference_dataset = DatasetVersionField(allow_null=True)
        checks = serializers.JSONField()
        crontab = serializers.CharField()
        interval_seconds = serializers.IntegerField(allow_null=True)
        schedule = serializers.CharField(source="schedule_text")
        enabled = serializers.BooleanField()
        alert_on = serializers.CharField()
        periodic_task = serializers.CharField(source="periodic_task.name", allow_null=True, default=None)
        last_run_at = serializers.DateTimeField(allow_null=True)
        last_batch = DatasetVersionField(allow_null=True)
        next_run_at = serializers.DateTimeField(allow_null=True)
        created_by = serializers.CharField(source="created_by.username")
        created_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()

        def get_url(self, plan) -> str:
            return reverse("api:monitoring-plan-detail", args=[plan.pk])

    selector = staticmethod(selectors.monitoring_plan_list)
    serializer_class = Output
    filterset_class = MonitoringPlanFilter
    ordering_fields = ["created_at", "next_run_at"]
    search_fields = ["title", "model_version__model__name"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return super().get_queryset().select_related("periodic_task")

    @extend_schema(request=Input, responses={201: Output})
    def create(self, request):
        user = request.user
        access.require(user, "change")
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        plan = plan_services.monitoring_plan_create(
            actor=user,
            version=version_of(user, data["model"], data.get("version")),
            dataset=dataset_of(user, data["dataset"]),
            reference=dataset_version_of(user, data["reference_dataset"], "reference_dataset"),
            checks=[dict(entry) for entry in data["checks"]],
            crontab=data["crontab"],
            interval_seconds=data["interval_seconds"],
            enabled=data["enabled"],
            alert_on=data["alert_on"],
            title=data["title"],
        )
        output = self.Output(self.get_queryset().get(pk=plan.pk)).data
        return Response(output, status=status.HTTP_201_CREATED, headers={"Location": output["url"]})

    @extend_schema(request=UpdateInput, responses={200: Output})
    def partial_update(self, request, pk=None):
        plan = self.get_object()
        access.require(request.user, "change", plan.model_version)
        body = self.UpdateInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        if "reference_dataset" in changes:
            changes["reference_dataset"] = dataset_version_of(
                request.user, changes["reference_dataset"], "reference_dataset"
            )
        if "checks" in changes:
            changes["checks"] = [dict(entry) for entry in changes["checks"]]
        plan_services.monitoring_plan_update(actor=request.user, plan=plan, **changes)
        return Response(self.Output(self.get_queryset().get(pk=plan.pk)).data)

    def perform_destroy(self, instance):
        plan_services.monitoring_plan_delete(actor=self.request.user, plan=instance)

    # the plans' filters, ordering and search are not the alerts' (the list is the plan's, newest first)
    @extend_schema(responses={200: AlertOutput(many=True)}, filters=False)
    @action(detail=True, methods=["get"])
    def alerts(self, request, pk=None):
        """Alerts this plan's runs raised, newest first."""
        plan = self.get_object()
        page = self.paginate_queryset(selectors.monitoring_alert_list(user=request.user, plan=plan))
        return self.get_paginated_response(AlertOutput(page, many=True).data)

    @extend_schema(responses={200: TrendOutput(many=True)}, filters=False)
    @action(detail=True, methods=["get"])
    def trends(self, request, pk=None):
        """One series per metric and subject over the plan's newest 200 succeeded runs, oldest point first:
        each value, status and threshold as its run recorded it (the plan page's charts draw these)."""
        plan = self.get_object()
        series = trends.plan_trends(selectors.plan_runs(plan=plan))
        return Response(TrendOutput([item.as_dict() for item in series], many=True).data)
