"""Inventory pages: the model list; registering and editing a model, uploading a version. (A model's page
and a version's page show what other apps hang off them, so they live above every app: ``web/views/``.)

Every object is fetched through ``registry.selectors``, so a page shows exactly what the API would show the
same user, and an object outside the user's scope is a 404. Every write goes through the service the API calls, which checks the
permission again and validates; a form page checks the permission first too, so a reader gets 403 for the
form itself, before anything is typed or uploaded.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from accounts import access
from accounts.models import Team, User
from config.api.errors import ServiceError
from config.ui import add_refusal, paginate
from registry import filter_views, selectors, ui_forms, ui_uploads
from registry.api.models import ModelFilter
from registry.models import ModelVersion, RegisteredModel, TierChangeStatus
from registry.models.inventory import ModelStatus, RiskTier
from registry.services import inventory
from registry.services import versions as version_services
from registry.tiering import FACTORS

MODEL_SORTS = {
    "name": "name",
    "tier": "risk_tier",
    "status": "status",
    "next_review": "next_review_due",
    "updated": "updated_at",
}
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


@login_required
@require_GET
def model_list(request: HttpRequest) -> HttpResponse:
    scoped = selectors.model_list(user=request.user)
    filterset = InventoryFilter(request.GET or None, queryset=scoped)
    models = filterset.qs.annotate(review_overdue=selectors.review_overdue())
    listing = paginate(request, models, sorts=MODEL_SORTS, default_sort="name")
    context = {
        "filter_fields": [filterset.form[name] for name in FILTERS_SHOWN],
        "filtered": any(request.GET.get(name) for name in FILTERS_SHOWN),
        "listing": listing,
        "can_register": changeable_teams(request.user).exists(),
        "saved_filters": filter_views.saved_filter_links(request.user),
        "current_query": filter_views.current_query(request),
        "export_query": request.GET.urlencode(),
    }
    return render(request, "registry/model_list.html", context)


# --- first-line work: register, edit, upload ------------------------------------------------------------


def changeable_teams(user) -> QuerySet[Team]:
    """Teams whose models and datasets the user may register (the service checks ``change`` on the team)."""
    return access.scope(user, Team.objects.all(), "change").order_by("name")


def _tiering_rule(user):
    """The rule in force as the user may read it; None before any is recorded (the built-in default then)."""
    return selectors.tiering_rule_list(user=user).first()


@login_required
@require_http_methods(["GET", "POST"])
def model_new(request: HttpRequest) -> HttpResponse:
    user = request.user
    teams = changeable_teams(user)
    if not teams.exists():
        raise PermissionDenied("Only ML engineers and administrators of a team register its models.")
    form = ui_forms.ModelRegisterForm(
        request.POST or None, teams=teams, visible_models=selectors.model_list(user=user)
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                model = inventory.model_create(actor=user, **form.service_arguments())
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(
                    request,
                    f"Registered {model.name}: {model.get_risk_tier_display()} from the questionnaire.",
                )
                return redirect("model-detail", name=model.name)
    context = {"form": form, "preview": ui_forms.tier_preview(form.answers(), _tiering_rule(user))}
    return render(request, "registry/model_form.html", context, status=status)


@login_required
@require_GET
def tier_preview(request: HttpRequest) -> HttpResponse:
    """The tier the questionnaire's answers give under the rule in force (the form's live preview)."""
    answers = {factor: request.GET.get(ui_forms.TIER_PREFIX + factor) for factor in FACTORS}
    preview = ui_forms.tier_preview(answers, _tiering_rule(request.user))
    return render(request, "registry/_tier_preview.html", {"preview": preview})


@login_required
@require_http_methods(["GET", "POST"])
def model_edit(request: HttpRequest, name: str) -> HttpResponse:
    user = request.user
    model = get_object_or_404(selectors.model_list(user=user), name=name)
    access.require(user, "change", model)
    upstream = [edge.src_model.name for edge in model.upstream_edges]
    form = ui_forms.ModelEditForm(
        request.POST or None, model=model, upstream=upstream, visible_models=selectors.model_list(user=user)
    )
    status, removals = 200, []
    if request.method == "POST":
        status = 400
        if form.is_valid():
            changes, new_upstream = form.changes()
            removals = form.removals()
            if not changes and new_upstream is None:
                messages.info(request, "Nothing changed.")
                return redirect("model-detail", name=model.name)
            if removals and request.POST.get("confirmed") != ui_forms.confirmation_key(removals):
                status = 200  # asked to confirm: nothing is saved yet
            else:
                status = _save_model(request, form, model, changes, new_upstream)
                if status == 302:
                    return redirect("model-detail", name=model.name)
                removals = []
    context = {
        "form": form,
        "model": model,
        "preview": ui_forms.tier_preview(form.answers(), _tiering_rule(user)),
        "removals": removals,
        "confirmation": ui_forms.confirmation_key(removals) if removals else "",
        "pending_tier_change": selectors.tier_change_list(user=user)
        .filter(model=model, status=TierChangeStatus.PENDING)
        .first(),
    }
    return render(request, "registry/model_form.html", context, status=status)


def _save_model(request: HttpRequest, form, model: RegisteredModel, changes: dict, upstream) -> int:
    """Save through the service and say what happened; the HTTP status of the page (302: saved)."""
    try:
        updated = inventory.model_update(actor=request.user, model=model, upstream=upstream, **changes)
    except PermissionDenied as refusal:
        form.add_error(None, str(refusal) or "You may not make this change.")
        return 403
    except ServiceError as refusal:  # e.g. a tier change already waiting for a decision (409)
        add_refusal(form, refusal)
        return refusal.status_code
    except ValidationError as error:
        form.add_service_errors(error)
        return 400
    saved = [_lower_first(form.fields[name].label) for name in changes if name in form.fields]
    saved += ["questionnaire"] if "tier_answers" in changes else []
    saved += ["upstream models"] if upstream is not None else []
    messages.success(request, f"Saved {model.name}: {', '.join(saved)}.")
    if "tier_answers" in changes:
        _say_tier_outcome(request, model, updated)
    return 302


def _lower_first(label: str) -> str:
    return label if label[:2].isupper() else label[:1].lower() + label[1:]  # "EU AI Act …" stays


def _say_tier_outcome(request: HttpRequest, before: RegisteredModel, updated: RegisteredModel) -> None:
    """Say what the new answers did to the tier: applied at once, or held for a risk officer's decision
    (the service holds answers that would lower the tier as a pending tier change)."""
    pending = getattr(updated, "pending_tier_change", None)
    if pending is not None:
        messages.warning(
            request,
            f"The answers would lower the tier to {RiskTier(pending.proposed_tier).label}: that change waits "
            f"for a risk officer's decision, and {before.name} stays {before.get_risk_tier_display()} until then.",
        )
    elif updated.risk_tier != before.risk_tier:
        messages.info(request, f"The questionnaire now gives {updated.get_risk_tier_display()}.")
    elif updated.tier_override is not None and updated.computed_tier != updated.risk_tier:
        messages.info(
            request,
            f"The answers give {updated.get_computed_tier_display()}; the risk officer's override keeps "
            f"{updated.get_risk_tier_display()}.",
        )


@csrf_exempt  # checked in ui_uploads.receive, once the hashing upload handlers are installed
@login_required
@require_http_methods(["GET", "POST"])
def version_new(request: HttpRequest, name: str) -> HttpResponse:
    user = request.user
    model = selectors.model_get(user=user, name=name)
    access.require(user, "change", model)  # before the body is read
    return ui_uploads.receive(
        request,
        lambda checked, refused: _version_upload(checked, model, refused),
        max_bytes=settings.ATTEST_MAX_ARTIFACT_BYTES,
    )


def _version_upload(request: HttpRequest, model: RegisteredModel, refused: str) -> HttpResponse:
    user = request.user
    posted = request.method == "POST" and not refused
    form = ui_forms.VersionUploadForm(
        request.POST if posted else None,
        request.FILES if posted else None,
        datasets=selectors.dataset_version_list(user=user),
        versions=selectors.version_list(user=user, model=model),
    )
    status = 413 if refused else 200
    if posted:
        status = 400
        upload = ui_uploads.received(request, "artifact")
        if form.is_valid() and ui_uploads.require(form, upload, "artifact"):
            try:
                version, created = version_services.model_version_submit(
                    actor=user,
                    model=model,
                    upload=upload,
                    declared_sha256=form.cleaned_data["sha256"],
                    metadata=form.metadata(),
                )
            except ValidationError as error:
                ui_forms.add_service_errors(form, error)
            else:
                _say_version_outcome(request, version, created)
                return ui_uploads.done(
                    request, reverse("model-version-detail", args=[model.name, version.version])
                )
    context = {
        "form": form,
        "refused": refused,
        "model": model,
        "max_bytes": settings.ATTEST_MAX_ARTIFACT_BYTES,
    }
    return render(request, "registry/version_new.html", context, status=status)


def _say_version_outcome(request: HttpRequest, version: ModelVersion, created: bool) -> None:
    digest = version.artifact_sha256[:12]
    if created:
        messages.success(
            request,
            f"Uploaded {version.model.name} v{version.version}: {version.artifact_filename}, "
            f"{filesizeformat(version.artifact_size)}, SHA-256 {digest}….",
        )
        return
    messages.info(
        request,
        f"This artifact is already {version.model.name} v{version.version} (the same SHA-256 {digest}…): "
        "no new version was made and the details entered with it were not applied.",
    )
