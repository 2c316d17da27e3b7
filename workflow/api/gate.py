"""``/api/v1/gate/``, ``/api/v1/deployments/`` and ``/api/v1/reviews/``: deploy only what was approved."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import inputs
from config.api.filters import VersionRecordFilter
from config.api.query import StrictQueryParameters
from config.api.schema import SLUG
from config.api.viewsets import ScopedViewSet
from registry import selectors as registry_selectors
from registry.api.references import (
    MODEL_FIELD_HELP,
    MODEL_REFERENCE,
    VERSION_PARAMETER,
    model_reference_field,
    version_field,
)
from workflow import selectors
from workflow.api.common import visible_version
from workflow.models import Deployment, Strategy
from workflow.services import gate as gate_services
from workflow.services import reviews as review_services


class GateQuery(serializers.Serializer):
    model = model_reference_field()
    version = version_field()
    environment = serializers.SlugField(max_length=20)

    def validate_environment(self, value: str) -> str:
        return gate_services.environment_key(value)


class GateAsk(GateQuery):
    digest = serializers.RegexField(
        gate_services.DIGEST_PATTERN,
        required=False,
        help_text="The SHA-256 (hex, optionally prefixed sha256:) of what you are about to ship: an LLM "
        "application's bundle digest, or the artifact's SHA-256. A mismatch closes the gate.",
    )


class GateView(StrictQueryParameters, APIView):
    """May this version go to this environment?

    ``{allowed, reasons[], codes[], warnings[], approval, approval_environment, approval_digest, evidence_changed,
    evidence_changes[], expires_at}``: the answer names the approval it rests on and the evidence digest
    its signers signed, and says whether material evidence arrived since (a new warning or failing run of
    a required check, a new required document). The policy decides whether that closes the gate
    (``evidence_changed_since_approval``) or only warns.
    """

    error_statuses = (404,)  # a model or version the caller cannot see

    class Output(serializers.Serializer):
        model = serializers.CharField()
        version = serializers.IntegerField()
        environment = serializers.CharField()
        allowed = serializers.BooleanField()
        reasons = serializers.ListField(child=serializers.CharField())
        codes = serializers.ListField(child=serializers.CharField())
        warnings = serializers.ListField(child=serializers.CharField())
        approval = serializers.IntegerField(allow_null=True)
        approval_environment = serializers.CharField(
            allow_blank=True,
            help_text="The environment the approval was given for: this one, or one whose approval covers "
            "it by the policy's environment_promotions (e.g. production covering staging); empty without one.",
        )
        approval_digest = serializers.CharField(allow_blank=True)
        evidence_changed = serializers.BooleanField()
        evidence_changes = serializers.ListField(child=serializers.CharField())
        expires_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(
        parameters=[
            OpenApiParameter("model", MODEL_REFERENCE, required=True, description=MODEL_FIELD_HELP),
            OpenApiParameter("version", VERSION_PARAMETER, required=False),
            OpenApiParameter("environment", {**SLUG, "maxLength": 20}, required=True),
            OpenApiParameter(
                "digest",
                {"type": "string", "pattern": gate_services.DIGEST_PATTERN},
                required=False,
                description="The digest you are about to ship (bundle digest or artifact SHA-256); "
                "a mismatch with the version's closes the gate (code digest_mismatch).",
            ),
        ],
        responses={200: Output},
    )
    def get(self, request):
        query = GateAsk(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        version = visible_version(request.user, data["model"], data.get("version"))
        decision = gate_services.gate_evaluate(
            version=version, environment=data["environment"], digest=data.get("digest", "")
        )
        body = {
            "model": version.model.name,
            "version": version.version,
            "environment": data["environment"],
            "allowed": decision.allowed,
            "reasons": decision.reasons,
            "codes": decision.codes,
            "warnings": decision.warnings,
            "approval": decision.approval.pk if decision.approval else None,
            "approval_environment": decision.approval_environment,
            "approval_digest": decision.approval_digest,
            "evidence_changed": decision.evidence_changed,
            "evidence_changes": decision.evidence_changes,
            "expires_at": decision.expires_at,
        }
        return Response(self.Output(body).data)


class DeploymentFilter(VersionRecordFilter):
    class Meta:
        model = Deployment
        fields = ["model", "version", "environment", "status", "model_version__model__name"]


class DeploymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Deployment records; POST records one (409 with the gate's reasons when it is closed)."""

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        model = serializers.CharField(source="model_version.model.name")
        version = serializers.IntegerField(source="model_version.version")
        environment = serializers.CharField()
        strategy = serializers.CharField()
        traffic_percent = serializers.IntegerField()
        approval = serializers.IntegerField(source="approval_id", allow_null=True)
        status = serializers.CharField()
        note = serializers.CharField()
        shipped_digest = serializers.CharField(
            help_text="The digest given when it was recorded (hex, checked by the gate); empty when none was."
        )
        deployed_by = serializers.CharField(source="deployed_by.username")
        deployed_at = serializers.DateTimeField()
        rolled_back_by = serializers.CharField(
            source="rolled_back_by.username", allow_null=True, default=None
        )
        rolled_back_at = serializers.DateTimeField(allow_null=True)
        rollback_reason = serializers.CharField()

    class Input(GateAsk):
        strategy = serializers.ChoiceField(choices=Strategy.choices, default=Strategy.FULL)
        traffic_percent = serializers.IntegerField(min_value=1, max_value=100, default=100)
        note = serializers.CharField(max_length=5000, allow_blank=True, default="")

    class RollbackInput(inputs.Input):
        reason = serializers.CharField(max_length=5000)

    selector = staticmethod(selectors.deployment_list)
    serializer_class = Output
    filterset_class = DeploymentFilter
    ordering_fields = ["deployed_at"]

    @extend_schema(request=Input, responses={201: Output})
    def create(self, request):
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        version = visible_version(request.user, data["model"], data.get("version"))
        deployment = gate_services.deployment_record(
            actor=request.user,
            version=version,
            environment=data["environment"],
            strategy=data["strategy"],
            traffic_percent=data["traffic_percent"],
            note=data["note"],
            digest=data.get("digest", ""),
        )
        return Response(self.Output(deployment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RollbackInput, responses={200: Output})
    @action(detail=True, methods=["post"])
    def rollback(self, request, pk=None):
        serializer = self.RollbackInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        deployment = gate_services.deployment_rollback(
            actor=request.user, deployment=self.get_object(), reason=serializer.validated_data["reason"]
        )
        return Response(self.Output(deployment).data)


class ReviewClearView(StrictQueryParameters, APIView):
    """A validator clears a model under review (``{model, reason}``), reopening its gate."""

    class Input(inputs.Input):
        model = serializers.SlugField(max_length=100)
        reason = serializers.CharField(max_length=5000)

    class Output(serializers.Serializer):
        model = serializers.CharField(source="name")
        status = serializers.CharField()

    @extend_schema(request=Input, responses={200: Output})
    def post(self, request):
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        model = registry_selectors.model_get(user=request.user, name=serializer.validated_data["model"])
        model = review_services.review_clear(
            actor=request.user, model=model, reason=serializer.validated_data["reason"]
        )
        return Response(self.Output(model).data)
