"""Inventory pages: the model list, a model, a version.

Every object is fetched through ``registry.selectors`` (and ``monitoring``/``governance`` selectors for
what hangs off a version), so a page shows exactly what the API would show the same user, and an object
outside the user's scope is a 404.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from config.ui import paginate
from governance import access
from governance import selectors as governance_selectors
from governance.models import Team, User
from monitoring import selectors as monitoring_selectors
from registry import graph, selectors, ui_lineage
from registry.api.models import ModelFilter
from registry.models import ModelVersion, RegisteredModel
from registry.models.inventory import ModelStatus, RiskTier
from registry.models.lineage import EdgeKind
from registry.tiering import FACTORS

MODEL_SORTS = {
    "name": "name",
    "tier": "risk_tier",
    "status": "status",
    "next_review": "next_review_due",
    "updated": "updated_at",
}
LINEAGE_DEPTH = 2
VERSIONS_SHOWN = 50
RUNS_SHOWN = 200
REVIEW_CHOICES = [("", "Any"), ("true", "Overdue"), ("false", "Not overdue")]
FILTERS_SHOWN = ("q", "team", "owner", "tier", "status", "tag", "review_overdue")


class InventoryFilter(ModelFilter):
    """The API's inventory filters with page labels, single-choice selects and a name/title search."""

    q = django_filters.CharFilter(method="filter_search", label="Search name or title")
    team = django_filters.ChoiceFilter(field_name="team__name", label="Team", empty_label="Any team")
    owner = django_filters.ChoiceFilter(field_name="owner__username", label="Owner", empty_label="Anyone")
    tier = django_filters.ChoiceFilter(
        field_name="risk_tier", choices=RiskTier.choices, label="Risk tier", empty_label="Any tier"
    )
    status = django_filters.ChoiceFilter(
        choices=ModelStatus.choices, label="Status", empty_label="Any status"
    )
    tag = django_filters.CharFilter(method="filter_tag", label="Tag (key or key=value)")
    review_overdue = django_filters.BooleanFilter(
        method="filter_review_overdue", label="Review", widget=forms.Select(choices=REVIEW_CHOICES)
    )

    def __init__(self, data, queryset: QuerySet[RegisteredModel]):
        super().__init__(data, queryset=queryset)
        # Only teams and owners of models the user can see: a filter must not list other teams.
        teams = Team.objects.filter(pk__in=queryset.values("team_id")).order_by("name")
        owners = User.objects.filter(pk__in=queryset.values("owner_id")).order_by("username")
        self.filters["team"].extra["choices"] = [(t.name, t.name) for t in teams]
        self.filters["owner"].extra["choices"] = [(u.username, u.username) for u in owners]

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(title__icontains=value))


def _overdue() -> ExpressionWrapper:
    """The same rule as the API's ``review_overdue`` filter: past due and not retired."""
    condition = Q(next_review_due__lt=timezone.now().date()) & ~Q(status=ModelStatus.RETIRED)
    return ExpressionWrapper(condition, output_field=BooleanField())


@login_required
@require_GET
def model_list(request: HttpRequest) -> HttpResponse:
    scoped = selectors.model_list(user=request.user)
    filterset = InventoryFilter(request.GET or None, queryset=scoped)
    models = filterset.qs.annotate(review_overdue=_overdue())
    listing = paginate(request, models, sorts=MODEL_SORTS, default_sort="name")
    context = {
        "filter_fields": [filterset.form[name] for name in FILTERS_SHOWN],
        "filtered": any(request.GET.get(name) for name in FILTERS_SHOWN),
        "listing": listing,
    }
    return render(request, "registry/model_list.html", context)


@login_required
@require_GET
def model_detail(request: HttpRequest, name: str) -> HttpResponse:
    user = request.user
    model = get_object_or_404(selectors.model_list(user=user).annotate(review_overdue=_overdue()), name=name)
    versions = list(selectors.version_list(user=user, model=model)[:VERSIONS_SHOWN])
    plans = list(monitoring_selectors.monitoring_plan_list(user=user).filter(model_version__model=model))
    context = {
        "model": model,
        "tier_answers": [(factor.replace("_", " "), model.tier_answers.get(factor)) for factor in FACTORS],
        "versions": versions,
        "plans": _with_last_alert(user, plans),
        "lineage": ui_lineage.layout(_model_graph(user, model, versions[0] if versions else None)),
        "can_run_checks": access.can(user, "run_checks", model),
    }
    return render(request, "registry/model_detail.html", context)


def _model_graph(user, model: RegisteredModel, latest: ModelVersion | None) -> dict:
    """The model's graph, plus what its newest version was built from (so the data shows too)."""
    graphs = [graph.lineage_graph(user=user, root=model, depth=LINEAGE_DEPTH)]
    if latest is not None:
        graphs.append(graph.lineage_graph(user=user, root=latest, depth=1))
    return ui_lineage.merge(*graphs)


def _with_last_alert(user, plans: list) -> list:
    """Each plan with ``last_alert``, its newest alert (one query: PostgreSQL DISTINCT ON)."""
    alerts = (
        monitoring_selectors.monitoring_alert_list(user=user)
        .filter(plan__in=[plan.pk for plan in plans])
        .order_by("plan_id", "-created_at", "-id")
        .distinct("plan_id")
    )
    newest = {alert.plan_id: alert for alert in alerts}
    for plan in plans:
        plan.last_alert = newest.get(plan.pk)
    return plans


@login_required
@require_GET
def version_detail(request: HttpRequest, name: str, number: int) -> HttpResponse:
    user = request.user
    model = selectors.model_get(user=user, name=name)
    version = get_object_or_404(selectors.version_list(user=user, model=model), version=number)
    runs = (
        monitoring_selectors.check_run_detail(user=user)
        .filter(model_version=version)
        .defer("results", "diagnostics", "evaluations", "config", "library_versions")
        .order_by("kind", "-created_at", "-id")[:RUNS_SHOWN]
    )
    evidence = governance_selectors.evidence_list(user=user).filter(model_version=version)
    context = {
        "model": model,
        "version": version,
        "run_link": _web_link(version.run_link),
        "inputs": _inputs(version),
        "runs": runs,
        "evidence": evidence,
        "lineage": ui_lineage.layout(graph.lineage_graph(user=user, root=version, depth=LINEAGE_DEPTH)),
        "can_run_checks": access.can(user, "run_checks", version),
    }
    return render(request, "registry/version_detail.html", context)


def _inputs(version: ModelVersion) -> dict[str, list]:
    """Training and validation datasets and the parent version, from the prefetched lineage edges."""
    found: dict[str, list] = {"training": [], "validation": [], "parent": []}
    for edge in version.input_edges:
        if edge.kind == EdgeKind.TRAINED_ON:
            found["training"].append(edge.src_dataset)
        elif edge.kind == EdgeKind.VALIDATED_ON:
            found["validation"].append(edge.src_dataset)
        elif edge.kind == EdgeKind.PARENT:
            found["parent"].append(edge.src_version)
    return found


def _web_link(url: str) -> str:
    """Only http(s) links become clickable; anything else (``javascript:`` …) is shown as text."""
    return url if url.lower().startswith(("https://", "http://")) else ""
