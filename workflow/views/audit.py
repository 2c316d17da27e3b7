"""The audit log browser: filtered events newest first, the chain's verification and its checkpoints.

Auditors, risk officers and administrators only (403 for anyone else), exactly like the audit API; the
filters are the API's, so the export links hand the same filters to the API's CSV/JSON-lines exports.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST
from django_filters import rest_framework as filters
from django_htmx.http import HttpResponseStopPolling

from accounts import access
from audit.models import AuditVerification
from config.ui import page
from workflow import audit_selectors
from workflow.api.audit import EventFilter
from workflow.services import audit as audit_services

PAGE_SIZE = 50
POLL_SECONDS = 1
FILTER_FIELDS = (
    "actor",
    "action",
    "object_type",
    "object_id",
    "request_id",
    "occurred_after",
    "occurred_before",
)
DONE = (AuditVerification.Status.SUCCEEDED, AuditVerification.Status.FAILED)
LOCAL_TIME = forms.DateTimeInput(attrs={"type": "datetime-local", "step": 1})


class EventPageFilter(EventFilter):
    """The API's event filters with labels and date-time inputs for people."""

    actor = filters.CharFilter(field_name="actor_username", label="Actor (username)")
    object_type = filters.CharFilter(label="Object type", help_text="e.g. governance.approvalrequest")
    object_id = filters.CharFilter(label="Object id")
    request_id = filters.CharFilter(label="Request id")
    occurred_after = filters.IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", label="From (UTC)", widget=LOCAL_TIME
    )
    occurred_before = filters.IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", label="Until (UTC)", widget=LOCAL_TIME
    )


def _require_auditor(request: HttpRequest) -> None:
    access.require(request.user, "audit")


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    _require_auditor(request)
    user = request.user
    event_filter = EventPageFilter(request.GET, queryset=audit_selectors.event_list(user=user))
    events = event_filter.qs if event_filter.is_valid() else event_filter.queryset.none()
    before = _positive_int(request.GET.get("before"))
    if before:
        events = events.filter(seq__lt=before)
    rows = list(events.defer("canonical").order_by("-seq")[: PAGE_SIZE + 1])
    chosen = {name: request.GET[name] for name in EventFilter.base_filters if request.GET.get(name)}
    context = {
        "filter_fields": [event_filter.form[name] for name in FILTER_FIELDS],
        "events": rows[:PAGE_SIZE],
        "older": urlencode({**chosen, "before": rows[PAGE_SIZE - 1].seq}) if len(rows) > PAGE_SIZE else "",
        "newest": urlencode(chosen) if before else None,
        "export_query": urlencode(chosen),
        "verification": audit_selectors.verification_list(user=user).first(),
        "checkpoint": audit_selectors.checkpoint_list(user=user).order_by("-number").first(),
        "poll_seconds": POLL_SECONDS,
        "done": DONE,
    }
    return page(request, "governance/audit/log.html", context)


def _positive_int(raw: str | None) -> int | None:
    try:
        value = int(raw or "")
    except ValueError:
        return None
    return value if value > 0 else None


@login_required
@require_POST
def audit_verify(request: HttpRequest) -> HttpResponse:
    """Queue a verification of the chain (the API's service); htmx gets the polling status box."""
    _require_auditor(request)
    job = audit_services.verification_request(actor=request.user)
    job.refresh_from_db()  # an eager (in-process) worker may already have run it
    if not request.htmx:
        return redirect("audit-log")
    context = {"verification": job, "poll_seconds": POLL_SECONDS, "done": DONE}
    return page(request, "governance/audit/_verification.html", context)


@login_required
def audit_verification(request: HttpRequest, pk: int) -> HttpResponse:
    """The status box's content while polling; 286 (stop polling) once the job has finished."""
    _require_auditor(request)
    job = get_object_or_404(audit_selectors.verification_list(user=request.user), pk=pk)
    context = {"verification": job, "done": DONE}
    if job.status in DONE:
        html = render_to_string("governance/audit/_verification_status.html", context, request=request)
        return HttpResponseStopPolling(html)
    return page(request, "governance/audit/_verification_status.html", context)
