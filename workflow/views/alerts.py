"""The alert inbox: monitoring alerts the user may see, and acknowledging, snoozing or escalating one.

Alerts are read through ``monitoring.selectors.monitoring_alert_list`` (an invisible alert is a 404);
every change goes through the services, which check ``handle_alert`` on the alert again (the model's
team and the second line; auditors read only) and audit it. Escalating lives here, in the workflow,
because it raises a finding.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts import access
from config.api.errors import ServiceError
from config.ui import add_refusal, page, paginate
from monitoring import selectors as monitoring_selectors
from monitoring.models import AlertSeverity, AlertState, MonitoringAlert
from monitoring.services import alerts as alert_services
from workflow.models import Finding, Severity
from workflow.services import findings as finding_services

ANY = [("", "Any")]
SORTS = {"raised": "created_at", "severity": "severity"}
DEFAULT_SNOOZE = dt.timedelta(days=7)


class AlertFilterForm(forms.Form):
    state = forms.ChoiceField(choices=ANY + AlertState.choices, required=False)
    severity = forms.ChoiceField(choices=ANY + AlertSeverity.choices, required=False)
    model = forms.SlugField(max_length=100, required=False, label="Model name")


class SnoozeForm(forms.Form):
    reason = forms.CharField(
        max_length=alert_services.MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why the alert may wait (kept in the audit trail).",
    )
    until = forms.DateTimeField(
        label="Snooze until (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        help_text=f"At most {alert_services.MAX_SNOOZE.days} days ahead; the alert reappears as open then.",
    )


class EscalateForm(forms.Form):
    severity = forms.ChoiceField(
        choices=[("", "As the alert's severity maps"), *Severity.choices],
        required=False,
        help_text="Critical alerts become critical findings, warnings medium ones, unless you choose.",
    )


def _alerts(request: HttpRequest):
    return monitoring_selectors.monitoring_alert_list(user=request.user)


def _alert(request: HttpRequest, pk: int) -> MonitoringAlert:
    return get_object_or_404(_alerts(request), pk=pk)


@login_required
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    data = request.GET.copy()
    if "state" not in data:
        data["state"] = AlertState.OPEN  # the inbox opens on what needs someone
    filters = AlertFilterForm(data)
    alerts = _alerts(request)
    if filters.is_valid():
        chosen = filters.cleaned_data
        if chosen["state"]:
            alerts = alerts.filter(current_state=chosen["state"])
        if chosen["severity"]:
            alerts = alerts.filter(severity=chosen["severity"])
        if chosen["model"]:
            alerts = alerts.filter(check_run__model_version__model__name=chosen["model"])
    else:
        alerts = alerts.none()
    listing = paginate(request, alerts, sorts=SORTS, default_sort="-raised")
    handled = {
        alert.pk
        for alert in access.scope(
            request.user, MonitoringAlert.objects.filter(pk__in=[a.pk for a in listing.page]), "handle_alert"
        )
    }
    context = {"listing": listing, "filters": filters, "handled": handled}
    return page(request, "monitoring/alerts/list.html", context)


def _detail_context(request: HttpRequest, alert: MonitoringAlert, **forms_given) -> dict:
    may_handle = access.can(request.user, "handle_alert", alert)
    state = alert.current_state
    allowed = alert_services.ALERT_TRANSITIONS[state] if may_handle else frozenset()
    default_until = (timezone.now() + DEFAULT_SNOOZE).replace(second=0, microsecond=0)
    finding = Finding.objects.filter(dedupe_key=f"alert:{alert.pk}").only("pk", "status", "title").first()
    return {
        "alert": alert,
        "state": state,
        "state_label": AlertState(state).label,
        "may_handle": may_handle,
        "can_acknowledge": AlertState.ACKNOWLEDGED in allowed,
        "can_snooze": AlertState.SNOOZED in allowed,
        "can_escalate": AlertState.ESCALATED in allowed,
        "snooze_expired": alert.state == AlertState.SNOOZED and state == AlertState.OPEN,
        "snooze_form": forms_given.get("snooze_form") or SnoozeForm(initial={"until": default_until}),
        "escalate_form": forms_given.get("escalate_form") or EscalateForm(),
        "action_error": forms_given.get("action_error", ""),
        "finding": finding,
        "max_snooze_days": alert_services.MAX_SNOOZE.days,
    }


@login_required
@require_GET
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _alert(request, pk)
    return page(request, "monitoring/alerts/detail.html", _detail_context(request, alert))


def _refused(request: HttpRequest, pk: int, refusal: Exception, **forms_given) -> HttpResponse:
    status = 403 if isinstance(refusal, PermissionDenied) else getattr(refusal, "status_code", 400)
    message = str(refusal) if isinstance(refusal, PermissionDenied | ServiceError) else ""
    context = _detail_context(request, _alert(request, pk), action_error=message, **forms_given)
    return page(request, "monitoring/alerts/detail.html", context, status=status)


def _back(request: HttpRequest, alert: MonitoringAlert) -> HttpResponse:
    """To the inbox when the action was taken there, else to the alert."""
    if request.POST.get("next") == "inbox":
        return redirect("monitoring-alert-list")
    return redirect("monitoring-alert-detail", pk=alert.pk)


@login_required
@require_POST
def alert_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _alert(request, pk)
    try:
        alert_services.monitoring_alert_acknowledge(actor=request.user, alert=alert)
    except (PermissionDenied, ServiceError) as refusal:
        return _refused(request, pk, refusal)
    messages.success(request, f"Alert #{alert.pk} acknowledged.")
    return _back(request, alert)


@login_required
@require_POST
def alert_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _alert(request, pk)
    access.require(request.user, "handle_alert", alert)  # a reader is refused before the form is read
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        return _refused(request, pk, ValidationError("invalid"), snooze_form=form)
    try:
        alert_services.monitoring_alert_snooze(
            actor=request.user,
            alert=alert,
            reason=form.cleaned_data["reason"],
            until=form.cleaned_data["until"],
        )
    except ValidationError as refusal:
        add_refusal(form, refusal)
        return _refused(request, pk, refusal, snooze_form=form)
    except (PermissionDenied, ServiceError) as refusal:
        return _refused(request, pk, refusal, snooze_form=form)
    until = form.cleaned_data["until"]
    messages.success(request, f"Alert #{alert.pk} snoozed until {until:%Y-%m-%d %H:%M} UTC.")
    return _back(request, alert)


@login_required
@require_POST
def alert_escalate(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _alert(request, pk)
    access.require(request.user, "handle_alert", alert)  # a reader is refused before the form is read
    form = EscalateForm(request.POST)
    if not form.is_valid():
        return _refused(request, pk, ValidationError("invalid"), escalate_form=form)
    try:
        finding, created = finding_services.finding_escalate_alert(
            actor=request.user, alert=alert, severity=form.cleaned_data["severity"] or None
        )
    except ValidationError as refusal:
        add_refusal(form, refusal)
        return _refused(request, pk, refusal, escalate_form=form)
    except (PermissionDenied, ServiceError) as refusal:
        return _refused(request, pk, refusal, escalate_form=form)
    how = "raised now" if created else "it already existed"
    messages.success(request, f"Alert #{alert.pk} escalated to finding #{finding.pk} ({how}).")
    return redirect("monitoring-alert-detail", pk=alert.pk)
