"""``/api/v1/findings/``: raise findings and move them through their statuses."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import User
from config.api import inputs
from config.api.filters import deprecated_alias, model_filter, version_filter
from config.api.viewsets import ScopedViewSet
from registry import selectors as registry_selectors
from registry.api.references import model_reference, model_reference_field
from registry.references import MODEL_FORMS
from workflow import selectors
from workflow.models import Finding, FindingStatus, Severity
from workflow.services import findings as finding_services


class FindingFilter(django_filters.FilterSet):
    model = model_filter()
    version = version_filter()
    model__name = deprecated_alias("model", model_filter())

    class Meta:
        model = Finding
        fields = ["model", "version", "status", "severity", "source", "model__name"]


class FindingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Findings. Create: validators, risk officers and admins. ``POST …/{id}/status/`` moves one."""

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        model = serializers.CharField(source="model.name")
        version = serializers.IntegerField(source="model_version.version", allow_null=True, default=None)
        check_run = serializers.IntegerField(source="check_run_id", allow_null=True)
        source = serializers.CharField()
        severity = serializers.CharField()
        title = serializers.CharField()
        description = serializers.CharField()
        owner = serializers.CharField(source="owner.username")
        due_date = serializers.DateField(allow_null=True)
        status = serializers.CharField()
        resolution = serializers.CharField()
        raised_by = serializers.CharField(source="raised_by.username", allow_null=True, default=None)
        raised_at = serializers.DateTimeField()
        closed_at = serializers.DateTimeField(allow_null=True)

    class Input(inputs.Input):
        model = model_reference_field(
            help_text=f"The model (a name), or one of its versions (with `version`, or {MODEL_FORMS})."
        )
        version = serializers.IntegerField(min_value=1, required=False)
        severity = serializers.ChoiceField(choices=Severity.choices)
        title = serializers.CharField(max_length=300)
        description = serializers.CharField(max_length=20000, allow_blank=True, default="")
        owner = serializers.CharField(max_length=150, required=False)
        due_date = serializers.DateField(required=False)

    class StatusInput(inputs.Input):
        status = serializers.ChoiceField(choices=FindingStatus.choices)
        resolution = serializers.CharField(max_length=20000, allow_blank=True, default="")

    selector = staticmethod(selectors.finding_list)
    serializer_class = Output
    filterset_class = FindingFilter
    ordering_fields = ["raised_at", "due_date", "severity"]
    search_fields = ["title"]

    @extend_schema(request=Input, responses={201: Output})
    def create(self, request):
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # a bare name is the model (a finding need not be on a version); `version`, `name:version` or
        # `models:/…` name one of its versions
        reference = model_reference(data["model"], data.get("version"))
        model = registry_selectors.model_get(user=request.user, name=reference.name)
        version = None
        if not reference.is_bare_name:
            version = registry_selectors.model_version_by_reference(user=request.user, reference=reference)
            if version is None:
                raise serializers.ValidationError({"version": [f"{model.name} has no such version."]})
        owner = _owner(data.get("owner"))
        finding = finding_services.finding_raise(
            actor=request.user,
            model=model,
            version=version,
            severity=data["severity"],
            title=data["title"],
            description=data["description"],
            owner=owner,
            due_date=data.get("due_date"),
        )
        return Response(self.Output(finding).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=StatusInput, responses={200: Output})
    @action(detail=True, methods=["post"], url_path="status")
    def change_status(self, request, pk=None):
        serializer = self.StatusInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        finding = finding_services.finding_change_status(
            actor=request.user,
            finding=self.get_object(),
            status=serializer.validated_data["status"],
            resolution=serializer.validated_data["resolution"],
        )
        return Response(self.Output(finding).data)


def _owner(username: str | None) -> User | None:
    if not username:
        return None
    owner = User.objects.filter(username=username, is_active=True).first()
    if owner is None:
        raise serializers.ValidationError({"owner": [f"No active user '{username}'."]})
    return owner
