"""Webhook endpoints in the admin console: added, changed and deleted through the notification services,
the signing secret shown once, and a "Send a test event" button.

A test event is a real delivery: a ``webhook.test`` message written to the endpoint's delivery log and
sent once, now, by ``notifications.webhook_deliver`` — the same body shape, headers and Standard Webhooks
signature as every other event — so a receiver that verifies it will verify the real ones. It is never
retried: a failed test is marked failed and its answer shown, so the administrator fixes the receiver
and tries again.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.urls import reverse

from accounts.admin_support import ReadOnlyAdmin, SendsTestEvents, ServiceAdmin
from workflow.models import WebhookEndpoint
from workflow.models.notifications import WEBHOOK_EVENTS
from workflow.services import notifications

SHOWN_ONCE_TEMPLATE = "admin/attest/secret_once.html"


class WebhookForm(forms.ModelForm):
    url = forms.URLField(max_length=1000, assume_scheme="https", label="URL")
    events = forms.MultipleChoiceField(
        choices=[(event, event) for event in WEBHOOK_EVENTS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick none to receive every event.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "events", "team", "is_active")
        labels = {"team": "Only for the team", "is_active": "Active"}
        help_texts = {"team": "Leave empty to receive events about every team's models."}

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.startswith(("https://", "http://")):
            raise ValidationError("An http(s) URL.")
        return url


class WebhookEndpointAdmin(SendsTestEvents, ServiceAdmin):
    """Created, changed and deleted through the notification services; the signing secret is shown
    once, on the page that follows creation, and never again."""

    section = "integrations"
    section_position = 1
    form = WebhookForm
    list_display = ("url", "description", "event_list", "team", "is_active", "created_by", "created_at")
    list_filter = ("is_active", "team")
    search_fields = ("url", "description")
    list_select_related = ("team", "created_by")
    actions = ("send_test_events",)

    @admin.display(description="events")
    def event_list(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.events) or "every event"

    def get_exclude(self, request, obj=None):
        return ("secret",) if obj is not None else ("secret", "is_active")

    def get_readonly_fields(self, request, obj=None):
        return ("team", "created_by", "created_at") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            stored = WebhookEndpoint.objects.get(pk=obj.pk)
            fields = ("url", "events", "description", "is_active")
            notifications.webhook_update(
                actor=request.user, endpoint=stored, **{name: data[name] for name in fields if name in data}
            )
            return
        created = notifications.webhook_create(
            actor=request.user,
            url=data["url"],
            events=data["events"],
            description=data["description"],
            team=data["team"],
        )
        obj.pk = created.pk
        obj.refresh_from_db()

    def response_add(self, request, obj, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "title": "Webhook endpoint created",
            "opts": self.opts,
            "what": f"The webhook endpoint {obj.url}",
            "secret": obj.secret,
            "secret_label": "Signing secret",
            "how": "Copy it into the receiver's configuration now (Standard Webhooks: webhook-signature header, "
            "HMAC-SHA256), then send a test event to check it.",
            "test_url": reverse("admin:workflow_webhookendpoint_test", args=[obj.pk]),
            "record_url": reverse("admin:workflow_webhookendpoint_change", args=[obj.pk]),
            "record_label": obj.url,
            "changelist_url": reverse("admin:workflow_webhookendpoint_changelist"),
        }
        return TemplateResponse(request, SHOWN_ONCE_TEMPLATE, context)

    def delete_model(self, request, obj):
        notifications.webhook_delete(actor=request.user, endpoint=obj)

    # --- test events --------------------------------------------------------------------------------

    def test_event_description(self, obj: WebhookEndpoint) -> tuple[str, str, str]:
        return (
            obj.url,
            "a signed webhook.test event (Standard Webhooks headers, the endpoint's secret)",
            obj.url,
        )

    def send_test_event(self, request, obj: WebhookEndpoint) -> dict:
        delivery = notifications.webhook_send_test(actor=request.user, endpoint=obj)
        return {
            "delivered": delivery.status == "delivered",
            "status_code": delivery.last_status_code,
            "error": delivery.last_error,
            "message_id": delivery.message_id,
            "event_type": delivery.event_type,
            "log_url": reverse("admin:workflow_webhookdelivery_change", args=[delivery.pk]),
        }

    @admin.action(description="Send a test event to the selected endpoints")
    def send_test_events(self, request, queryset):
        for endpoint in queryset:
            delivery = notifications.webhook_send_test(actor=request.user, endpoint=endpoint)
            if delivery.status == "delivered":
                self.message_user(request, f"Delivered to {endpoint.url} (HTTP {delivery.last_status_code}).")
            else:
                answer = delivery.last_error or f"HTTP {delivery.last_status_code}"
                self.message_user(request, f"Not delivered to {endpoint.url} ({answer}).", messages.ERROR)


class WebhookDeliveryAdmin(ReadOnlyAdmin):
    section = "integrations"
    read_only_reason = "The delivery log: one row per message to an endpoint and every attempt to deliver it."
    list_display = ("event_type", "endpoint", "status", "attempts", "last_status_code", "created_at")
    list_filter = ("status", "event_type")
    search_fields = ("message_id", "endpoint__url")
    list_select_related = ("endpoint",)
