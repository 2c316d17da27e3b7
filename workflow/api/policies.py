"""``/api/v1/policies/`` and ``/api/v1/controls/``: the rules per tier and the control catalogue."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from config.api import inputs
from config.api.filters import deprecated_alias
from config.api.viewsets import ScopedViewSet
from registry.api.references import (
    MODEL_FIELD_HELP,
    MODEL_REFERENCE,
    VERSION_PARAMETER,
    model_reference_field,
    version_field,
)
from workflow import selectors
from workflow.api.common import visible_version
from workflow.models import Control, EvidenceChange
from workflow.services import controls as control_services
from workflow.services import policies as policy_services


class PolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedViewSet):
    """Policies per risk tier. Creating one makes a new version of the tier's policy and activates it."""

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        tier = serializers.IntegerField()
        version = serializers.IntegerField()
        name = serializers.CharField()
        is_active = serializers.BooleanField()
        required_checks = serializers.JSONField()
        required_evidence = serializers.JSONField()
        stages = serializers.JSONField()
        gated_environments = serializers.JSONField()
        segregation = serializers.JSONField()
        review_frequency_months = serializers.IntegerField()
        approval_valid_months = serializers.IntegerField()
        blocking_finding_severity = serializers.CharField()
        review_trigger_severity = serializers.CharField()
        evidence_change = serializers.CharField(
            help_text="What the gate does when material evidence arrives after an approval: close_gate or warn."
        )
        model_wide_findings = serializers.JSONField(
            help_text="Finding sources (check, monitoring, review) that block every version of the model."
        )
        environment_promotions = serializers.JSONField(
            help_text='Environment → the gated environments its approval also covers, e.g. {"production": '
            '["staging"]}.'
        )
        red_team_required = serializers.BooleanField(help_text="An approval needs an imported red-team run.")
        red_team_tolerance = serializers.FloatField(
            help_text="How much worse (0-1) a version's attack success rate in any OWASP category may be than "
            "the latest approved version's."
        )
        judged_metric_minimums = serializers.JSONField(
            help_text='Judged evaluation metrics an approval needs, with the lowest mean score: {"Faithfulness": 0.8}.'
        )
        judge_kappa_minimum = serializers.FloatField(
            allow_null=True,
            help_text="The judge's least Cohen's kappa against a human-labelled sample, or null.",
        )
        created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
        created_at = serializers.DateTimeField()

    class Input(inputs.Input):
        tier = serializers.IntegerField(min_value=1, max_value=3)
        name = serializers.CharField(max_length=200)
        # item types checked here; what each item means is the service's to check
        required_checks = serializers.ListField(child=serializers.DictField(), default=list)
        required_evidence = serializers.ListField(child=serializers.CharField(max_length=64), default=list)
        stages = serializers.ListField(
            child=serializers.DictField(),
            help_text="Ordered stages {key, title, role, quorum, meaning, due_days (1-90, default 5)}.",
        )
        gated_environments = serializers.DictField(
            help_text='Environment → stage keys, e.g. {"production": ["validation", "risk"]}.'
        )
        segregation = serializers.ListField(
            child=serializers.CharField(max_length=64), default=list(policy_services.SEGREGATION_PARTIES)
        )
        review_frequency_months = serializers.IntegerField(default=12)
        approval_valid_months = serializers.IntegerField(default=12)
        blocking_finding_severity = serializers.CharField(default="high")
        review_trigger_severity = serializers.CharField(default="high")
        evidence_change = serializers.ChoiceField(choices=EvidenceChange.choices, default=EvidenceChange.WARN)
        model_wide_findings = serializers.ListField(child=serializers.CharField(max_length=64), default=list)
        environment_promotions = serializers.DictField(
            child=serializers.ListField(child=serializers.CharField(max_length=64), max_length=20),
            default=dict,
            help_text='Environment → the gated environments its approval also covers, e.g. {"production": '
            "[\"staging\"]}; each covered environment's stages must be among the covering one's.",
        )
        red_team_required = serializers.BooleanField(
            default=False, help_text="An approval needs an imported red-team run on the version."
        )
        red_team_tolerance = serializers.FloatField(
            default=0.05,
            min_value=0.0,
            max_value=1.0,
            help_text="How much worse (0-1) a version's attack success rate in any OWASP category may be than "
            "the latest approved version's before its approval is refused.",
        )
        judged_metric_minimums = serializers.DictField(
            child=serializers.FloatField(min_value=0.0, max_value=1.0),
            default=dict,
            help_text="Judged evaluation metrics an approval needs, with the lowest mean score (0-1): "
            '{"Faithfulness": 0.8}.',
        )
        judge_kappa_minimum = serializers.FloatField(
            required=False,
            allow_null=True,
            default=None,
            min_value=-1.0,
            max_value=1.0,
            help_text="When set, each required judged metric needs a human-labelled sample with at least this "
            "Cohen's kappa between judge and people.",
        )

    selector = staticmethod(selectors.policy_list)
    serializer_class = Output
    filterset_fields = ["tier", "is_active"]
    ordering_fields = ["tier", "version"]

    @extend_schema(request=Input, responses={201: Output})
    def create(self, request):
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        tier = data.pop("tier")
        policy = policy_services.policy_create_version(actor=request.user, tier=tier, rules=data)
        return Response(self.Output(policy).data, status=status.HTTP_201_CREATED)


class ControlFilter(django_filters.FilterSet):
    framework = django_filters.CharFilter(field_name="framework__key", help_text="Framework key.")
    framework__key = deprecated_alias("framework", django_filters.CharFilter(field_name="framework__key"))

    class Meta:
        model = Control
        fields = ["framework", "framework__key"]


class ControlViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The control catalogue (SR 11-7, EU AI Act Annex IV, NIST AI RMF, ISO/IEC 42001 Annex A)."""

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        framework = serializers.CharField(source="framework.key")
        framework_title = serializers.CharField(source="framework.title")
        key = serializers.CharField()
        title = serializers.CharField()
        description = serializers.CharField()
        satisfied_by = serializers.JSONField()

    class CoverageOutput(serializers.Serializer):
        model = serializers.CharField()
        version = serializers.IntegerField()
        satisfied = serializers.IntegerField()
        total = serializers.IntegerField()
        controls = serializers.JSONField()

    selector = staticmethod(selectors.control_list)
    error_statuses = (404,)  # coverage of a model or version the caller cannot see
    serializer_class = Output
    filterset_class = ControlFilter
    search_fields = ["key", "title"]

    @extend_schema(
        parameters=[
            OpenApiParameter("model", MODEL_REFERENCE, required=True, description=MODEL_FIELD_HELP),
            OpenApiParameter("version", VERSION_PARAMETER, required=False),
        ],
        responses={200: CoverageOutput},
    )
    @action(detail=False, methods=["get"])
    def coverage(self, request):
        """The gap report: every control with whether this version satisfies it and what is missing."""
        reference = _VersionQuery(data=request.query_params)
        reference.is_valid(raise_exception=True)
        version = visible_version(
            request.user, reference.validated_data["model"], reference.validated_data.get("version")
        )
        rows = control_services.control_coverage(version)
        body = {
            "model": version.model.name,
            "version": version.version,
            "satisfied": sum(row["satisfied"] for row in rows),
            "total": len(rows),
            "controls": rows,
        }
        return Response(self.CoverageOutput(body).data)


class _VersionQuery(serializers.Serializer):
    model = model_reference_field()
    version = version_field()
