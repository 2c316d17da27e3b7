"""``/api/v1/models/``: the inventory. List, register, read, edit, lifecycle moves, tier overrides."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import access
from accounts.models import User
from config.api import inputs
from config.api.filters import deprecated_alias, model_filter
from config.api.viewsets import ScopedViewSet
from registry import selectors
from registry.api.common import NAME_REGEX, InventoryPagination, LabelField, StringMapField
from registry.models import RegisteredModel, TierChange, TierChangeStatus
from registry.models.inventory import AutonomyLevel, EUAIActCategory, ModelKind, ModelStatus, RiskTier
from registry.services import declarations, inventory


class ModelFilter(django_filters.FilterSet):
    team = django_filters.CharFilter(field_name="team__name")
    owner = django_filters.CharFilter(field_name="owner__username")
    tier = django_filters.TypedMultipleChoiceFilter(
        field_name="risk_tier", choices=RiskTier.choices, coerce=int
    )
    status = django_filters.MultipleChoiceFilter(choices=ModelStatus.choices)
    eu_ai_act_category = django_filters.ChoiceFilter(choices=EUAIActCategory.choices)
    is_third_party = django_filters.BooleanFilter()
    kind = django_filters.ChoiceFilter(choices=ModelKind.choices)
    tag = django_filters.CharFilter(method="filter_tag", help_text="`key` or `key=value`")
    review_overdue = django_filters.BooleanFilter(method="filter_review_overdue")

    class Meta:
        model = RegisteredModel
        fields = ["team", "owner", "tier", "status", "eu_ai_act_category", "is_third_party", "kind"]

    def filter_tag(self, queryset, name, value):
        key, equals, tag_value = value.partition("=")
        if equals:
            return queryset.filter(tags__contains={key: tag_value})
        return queryset.filter(tags__has_key=key)

    def filter_review_overdue(self, queryset, name, value):
        overdue = Q(next_review_due__lt=timezone.now().date()) & ~Q(status=ModelStatus.RETIRED)
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


class ModelSummaryOutput(serializers.Serializer):
    """One row of the inventory list; the detail adds the descriptive and questionnaire fields."""

    name = serializers.CharField()
    title = serializers.CharField()
    kind = serializers.CharField()
    team = serializers.CharField(source="team.name")
    owner = serializers.CharField(source="owner.username")
    risk_tier = serializers.IntegerField()
    status = serializers.CharField()
    eu_ai_act_category = serializers.CharField()
    is_third_party = serializers.BooleanField()
    next_review_due = serializers.DateField(allow_null=True)
    review_overdue = serializers.SerializerMethodField()
    tags = serializers.DictField(child=serializers.CharField())
    aliases = serializers.SerializerMethodField()
    latest_version = serializers.IntegerField(allow_null=True)
    version_count = serializers.IntegerField()
    updated_at = serializers.DateTimeField()

    def get_review_overdue(self, model) -> bool:
        due = model.next_review_due
        return bool(due and due < timezone.now().date() and model.status != ModelStatus.RETIRED)

    def get_aliases(self, model) -> dict[str, int]:
        return {alias.name: alias.version.version for alias in model.aliases.all()}


class ModelOutput(ModelSummaryOutput):
    """The whole inventory entry."""

    description = serializers.CharField()
    purpose = serializers.CharField()
    intended_use = serializers.CharField()
    out_of_scope_use = serializers.CharField()
    limitations = serializers.CharField()
    business_line = serializers.CharField()
    deployment_context = serializers.CharField()
    affected_persons = serializers.CharField()
    intended_users = serializers.CharField()
    human_oversight = serializers.CharField()
    autonomy_level = serializers.CharField()
    computed_tier = serializers.IntegerField()
    tier_override = serializers.IntegerField(allow_null=True)
    tier_override_reason = serializers.CharField()
    tier_answers = serializers.DictField(child=serializers.CharField())
    tier_rule_version = serializers.IntegerField(source="tier_rule.version", allow_null=True)
    vendor = serializers.CharField()
    favourable_label = LabelField()
    prohibited_features = serializers.ListField(child=serializers.CharField())
    review_frequency_months = serializers.IntegerField()
    last_reviewed_on = serializers.DateField(allow_null=True, help_text="Set by a completed periodic review.")
    valid_until = serializers.DateField(
        allow_null=True, help_text="Set or extended by a completed periodic review."
    )
    pending_tier_change = serializers.SerializerMethodField()
    lineage_namespace = serializers.CharField()
    lineage_job = serializers.CharField()
    upstream_models = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_upstream_models(self, model) -> list[str]:
        return sorted(edge.src_model.name for edge in model.upstream_edges)

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "description": "Answers that would lower the tier, held for a risk officer.",
        }
    )
    def get_pending_tier_change(self, model) -> dict | None:
        change = model.tier_changes.filter(status=TierChangeStatus.PENDING).first()
        return None if change is None else tier_change_summary(change)


def tier_change_summary(change: TierChange) -> dict:
    return {
        "id": change.pk,
        "url": reverse("api:tier-change-detail", args=[change.pk]),
        "current_tier": change.current_tier,
        "proposed_tier": change.proposed_tier,
        "requested_by": change.requested_by.get_username(),
        "requested_at": change.requested_at,
    }


class ModelFields(inputs.Input):
    """The inventory fields a team may set, shared by create and update."""

    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    purpose = serializers.CharField(required=False, allow_blank=True)
    intended_use = serializers.CharField(required=False, allow_blank=True)
    out_of_scope_use = serializers.CharField(required=False, allow_blank=True)
    limitations = serializers.CharField(required=False, allow_blank=True)
    business_line = serializers.CharField(required=False, allow_blank=True, max_length=200)
    deployment_context = serializers.CharField(required=False, allow_blank=True)
    affected_persons = serializers.CharField(required=False, allow_blank=True)
    kind = serializers.ChoiceField(
        choices=ModelKind.choices,
        required=False,
        help_text="ml_model (versions are artifacts) or llm_application (versions are bundles: "
        "POST …/bundles/). Fixed once the model has a version.",
    )
    intended_users = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    human_oversight = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=10000,
        help_text="How people oversee it (EU AI Act Art. 14).",
    )
    autonomy_level = serializers.ChoiceField(choices=AutonomyLevel.choices, required=False, allow_blank=True)
    owner = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True), required=False
    )
    tier_answers = serializers.DictField(child=serializers.CharField())
    eu_ai_act_category = serializers.ChoiceField(choices=EUAIActCategory.choices, required=False)
    is_third_party = serializers.BooleanField(required=False)
    vendor = serializers.CharField(required=False, allow_blank=True, max_length=200)
    favourable_label = LabelField(
        required=False,
        help_text="The target value that is the favourable outcome for the person (credit granted: "
        '"good"); checks use it when the dataset declares none. null: none declared.',
    )
    prohibited_features = serializers.ListField(
        child=serializers.CharField(max_length=declarations.MAX_FEATURE_NAME_CHARS),
        required=False,
        max_length=declarations.MAX_PROHIBITED_FEATURES,
        help_text="Feature names the model must not rely on (read by the explainability check).",
    )
    review_frequency_months = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=120,
        help_text="The first line may shorten it; a longer interval is a risk officer's or an administrator's.",
    )
    last_reviewed_on = serializers.DateField(
        required=False, allow_null=True, help_text="Refused (400): set by a completed periodic review."
    )
    valid_until = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Refused (400): set or extended by a completed periodic review.",
    )
    tags = StringMapField(required=False)
    lineage_namespace = serializers.CharField(required=False, max_length=200)
    lineage_job = serializers.CharField(required=False, max_length=200)
    upstream_models = serializers.ListField(
        child=serializers.SlugField(max_length=100), required=False, max_length=100
    )


class ModelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The model inventory, permission-scoped: a model outside the caller's teams is a 404."""

    class CreateInput(ModelFields):
        name = serializers.SlugField(max_length=100)
        team = serializers.SlugField(max_length=64)

    class UpdateInput(ModelFields):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            for field in self.fields.values():
                field.required = False

    class StatusInput(inputs.Input):
        status = serializers.ChoiceField(choices=ModelStatus.choices)
        reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")

    class TierInput(inputs.Input):
        tier = serializers.ChoiceField(choices=RiskTier.choices, allow_null=True)
        reason = serializers.CharField(max_length=2000)

    selector = staticmethod(selectors.model_list)
    serializer_class = ModelOutput
    filterset_class = ModelFilter
    pagination_class = InventoryPagination
    lookup_field = "name"
    lookup_value_regex = NAME_REGEX
    ordering_fields = ["name", "risk_tier", "status", "next_review_due", "created_at", "updated_at"]
    ordering = ["name"]
    search_fields = ["name", "title", "description", "purpose"]

    @extend_schema(request=CreateInput, responses={201: ModelOutput})
    def create(self, request):
        data = _validated(self.CreateInput, request.data)
        team = access.visible_teams(request.user).filter(name=data.pop("team")).first()
        if team is None:
            raise serializers.ValidationError({"team": ["Unknown team."]})
        upstream = _upstream(request.user, data.pop("upstream_models", []))
        model = inventory.model_create(actor=request.user, team=team, upstream=upstream, **data)
        return Response(self._output(model.name), status=status.HTTP_201_CREATED)

    @extend_schema(request=UpdateInput, responses={200: ModelOutput})
    def partial_update(self, request, name=None):
        model = self.get_object()
        data = _validated(self.UpdateInput, request.data)
        upstream = _upstream(request.user, data.pop("upstream_models")) if "upstream_models" in data else None
        inventory.model_update(actor=request.user, model=model, upstream=upstream, **data)
        return Response(self._output(model.name))

    @extend_schema(request=StatusInput, responses={200: ModelOutput})
    @action(detail=True, methods=["post"], url_path="status")
    def change_status(self, request, name=None):
        model = self.get_object()
        data = _validated(self.StatusInput, request.data)
        inventory.model_change_status(
            actor=request.user, model=model, status=data["status"], reason=data["reason"]
        )
        return Response(self._output(model.name))

    @extend_schema(request=TierInput, responses={200: ModelOutput})
    @action(detail=True, methods=["post"], url_path="tier-override")
    def tier_override(self, request, name=None):
        model = self.get_object()
        data = _validated(self.TierInput, request.data)
        inventory.model_override_tier(
            actor=request.user, model=model, tier=data["tier"], reason=data["reason"]
        )
        return Response(self._output(model.name))

    def get_serializer_class(self):
        return ModelSummaryOutput if self.action == "list" else ModelOutput

    def _output(self, name: str) -> dict:
        return ModelOutput(selectors.model_list(user=self.request.user).get(name=name)).data


def _validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _upstream(user, names: list[str]) -> list[RegisteredModel]:
    found = {m.name: m for m in access.scope(user, RegisteredModel.objects.filter(name__in=names))}
    missing = [name for name in names if name not in found]
    if missing:
        raise serializers.ValidationError({"upstream_models": [f"Unknown model {missing[0]!r}."]})
    return [found[name] for name in dict.fromkeys(names)]


class TierChangeFilter(django_filters.FilterSet):
    model = model_filter()
    model__name = deprecated_alias("model", model_filter())

    class Meta:
        model = TierChange
        fields = ["model", "status", "model__name"]


class TierChangeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Questionnaire answers that would lower a model's tier, held until a risk officer accepts or rejects
    them (``POST …/accept/`` or ``…/reject/`` with a reason; never the person who asked)."""

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        model = serializers.CharField(source="model.name")
        status = serializers.CharField()
        current_tier = serializers.IntegerField()
        proposed_tier = serializers.IntegerField()
        answers = serializers.DictField(child=serializers.CharField())
        rule_version = serializers.IntegerField(source="rule.version")
        requested_by = serializers.CharField(source="requested_by.username")
        requested_at = serializers.DateTimeField()
        decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
        decided_at = serializers.DateTimeField(allow_null=True)
        reason = serializers.CharField()

    class DecisionInput(inputs.Input):
        reason = serializers.CharField(max_length=5000)

    selector = staticmethod(selectors.tier_change_list)
    serializer_class = Output
    filterset_class = TierChangeFilter
    ordering_fields = ["requested_at"]
    lookup_value_regex = r"\d+"

    @extend_schema(request=DecisionInput, responses={200: Output})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._decide(request, accept=True)

    @extend_schema(request=DecisionInput, responses={200: Output})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, accept=False)

    def _decide(self, request, *, accept: bool):
        data = _validated(self.DecisionInput, request.data)
        change = inventory.tier_change_decide(
            actor=request.user, change=self.get_object(), accept=accept, reason=data["reason"]
        )
        return Response(self.Output(change).data)
