"""Admin pages for the reports records: GRC connectors are added and changed here (through
``reports.services.connectors``, audited as ``connector.changed``), with their secret shown once and a
"Send a test event" button; reports, bundles and the GRC delivery log are read-only.

A connector's test event checks the connection the way a real push is made: for a webhook connector a
signed ``connector.test`` message (Standard Webhooks, the connector's secret, no document); for a
ServiceNow-style connector a small text file pushed like an evidence file (``deliveries.send``: Basic
auth, ``file_name``), since attaching a file is the only thing that endpoint does. Tests are not logged as
deliveries and never retried; the page shows what the receiver answered.
"""

from __future__ import annotations

import logging

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from accounts.admin_support import ReadOnlyAdmin, SendsTestEvents, ServiceAdmin, display_names
from reports.models import CONNECTOR_EVENTS, ConnectorKind, EvidenceBundle, GrcConnector, GrcDelivery, Report
from reports.services import connectors

logger = logging.getLogger(__name__)
SHOWN_ONCE_TEMPLATE = "admin/attest/secret_once.html"

display_names(GrcConnector, "GRC connector", "GRC connectors")
display_names(GrcDelivery, "GRC delivery", "GRC deliveries")


# --- connectors --------------------------------------------------------------------------------------


class ConnectorForm(forms.ModelForm):
    """A connector's settings; the secret is generated (webhook) or typed (ServiceNow password) and
    never shown again once saved."""

    kind = forms.ChoiceField(
        choices=ConnectorKind.choices, widget=forms.RadioSelect, initial=ConnectorKind.WEBHOOK
    )
    url = forms.URLField(
        max_length=1000, assume_scheme="https", label="URL", widget=forms.URLInput(attrs={"size": 60})
    )
    events = forms.MultipleChoiceField(
        choices=[
            (event, "When an approval completes: push the approved version's evidence")
            for event in CONNECTOR_EVENTS
        ],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Push automatically",
        help_text="Tick none to push only on demand.",
    )
    password = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="ServiceNow only: the integration user's password. On a saved connector, leave empty to keep it.",
    )
    rotate_secret = forms.BooleanField(
        required=False,
        label="Generate a new signing secret",
        help_text="Webhook only: the new secret is shown once; the receiver must be given it.",
    )

    class Meta:
        model = GrcConnector
        fields = (
            "name",
            "kind",
            "url",
            "username",
            "password",
            "events",
            "payload",
            "is_active",
            "rotate_secret",
        )
        widgets = {"payload": forms.RadioSelect}
        labels = {"username": "ServiceNow user", "payload": "What is pushed", "is_active": "Active"}

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.startswith(("https://", "http://")):
            raise ValidationError("An http(s) URL.")
        return url

    def clean(self):
        data = super().clean()
        kind = data.get("kind") or self.instance.kind
        if kind == ConnectorKind.SERVICENOW:
            if not data.get("username"):
                self.add_error("username", "A ServiceNow connector needs the integration user's name.")
            if not self.instance.pk and not data.get("password"):
                self.add_error("password", "A ServiceNow connector needs the integration user's password.")
        return data


@admin.register(GrcConnector)
class GrcConnectorAdmin(SendsTestEvents, ServiceAdmin):
    """GRC connectors, created and changed through the connector services (each change audited); never
    deleted, only deactivated, so the delivery log keeps them."""

    section = "integrations"
    section_position = 2
    form = ConnectorForm
    list_display = ("name", "kind_label", "url", "pushes", "payload", "is_active", "created_at")
    list_filter = ("kind", "is_active", "payload")
    search_fields = ("name", "url")
    actions = ("send_test_events",)

    @admin.display(description="kind", ordering="kind")
    def kind_label(self, connector: GrcConnector) -> str:
        return "webhook" if connector.kind == ConnectorKind.WEBHOOK else "ServiceNow"

    @admin.display(description="pushes")
    def pushes(self, connector: GrcConnector) -> str:
        return "when an approval completes" if connector.events else "on demand only"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "kind", "url", "username", "password", "events", "payload")
        secret = ("rotate_secret",) if obj.kind == ConnectorKind.WEBHOOK else ("username", "password")
        return ("name", "kind", "url", *secret, "events", "payload", "is_active", "created_by", "created_at")

    def get_readonly_fields(self, request, obj=None):
        return ("name", "kind", "created_by", "created_at") if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            stored = GrcConnector.objects.get(pk=obj.pk)
            changes = {name: data[name] for name in connectors.EDITABLE if name in form.changed_data}
            updated = connectors.connector_update(
                actor=request.user,
                connector=stored,
                password=data.get("password", ""),
                rotate_secret=bool(data.get("rotate_secret")),
                **changes,
            )
            request._attest_new_secret = updated.secret if data.get("rotate_secret") else ""
            return
        created = connectors.connector_create(
            actor=request.user,
            name=data["name"],
            kind=data["kind"],
            url=data["url"],
            events=data["events"],
            payload=data["payload"],
            username=data.get("username", ""),
            password=data.get("password", ""),
        )
        obj.pk = created.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        pass  # nothing related; the service saved the connector

    def response_add(self, request, obj, post_url_continue=None):
        secret = obj.secret if obj.kind == ConnectorKind.WEBHOOK else ""
        return self._saved_page(request, obj, "GRC connector created", secret)

    def response_change(self, request, obj):
        secret = getattr(request, "_attest_new_secret", "")
        if secret:
            return self._saved_page(request, obj, "New signing secret", secret)
        return super().response_change(request, obj)

    def _saved_page(self, request, obj: GrcConnector, title: str, secret: str) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "what": f"The GRC connector {obj.name} ({obj.url})",
            "secret": secret,
            "secret_label": "Signing secret",
            "how": "Give it to the receiving system now (Standard Webhooks: webhook-signature header, HMAC-SHA256), "
            "then send a test event to check it.",
            "test_url": reverse("admin:reports_grcconnector_test", args=[obj.pk]),
            "record_url": reverse("admin:reports_grcconnector_change", args=[obj.pk]),
            "record_label": obj.name,
            "changelist_url": reverse("admin:reports_grcconnector_changelist"),
        }
        return TemplateResponse(request, SHOWN_ONCE_TEMPLATE, context)

    def test_event_description(self, obj: GrcConnector) -> tuple[str, str, str]:
        what = (
            "a signed connector.test event (Standard Webhooks headers, the connector's secret)"
            if obj.kind == ConnectorKind.WEBHOOK
            else f"a small text file ({connectors.TEST_FILE}) as an attachment, with the connector's user and password"
        )
        return obj.url, what, obj.name

    def send_test_event(self, request, obj: GrcConnector) -> dict:
        result = connectors.connector_send_test(actor=request.user, connector=obj)
        return {
            "delivered": result.delivered,
            "status_code": result.status_code,
            "error": result.error,
            "message_id": result.message_id,
            "event_type": connectors.TEST_EVENT
            if obj.kind == ConnectorKind.WEBHOOK
            else connectors.TEST_FILE,
        }

    @admin.action(description="Send a test event to the selected connectors")
    def send_test_events(self, request, queryset):
        for connector in queryset:
            result = connectors.connector_send_test(actor=request.user, connector=connector)
            answer = f"HTTP {result.status_code}" if result.status_code else result.error
            level = messages.SUCCESS if result.delivered else messages.ERROR
            word = "Delivered" if result.delivered else "Not delivered"
            self.message_user(request, f"{word} to {connector.name} ({answer}).", level)


# --- read-only records -------------------------------------------------------------------------------


@admin.register(GrcDelivery)
class GrcDeliveryAdmin(ReadOnlyAdmin):
    section = "integrations"
    read_only_reason = "The GRC delivery log: one row per document pushed to a connector, with every attempt."
    list_display = ("id", "connector", "trigger", "status", "attempts", "last_status_code", "created_at")
    list_filter = ("status", "trigger", "connector")
    search_fields = ("message_id", "connector__name")
    list_select_related = ("connector",)


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    section = "checks"
    read_only_reason = "Reports are requested on the Reports page; a generated file never changes."
    list_display = ("id", "kind", "model", "model_version", "status", "page_count", "created_at")
    list_filter = ("kind", "status", "variant")
    search_fields = ("model__name", "sha256", "inputs_digest")
    list_select_related = ("model", "model_version__model")

    def view_on_site(self, obj):
        return reverse("report-detail", args=[obj.pk])


@admin.register(EvidenceBundle)
class EvidenceBundleAdmin(ReadOnlyAdmin):
    section = "checks"
    read_only_reason = "Evidence bundles are requested on the Reports page; a built bundle never changes."
    list_display = ("id", "bag_name", "model_version", "status", "size", "created_at")
    list_filter = ("status",)
    search_fields = ("bag_name", "sha256")
    list_select_related = ("model_version__model",)

    def view_on_site(self, obj):
        return reverse("bundle-detail", args=[obj.pk])
