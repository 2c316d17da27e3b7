"""Check-run pages: the list, the start-a-check form, a run with its live progress and its results.

Runs and datasets are read through the selectors (an invisible run is a 404); a check is started only
through ``check_run_create``, which checks the permission again and validates the configuration.
"""

from __future__ import annotations

import json

import django_filters
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseStopPolling

from accounts import access
from config.ui import paginate
from jobs import progress as job_progress
from monitoring import selectors, thresholds, ui_charts
from monitoring.api.checks import LIST_DEFERRED, CheckRunFilter
from monitoring.metrics import catalogue
from monitoring.models import CheckKind, CheckRun, Outcome, RunStatus
from monitoring.services import runs as run_services
from monitoring.services.alerts import rank_breaches
from monitoring.ui_forms import StartCheckForm
from registry import selectors as registry_selectors
from registry.models import ModelVersion
from registry.models.datasets import DatasetRole
from registry.models.lineage import EdgeKind

RUN_SORTS = {"created": "created_at", "finished": "finished_at"}
FILTERS_SHOWN = ("model", "version", "kind", "status", "outcome")
CURRENT_ROLES = (DatasetRole.VALIDATION, DatasetRole.PRODUCTION_BATCH)


class CheckListFilter(CheckRunFilter):
    """The API's check-run filters with page labels."""

    model = django_filters.CharFilter(field_name="model_version__model__name", label="Model name")
    version = django_filters.NumberFilter(field_name="model_version__version", label="Version")
    kind = django_filters.ChoiceFilter(choices=CheckKind.choices, label="Kind", empty_label="Any kind")
    status = django_filters.ChoiceFilter(choices=RunStatus.choices, label="Status", empty_label="Any status")
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices, label="Outcome", empty_label="Any outcome")


def _may_run_checks(user) -> bool:
    return access.may(user, "run_checks")


@login_required
@require_GET
def check_list(request: HttpRequest) -> HttpResponse:
    runs = selectors.check_run_detail(user=request.user).defer(*LIST_DEFERRED)
    filterset = CheckListFilter(request.GET or None, queryset=runs)
    listing = paginate(request, filterset.qs, sorts=RUN_SORTS, default_sort="-created")
    context = {
        "filter_fields": [filterset.form[name] for name in FILTERS_SHOWN],
        "filtered": any(request.GET.get(name) for name in FILTERS_SHOWN),
        "listing": listing,
        "can_start": _may_run_checks(request.user),
    }
    return render(request, "monitoring/check_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def check_new(request: HttpRequest) -> HttpResponse:
    user = request.user
    access.require(user, "run_checks")  # readers (auditors, risk officers) get 403, even for the form
    version = _version_from_query(request)
    if version is None:
        return render(request, "monitoring/check_choose.html", {"model": request.GET.get("model", "")})
    kind = request.POST.get("kind") or request.GET.get("kind") or CheckKind.DRIFT
    if kind not in CheckKind.values:
        kind = CheckKind.DRIFT
    datasets = registry_selectors.dataset_version_list(user=user).select_related("dataset")
    form = StartCheckForm(
        request.POST if request.method == "POST" else None,
        kind=kind,
        datasets=datasets,
        defaults=_defaults(version, kind, datasets),
    )
    if request.method == "POST" and form.is_valid():
        try:
            run = run_services.check_run_create(
                actor=user, kind=kind, version=version, **form.service_arguments()
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            return redirect("check-detail", pk=run.pk)
    context = {
        "version": version,
        "model": version.model,
        "form": form,
        "kind": kind,
        "kinds": CheckKind.choices,
    }
    return render(request, "monitoring/check_new.html", context)


def _version_from_query(request: HttpRequest) -> ModelVersion | None:
    """The version named by ``?model=&version=`` (the newest when no version is given); 404 if unseen."""
    name = request.GET.get("model", "").strip()
    if not name:
        return None
    versions = registry_selectors.version_list(user=request.user).filter(model__name=name)
    number = request.GET.get("version", "").strip()
    if number:
        if not number.isdigit():
            raise Http404("No such version.")
        versions = versions.filter(version=int(number))
    version = versions.first()
    if version is None:
        raise Http404("No such model version.")
    return version


def _defaults(version: ModelVersion, kind: str, datasets) -> dict:
    """Reference: what the version was trained on. Current: the newest validation or production batch,
    preferably of the model's team. Favourable outcome: what the current dataset declares, else the model.
    Thresholds: what would apply without any in the request."""
    training = [edge.src_dataset for edge in version.input_edges if edge.kind == EdgeKind.TRAINED_ON]
    candidates = datasets.filter(role__in=CURRENT_ROLES).order_by("-created_at", "-id")
    current = candidates.filter(dataset__team=version.model.team_id).first() or candidates.first()
    preview = CheckRun(kind=kind, model_version=version, config={})
    declared = current.favourable_label if current is not None else None
    if declared is None:
        declared = version.model.favourable_label
    return {
        "reference_dataset": training[0] if training else None,
        "current_dataset": current,
        "sensitive_columns": ", ".join(current.sensitive_columns) if current is not None else "",
        "positive_label": "" if declared is None else str(declared),
        "model_favourable_label": version.model.favourable_label,
        "thresholds": thresholds.resolve_thresholds(preview),
    }


def _run(request: HttpRequest, pk: int) -> CheckRun:
    return get_object_or_404(selectors.check_run_detail(user=request.user), pk=pk)


def _run_context(run: CheckRun) -> dict:
    evaluations = [_shown(item) for item in run.evaluations or []]
    return {
        "run": run,
        # worst first, as alerts rank them: failures, then how far past the threshold
        "flagged": rank_breaches(item for item in evaluations if item["status"] != "pass"),
        "passed": [item for item in evaluations if item["status"] == "pass"],
        "charts": ui_charts.run_charts(run),
        "results_json": json.dumps(run.results, indent=2, sort_keys=True) if run.results else "",
        "config_json": json.dumps(run.config, indent=2, sort_keys=True),
        "progress": shown_progress(run.progress or {}),
    }


def shown_progress(progress: dict) -> dict:
    """The stored progress with ``eta_text``: its estimate counted down since it was written, in words."""
    eta = progress.get("eta_seconds")
    written = parse_datetime(progress["updated_at"]) if isinstance(progress.get("updated_at"), str) else None
    if isinstance(eta, int | float) and written is not None:
        eta = max(0.0, eta - (timezone.now() - written).total_seconds())
    return progress | {"eta_text": job_progress.eta_text(eta if isinstance(eta, int | float) else None)}


def _shown(item: dict) -> dict:
    """An evaluation with its declared label and its value and threshold formatted for reading."""
    declared = catalogue.lookup(item["metric"])
    return item | {
        "label": declared.label,
        "shown_value": declared.format(item.get("value")),
        "shown_threshold": declared.format(item.get("threshold")),
        "comparison": declared.comparison,
    }


@login_required
@require_GET
def check_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "monitoring/check_detail.html", _run_context(_run(request, pk)))


@login_required
@require_GET
def check_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The polled partial: the status while the run is queued or running; 286 with the results after."""
    run = _run(request, pk)
    html = render_to_string("monitoring/_run_progress.html", _run_context(run), request=request)
    if run.is_finished:
        return HttpResponseStopPolling(html)
    return HttpResponse(html)
