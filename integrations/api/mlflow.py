"""``/api/v1/mlflow/``: connected MLflow registries, their import and sync jobs, and the webhook receiver
MLflow delivers to (authenticated by its HMAC signature, not by a token)."""

from __future__ import annotations

import logging

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from accounts import access
from accounts.api.common import MayDo
from accounts.models import User
from config.api import inputs
from config.api.errors import error_body
from config.api.query import StrictQueryParameters
from integrations.models import MlflowRegistry, MlflowSync
from integrations.services import mlflow_sync, registries

logger = logging.getLogger(__name__)


class RegistryOutput(serializers.Serializer):
    name = serializers.CharField()
    tracking_uri = serializers.URLField()
    team = serializers.CharField(source="team.name")
    run_as = serializers.CharField(source="run_as.username")
    model_names = serializers.ListField(child=serializers.CharField())
    poll_minutes = serializers.IntegerField()
    write_back = serializers.BooleanField()
    last_synced_at = serializers.DateTimeField(allow_null=True)
    webhook_url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_webhook_url(self, registry) -> str:
        request = self.context.get("request")
        path = f"/api/v1/mlflow/registries/{registry.name}/webhook/"
        return request.build_absolute_uri(path) if request else path


class RegistryCreatedOutput(RegistryOutput):
    secret = serializers.CharField(help_text="The secret to give MLflow's webhook; shown once.")


class SyncOutput(serializers.Serializer):
    id = serializers.IntegerField()
    registry = serializers.CharField(source="registry.name")
    model = serializers.CharField(source="model_name", help_text="The MLflow model synced; empty: all.")
    trigger = serializers.CharField()
    status = serializers.CharField()
    progress = serializers.SerializerMethodField()
    result = serializers.JSONField()
    error = serializers.CharField()
    requested_by = serializers.CharField(source="requested_by.username")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_progress(self, job) -> dict:
        total = job.progress_total
        percent = (
            round(100 * job.progress_current / total, 1) if total else (100.0 if job.finished_at else 0.0)
        )
        return {"current": job.progress_current, "total": total, "percent": min(percent, 100.0)}


class ChangeToCreate:
    """Anyone may list what their teams hold (auditors and risk officers everything); creating needs
    a role that changes models (the service then checks the team)."""

    def get_permissions(self):
        return [MayDo.of("change" if self.action == "create" else "view")()]


class RegistryViewSet(
    ChangeToCreate, StrictQueryParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet
):
    """MLflow tracking servers whose registries are imported into the caller's teams."""

    class Input(inputs.Input):
        name = serializers.SlugField(max_length=64)
        tracking_uri = serializers.URLField(max_length=500)
        team = serializers.SlugField(max_length=64)
        run_as = serializers.CharField(max_length=150, required=False, help_text="Default: you.")
        model_names = serializers.ListField(
            child=serializers.CharField(max_length=256), max_length=registries.MAX_MODEL_NAMES, default=list
        )
        poll_minutes = serializers.IntegerField(min_value=0, max_value=24 * 60, default=15)
        write_back = serializers.BooleanField(default=True)

    serializer_class = RegistryOutput
    filter_backends: list = []
    lookup_field = "name"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"

    def get_queryset(self):
        found = access.scope(self.request.user, MlflowRegistry.objects.select_related("team", "run_as"))
        uri = self.request.query_params.get("tracking_uri")
        return found.filter(tracking_uri=registries.normalised_uri(uri)) if uri else found

    @extend_schema(
        parameters=[OpenApiParameter("tracking_uri", str, description="Only the registry of this server.")]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=Input, responses={201: RegistryCreatedOutput})
    def create(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        team = access.visible_teams(request.user).filter(name=fields.pop("team")).first()
        if team is None:
            raise serializers.ValidationError({"team": ["Unknown team."]})
        run_as = None
        if "run_as" in fields:
            run_as = User.objects.filter(username=fields.pop("run_as"), is_active=True).first()
            if run_as is None:
                raise serializers.ValidationError({"run_as": ["Unknown or inactive user."]})
        registry = registries.registry_create(actor=request.user, team=team, run_as=run_as, **fields)
        return Response(
            RegistryCreatedOutput(registry, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class SyncViewSet(
    ChangeToCreate, StrictQueryParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet
):
    """Imports and syncs: POST queues one (202; a sync of the same scope already waiting is returned, 200);
    GET shows its progress and, when done, what it did and each problem."""

    class Input(inputs.Input):
        registry = serializers.SlugField(max_length=64)
        model = serializers.CharField(max_length=256, required=False, allow_blank=True, default="")

    serializer_class = SyncOutput
    filter_backends: list = []
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        found = access.scope(self.request.user, MlflowSync.objects.select_related("registry", "requested_by"))
        params = self.request.query_params
        if params.get("registry"):
            found = found.filter(registry__name=params["registry"])
        if params.get("status"):
            if params["status"] not in MlflowSync.Status.values:
                raise serializers.ValidationError(
                    {"status": [f"One of: {', '.join(MlflowSync.Status.values)}."]}
                )
            found = found.filter(status=params["status"])
        return found

    @extend_schema(
        parameters=[
            OpenApiParameter("registry", str, description="Registry name."),
            OpenApiParameter("status", str, enum=[choice for choice, _ in MlflowSync.Status.choices]),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=Input, responses={202: SyncOutput, 200: SyncOutput})
    def create(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        registry = (
            access.scope(request.user, MlflowRegistry.objects.all())
            .filter(name=data.validated_data["registry"])
            .first()
        )
        if registry is None:
            raise serializers.ValidationError({"registry": ["Unknown MLflow registry."]})
        job, created = mlflow_sync.sync_request(
            actor=request.user, registry=registry, model_name=data.validated_data["model"]
        )
        location = request.build_absolute_uri(f"{request.path}{job.pk}/")
        return Response(
            SyncOutput(job).data,
            status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK,
            headers={"Location": location},
        )


class MlflowDeliveryOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["queued", "coalesced", "duplicate", "ignored"])
    sync = serializers.IntegerField(allow_null=True)


class WebhookReceiver(StrictQueryParameters, APIView):
    """Where MLflow delivers its model-registry webhooks (``MlflowClient().create_webhook(url=…, secret=…)``).

    The delivery is accepted only with a valid ``X-MLflow-Signature`` (HMAC-SHA256 with the registry's
    secret) and a ``X-MLflow-Timestamp`` within five minutes; a replayed ``X-MLflow-Delivery-Id`` is
    acknowledged and ignored. Anything else is a 401 that says nothing about the registry.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes: list = []  # the signature covers the raw body: it is read as bytes, never parsed first

    @extend_schema(request=None, responses={202: MlflowDeliveryOutput, 200: MlflowDeliveryOutput, 401: None})
    def post(self, request, name: str):
        registry = MlflowRegistry.objects.filter(name=name).select_related("run_as").first()
        body = request.body
        if registry is None:
            return _refused()
        try:
            payload = registries.verify_delivery(registry, request.headers, body)
        except registries.DeliveryRefused as exc:
            logger.warning("MLflow delivery to %s refused: %s", registry.name, exc)
            return _refused()
        outcome = registries.delivery_receive(  # one transaction, in the service
            registry=registry, delivery_id=request.headers[registries.DELIVERY_HEADER], payload=payload
        )
        code = status.HTTP_202_ACCEPTED if outcome.status == "queued" else status.HTTP_200_OK
        return Response(
            {"status": outcome.status, "sync": outcome.sync.pk if outcome.sync else None}, status=code
        )


def _refused() -> Response:
    body = error_body("not_authenticated", "The delivery's signature could not be verified.")
    return Response(body, status=status.HTTP_401_UNAUTHORIZED)
