"""Monitoring-plan pages (list, create, edit, pause, delete, a plan with its metric trends) and the
per-feature drift pages of a drift run.

Plans and runs are read through the selectors (an invisible plan or run is a 404); every change goes
through ``monitoring.services.plans``, which checks ``change`` on the version again, validates the
checks against the datasets and keeps the plan's beat PeriodicTask in step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import access
from config.ui import page, paginate
from monitoring import results, selectors, trends, ui_charts
from monitoring.metrics import catalogue
from monitoring.models import CheckRun, MonitoringPlan, RunStatus
from monitoring.plan_forms import PlanForm
from monitoring.services import plans as plan_services
from registry import selectors as registry_selectors
from registry.models import ModelVersion

TRENDS_PER_PAGE = 8
FEATURES_PER_PAGE = 10
PLAN_SORTS = {"created": "created_at", "next": "next_run_at"}


# ------------------------------------------------------------------------------------------- trends


def plan_trend_rows(plan: MonitoringPlan) -> tuple[list[trends.Trend], str]:
    """The plan's series worst first, and the cache key of its charts (the plan and its newest run)."""
    runs = selectors.plan_runs(plan=plan)
    newest = runs[-1].pk if runs else 0
    return trends.worst_first(trends.plan_trends(runs)), f"{plan.pk}:{newest}"


def plan_trend_charts(plan: MonitoringPlan, *, limit: int) -> list[ui_charts.Chart]:
    """The ``limit`` worst series of a plan as charts (for the model and version pages)."""
    rows, key = plan_trend_rows(plan)
    return [ui_charts.trend_chart(trend, cache_key=key) for trend in rows[:limit]]


@dataclass
class TrendRow:
    trend: trends.Trend
    latest_value: str
    thresholds: str
    breaches: int


def _row(trend: trends.Trend) -> TrendRow:
    declared = catalogue.lookup(trend.metric)
    latest = trend.latest
    return TrendRow(
        trend=trend,
        latest_value=declared.format(latest.value if latest else None),
        thresholds=", ".join(declared.format(value) for value in trend.thresholds) or "—",
        breaches=sum(1 for point in trend.points if point.status in ("warn", "fail")),
    )


# -------------------------------------------------------------------------------------------- plans


def _plans(request: HttpRequest):
    return selectors.monitoring_plan_list(user=request.user)


def _plan(request: HttpRequest, pk: int) -> MonitoringPlan:
    return get_object_or_404(_plans(request), pk=pk)


def _may_change(request: HttpRequest, plan: MonitoringPlan) -> bool:
    return access.can(request.user, "change", plan.model_version)


@login_required
@require_GET
def plan_list(request: HttpRequest) -> HttpResponse:
    plans = _plans(request)
    model = request.GET.get("model", "").strip()
    if model:
        plans = plans.filter(model_version__model__name=model)
    listing = paginate(request, plans, sorts=PLAN_SORTS, default_sort="-created")
    context = {"listing": listing, "model": model, "can_create": access.may(request.user, "change")}
    return page(request, "monitoring/plans/list.html", context)


@login_required
@require_GET
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan(request, pk)
    rows, key = plan_trend_rows(plan)
    shown = Paginator(rows, TRENDS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "plan": plan,
        "checks": [
            (
                entry["kind"],
                json.dumps(entry.get("config") or {}, sort_keys=True) if entry.get("config") else "",
            )
            for entry in plan.checks
        ],
        "rows": [_row(trend) for trend in rows],
        "trend_page": shown,
        "charts": [ui_charts.trend_chart(trend, cache_key=key) for trend in shown],
        "runs": CheckRun.objects.filter(plan=plan)
        .defer("results", "diagnostics", "evaluations", "config", "library_versions")
        .order_by("-created_at", "-id")[:20],
        "alerts": selectors.monitoring_alert_list(user=request.user, plan=plan)[:10],
        "can_change": _may_change(request, plan),
    }
    return page(request, "monitoring/plans/detail.html", context)


def _version_for_plan(request: HttpRequest) -> ModelVersion | None:
    """The version named by ``?model=&version=`` that the user may change (404 when they may not see it,
    403 when they may see but not change it)."""
    name = request.GET.get("model", "").strip()
    number = request.GET.get("version", "").strip()
    if not name:
        return None
    versions = registry_selectors.version_list(user=request.user).filter(model__name=name)
    if number:
        if not number.isdigit():
            raise Http404("No such version.")
        versions = versions.filter(version=int(number))
    version = versions.first()
    if version is None:
        raise Http404("No such model version.")
    access.require(request.user, "change", version)
    return version


def _form(request: HttpRequest, plan: MonitoringPlan | None = None) -> PlanForm:
    user = request.user
    return PlanForm(
        request.POST if request.method == "POST" else None,
        datasets=registry_selectors.dataset_list(user=user).order_by("name"),
        dataset_versions=registry_selectors.dataset_version_list(user=user),
        plan=plan,
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_new(request: HttpRequest) -> HttpResponse:
    access.require(request.user, "change")  # readers get 403, even for the form
    version = _version_for_plan(request)
    if version is None:
        return page(request, "monitoring/plans/choose.html", {"model": request.GET.get("model", "")})
    form = _form(request)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            arguments = form.service_arguments()
            try:
                plan = plan_services.monitoring_plan_create(
                    actor=request.user,
                    version=version,
                    dataset=form.cleaned_data["dataset"],
                    reference=arguments.pop("reference_dataset"),
                    **arguments,
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, f"Monitoring plan #{plan.pk} created ({plan.schedule_text}).")
                return redirect("monitoring-plan-detail", pk=plan.pk)
    context = {"form": form, "version": version, "model": version.model, "plan": None}
    return page(request, "monitoring/plans/form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan(request, pk)
    access.require(request.user, "change", plan.model_version)
    form = _form(request, plan)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                plan_services.monitoring_plan_update(
                    actor=request.user, plan=plan, **form.service_arguments()
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, f"Monitoring plan #{plan.pk} saved.")
                return redirect("monitoring-plan-detail", pk=plan.pk)
    context = {"form": form, "version": plan.model_version, "model": plan.model_version.model, "plan": plan}
    return page(request, "monitoring/plans/form.html", context, status=status)


@login_required
@require_POST
def plan_enabled(request: HttpRequest, pk: int) -> HttpResponse:
    """Pause or resume a plan (``enabled`` = "1" or "0")."""
    plan = _plan(request, pk)
    enabled = request.POST.get("enabled") == "1"
    plan_services.monitoring_plan_update(actor=request.user, plan=plan, enabled=enabled)
    messages.success(request, f"Monitoring plan #{plan.pk} {'resumed' if enabled else 'paused'}.")
    return redirect("monitoring-plan-detail", pk=plan.pk)


@login_required
@require_http_methods(["GET", "POST"])
def plan_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Deleting is asked for on its own page first; the plan's runs and alerts are kept."""
    plan = _plan(request, pk)
    access.require(request.user, "change", plan.model_version)
    if request.method == "POST":
        plan_services.monitoring_plan_delete(actor=request.user, plan=plan)
        messages.success(request, f"Monitoring plan #{plan.pk} deleted; its runs and alerts are kept.")
        return redirect("monitoring-plan-list")
    return page(request, "monitoring/plans/delete.html", {"plan": plan})


# ------------------------------------------------------------------------------- drift, per feature


def _drift_run(request: HttpRequest, pk: int) -> tuple[CheckRun, results.DriftResults]:
    run = get_object_or_404(selectors.check_run_detail(user=request.user), pk=pk)
    if run.kind != "drift" or run.status != RunStatus.SUCCEEDED or not run.results:
        raise Http404("Per-feature drift is shown for succeeded drift runs.")
    return run, results.of(run)


@dataclass
class FeatureRow:
    column: str
    drift: results.ColumnDrift
    psi: float | None
    psi_band: str | None
    evaluations: list[dict]
    distribution: results.DistributionData | None
    url: str

    @property
    def score_text(self) -> str:
        """The deciding test's score as a reader should see it (p-values below 0.001 in e-notation)."""
        test = self.drift.test
        if test is None or test.score is None:
            return "—"
        return f"{test.score_name or 'score'} {_text(float(test.score))}"


def _features(run: CheckRun, stored: results.DriftResults) -> list[FeatureRow]:
    """Every column the run compared, most drifted first (PSI, then the column order)."""
    distributions = {item.column: item for item in stored.charts.distributions}
    by_scope: dict[str, list[dict]] = {}
    for item in run.evaluations or []:
        by_scope.setdefault(item.get("scope", ""), []).append(item)
    rows = []
    for column in stored.metrics.data_drift.columns:
        psi = column.statistics.psi
        rows.append(
            FeatureRow(
                column=column.column,
                drift=column,
                psi=psi.value if psi else None,
                psi_band=psi.band if psi else None,
                evaluations=[_shown(item) for item in by_scope.get(f"column {column.column!r}", [])],
                distribution=distributions.get(column.column),
                url=reverse("check-feature", args=[run.pk, column.column]),
            )
        )
    return sorted(rows, key=lambda row: -(row.psi if row.psi is not None else -1.0))


def _shown(item: dict) -> dict:
    declared = catalogue.lookup(item["metric"])
    return item | {
        "label": declared.label,
        "shown_value": declared.format(item.get("value")),
        "shown_threshold": declared.format(item.get("threshold")),
    }


@login_required
@require_GET
def check_features(request: HttpRequest, pk: int) -> HttpResponse:
    run, stored = _drift_run(request, pk)
    rows = _features(run, stored)
    shown = Paginator(rows, FEATURES_PER_PAGE).get_page(request.GET.get("page"))
    for row in shown:
        row.chart = ui_charts.feature_distribution_chart(run, row.distribution) if row.distribution else None
    context = {"run": run, "rows": rows, "feature_page": shown, "summary": stored.metrics.data_drift.summary}
    return page(request, "monitoring/features.html", context)


@login_required
@require_GET
def check_feature(request: HttpRequest, pk: int, column: str) -> HttpResponse:
    run, stored = _drift_run(request, pk)
    row = next((row for row in _features(run, stored) if row.column == column), None)
    if row is None:
        raise Http404("The run did not compare this column.")
    chart = ui_charts.feature_distribution_chart(run, row.distribution) if row.distribution else None
    trend_charts, trend_rows = [], []
    plan = None
    if run.plan_id is not None:
        plan = selectors.monitoring_plan_list(user=request.user).filter(pk=run.plan_id).first()
    if plan is not None:
        rows, key = plan_trend_rows(plan)
        mine = [trend for trend in rows if trend.kind == "drift" and trend.subject == column]
        trend_rows = [_row(trend) for trend in mine]
        trend_charts = [ui_charts.trend_chart(trend, cache_key=key) for trend in mine]
    context = {
        "run": run,
        "row": row,
        "chart": chart,
        "statistics": _statistics(row.drift),
        "plan": plan,
        "trend_rows": trend_rows,
        "trend_charts": trend_charts,
    }
    return page(request, "monitoring/feature.html", context)


def _statistics(column: results.ColumnDrift) -> list[tuple[str, str]]:
    """Each statistic the run stored for the column, flattened to (name, value) lines."""
    lines = []
    stored = column.statistics.to_stored()
    for name, values in stored.items():
        if not isinstance(values, dict):
            lines.append((name, str(values)))
            continue
        for member, value in values.items():
            if isinstance(value, dict | list):
                continue  # bins and shares: the chart shows them
            lines.append((f"{name} · {member}", _text(value)))
    return lines


def _text(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"
    return "—" if value is None else str(value)
