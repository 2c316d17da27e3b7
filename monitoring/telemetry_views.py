"""A version's production telemetry (OTLP intake): its buckets as charts and a table, and the monitor
that judges them (bucket width, minimum calls, maxima). Changes go through
``monitoring.services.telemetry.telemetry_monitor_set`` (``change`` on the version, audited)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

import charts
from accounts import access
from config.ui import page, paginate
from monitoring import ui_charts
from monitoring.models import TelemetryBucket, TelemetryMonitor
from monitoring.services import telemetry
from registry import selectors as registry_selectors
from registry.models import ModelVersion

CHART_BUCKETS = 120


class MonitorForm(forms.Form):
    bucket_seconds = forms.IntegerField(min_value=60, max_value=86400, initial=60, label="Bucket (seconds)")
    min_calls = forms.IntegerField(
        min_value=1, max_value=1_000_000, initial=20, label="Judge buckets with at least (calls)"
    )
    max_block_rate = forms.FloatField(
        min_value=0, max_value=1, required=False, label="Maximum block rate (0 to 1)"
    )
    max_flag_rate = forms.FloatField(
        min_value=0, max_value=1, required=False, label="Maximum flag rate (0 to 1)"
    )
    max_refusal_rate = forms.FloatField(
        min_value=0, max_value=1, required=False, label="Maximum refusal rate (0 to 1)"
    )
    max_p95_latency_seconds = forms.FloatField(
        min_value=0.001, max_value=3600, required=False, label="Maximum p95 latency (seconds)"
    )


def _version(request: HttpRequest, name: str, number: int) -> ModelVersion:
    version = (
        registry_selectors.version_list(user=request.user)
        .filter(model__name=name, version=number)
        .select_related("model")
        .first()
    )
    if version is None:
        raise Http404("No such model version.")
    return version


@login_required
@require_http_methods(["GET", "POST"])
def version_telemetry(request: HttpRequest, name: str, number: int) -> HttpResponse:
    version = _version(request, name, number)
    monitor = TelemetryMonitor.objects.filter(model_version=version).first()
    can_change = access.can(request.user, "change", version)
    if request.method == "POST":
        access.require(request.user, "change", version)
        form = MonitorForm(request.POST)
        if form.is_valid():
            try:
                telemetry.telemetry_monitor_set(
                    actor=request.user, model_version=version, **form.cleaned_data
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, "Telemetry monitor saved.")
                return redirect("version-telemetry", name, number)
    else:
        form = MonitorForm(initial=telemetry.monitor_facts(monitor) if monitor else None)
    buckets = TelemetryBucket.objects.filter(model_version=version)
    listing = paginate(request, buckets.order_by("-start", "-pk"))
    rows = [telemetry.figures(bucket) | {"bucket": bucket} for bucket in listing.page]
    recent = list(buckets.order_by("-start", "-pk")[:CHART_BUCKETS])[::-1]
    context = {
        "version": version,
        "monitor": monitor,
        "form": form,
        "can_change": can_change,
        "listing": listing,
        "rows": rows,
        "charts": _charts(version, monitor, recent),
        "store_content": telemetry.settings.ATTEST_OTLP_STORE_CONTENT,
    }
    return page(request, "monitoring/telemetry.html", context)


def _charts(version: ModelVersion, monitor: TelemetryMonitor | None, buckets: list) -> list[ui_charts.Chart]:
    if not buckets:
        return []
    facts = [telemetry.figures(bucket) for bucket in buckets]
    labels = [f"{bucket.start:%m-%d %H:%M}" for bucket in buckets]
    key = f"{version.pk}:{max(bucket.updated_at for bucket in buckets).isoformat()}:{len(buckets)}"
    if monitor is not None:
        key += f":{monitor.updated_at.isoformat()}"

    def series(metric: str, limit: float | None) -> list[charts.TimePoint]:
        return [
            charts.TimePoint(
                label=label,
                value=fact[metric],
                status="fail"
                if limit is not None and fact[metric] is not None and fact[metric] > limit
                else "info",
            )
            for label, fact in zip(labels, facts, strict=True)
        ]

    def limit(name: str) -> float | None:
        return getattr(monitor, name) if monitor else None

    found = []
    for metric, title, limit_name in (
        ("block_rate", "Guardrail block rate", "max_block_rate"),
        ("flag_rate", "Guardrail flag rate", "max_flag_rate"),
        ("refusal_rate", "Refusal rate", "max_refusal_rate"),
        ("latency_p95", "p95 latency (s)", "max_p95_latency_seconds"),
    ):
        bound = limit(limit_name)
        caption = f"Per {buckets[-1].width_seconds} s bucket, oldest first (UTC)" + (
            f"; dashed line at the monitor's maximum {bound:g}; red: above it" if bound is not None else ""
        )
        if metric == "latency_p95":
            caption += "; the upper edge of the latency bucket holding the 95th percentile"
        found.append(
            ui_charts.telemetry_chart(
                title,
                caption,
                series(metric, bound),
                thresholds=[bound] if bound is not None else [],
                key=key,
            )
        )
    calls = [
        charts.TimePoint(label=label, value=fact["calls"]) for label, fact in zip(labels, facts, strict=True)
    ]
    found.insert(
        0, ui_charts.telemetry_chart("Calls", "LLM calls per bucket, oldest first (UTC)", calls, key=key)
    )
    return found
