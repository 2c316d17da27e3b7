"""Registry reads that a user sees. Each takes the user and returns a permission-scoped queryset.

List querysets fetch what their serializers need in a fixed number of queries (select_related for
single-valued relations, Subquery annotations instead of joins+GROUP BY, prefetches for the rest), so
a page of 1 and a page of 500 cost the same number of round trips.
"""

from __future__ import annotations

from django.db.models import BooleanField, Count, ExpressionWrapper, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts import access
from registry.models import (
    Dataset,
    DatasetVersion,
    LineageEdge,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
    SavedFilter,
    TierChange,
    TieringRule,
)
from registry.models.inventory import ModelStatus
from registry.models.lineage import EdgeKind
from registry.references import InvalidReference, Reference, parse_dataset_reference


def _latest_version_number():
    latest = ModelVersion.objects.filter(model=OuterRef("pk")).order_by("-version").values("version")[:1]
    return Subquery(latest)


def _count_of(model, parent_field: str):
    counted = (
        model.objects.filter(**{parent_field: OuterRef("pk")})
        .order_by()
        .values(parent_field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


def review_overdue() -> ExpressionWrapper:
    """Annotate a model list with it (the pages do): the same rule as the API's ``review_overdue`` filter,
    past due and not retired."""
    condition = Q(next_review_due__lt=timezone.now().date()) & ~Q(status=ModelStatus.RETIRED)
    return ExpressionWrapper(condition, output_field=BooleanField())


def model_list(*, user) -> QuerySet[RegisteredModel]:
    """Models the user may see, with team, owner, latest version number, version count, aliases and
    upstream models (the list shows a summary, the detail everything)."""
    aliases = Prefetch("aliases", queryset=ModelAlias.objects.select_related("version").order_by("name"))
    upstream = Prefetch(
        "edges_in",
        queryset=LineageEdge.objects.filter(kind=EdgeKind.UPSTREAM_MODEL).select_related("src_model"),
        to_attr="upstream_edges",
    )
    queryset = (
        RegisteredModel.objects.select_related("team", "owner", "tier_rule")
        .prefetch_related(aliases, upstream)
        .annotate(latest_version=_latest_version_number(), version_count=_count_of(ModelVersion, "model"))
    )
    return access.scope(user, queryset)


def tier_change_list(*, user) -> QuerySet[TierChange]:
    """Tier changes of the models the user may see, newest first."""
    queryset = TierChange.objects.select_related("model", "requested_by", "decided_by", "rule")
    return access.scope(user, queryset)


def model_get(*, user, name: str) -> RegisteredModel:
    """The model by name if the user may see it (404 otherwise)."""
    return get_object_or_404(
        access.scope(user, RegisteredModel.objects.select_related("team", "owner")), name=name
    )


def version_list(*, user, model: RegisteredModel | None = None) -> QuerySet[ModelVersion]:
    """Versions the user may see (of ``model`` when given) with their aliases and lineage inputs."""
    incoming = Prefetch(
        "edges_in",
        queryset=LineageEdge.objects.filter(
            kind__in=[EdgeKind.TRAINED_ON, EdgeKind.VALIDATED_ON, EdgeKind.PARENT]
        ).select_related("src_dataset__dataset", "src_version__model"),
        to_attr="input_edges",
    )
    queryset = ModelVersion.objects.select_related("model", "model__team", "created_by").prefetch_related(
        Prefetch("aliases", queryset=ModelAlias.objects.order_by("name")), incoming
    )
    if model is not None:
        queryset = queryset.filter(model=model)
    return access.scope(user, queryset).order_by("-version")


def version_by_reference(*, user, model_name: str, version: int, action: str = "view") -> ModelVersion | None:
    return (
        access.scope(user, ModelVersion.objects.select_related("model"), action)
        .filter(model__name=model_name, version=version)
        .first()
    )


def model_version_by_reference(*, user, reference: Reference, action: str = "view") -> ModelVersion | None:
    """The version a parsed reference names (a number, an alias, or the newest), if the user may see it."""
    queryset = access.scope(user, ModelVersion.objects.select_related("model"), action).filter(
        model__name=reference.name
    )
    if reference.version is not None:
        return queryset.filter(version=reference.version).first()
    if reference.alias is not None:
        return queryset.filter(aliases__name=reference.alias, aliases__model__name=reference.name).first()
    return queryset.order_by("-version").first()


def alias_list(*, user, model: RegisteredModel) -> QuerySet[ModelAlias]:
    queryset = ModelAlias.objects.select_related("model", "version", "updated_by").filter(model=model)
    return access.scope(user, queryset).order_by("name")


def dataset_list(*, user) -> QuerySet[Dataset]:
    queryset = Dataset.objects.select_related("team", "owner").annotate(
        version_count=_count_of(DatasetVersion, "dataset"),
        latest_version=Subquery(
            DatasetVersion.objects.filter(dataset=OuterRef("pk")).order_by("-version").values("version")[:1]
        ),
    )
    return access.scope(user, queryset)


def dataset_get(*, user, name: str) -> Dataset:
    return get_object_or_404(access.scope(user, Dataset.objects.select_related("team", "owner")), name=name)


def dataset_version_list(*, user, dataset: Dataset | None = None) -> QuerySet[DatasetVersion]:
    queryset = DatasetVersion.objects.select_related("dataset", "dataset__team", "created_by")
    if dataset is not None:
        queryset = queryset.filter(dataset=dataset)
    return access.scope(user, queryset).order_by("-version")


def dataset_version_by_reference(*, user, reference: str | Reference) -> DatasetVersion | None:
    """``name:version`` or ``name`` (its newest version), if the user may see it; None when it names
    none (registry.references.parse_dataset_reference says why text does not parse)."""
    if isinstance(reference, str):
        try:
            reference = parse_dataset_reference(reference)
        except InvalidReference:
            return None
    queryset = access.scope(user, DatasetVersion.objects.select_related("dataset")).filter(
        dataset__name=reference.name
    )
    if reference.version is not None:
        return queryset.filter(version=reference.version).first()
    return queryset.order_by("-version").first()


def tiering_rule_list(*, user) -> QuerySet[TieringRule]:
    """Every version of the tiering rule; visible to anyone with a role (it explains the tiers)."""
    if not access.roles_of(user):
        return TieringRule.objects.none()
    return TieringRule.objects.select_related("created_by").order_by("-version")


def saved_filter_list(*, user) -> QuerySet[SavedFilter]:
    """The user's own saved inventory filters (nobody else's, whatever their role), by name."""
    if not access.is_active_user(user):
        return SavedFilter.objects.none()
    return SavedFilter.objects.filter(owner=user).order_by("name", "pk")
