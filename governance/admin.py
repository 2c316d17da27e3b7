"""Admin console: users and roles, teams with object permissions, tokens, the audit log, policies, the
control catalogue, webhooks, and read-only views of the governance workflow's records.

Every change made here is audited: ``AuditedAdmin`` turns Django's admin log calls into audit events,
inside the admin's own transaction. Records with a service (policies, webhooks) are written through it,
so the admin obeys the same rules as the API; workflow records (approvals, signatures, findings,
deployments) are changed only in the application and are read-only here.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from guardian.admin import GuardedModelAdmin

from governance import context
from governance.audit import record
from governance.models import (
    ApiToken,
    ApprovalRequest,
    AuditCheckpoint,
    AuditEvent,
    AuditVerification,
    Control,
    Deployment,
    EvidenceDocument,
    EvidenceType,
    Finding,
    Framework,
    Policy,
    ReviewNotice,
    Severity,
    Signature,
    Team,
    TotpDevice,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from governance.models.notifications import WEBHOOK_EVENTS
from governance.services import notifications
from governance.services.policies import RULE_FIELDS, policy_create_version, validate_rules
from registry.models import RiskTier

admin.site.site_header = "Attest administration"
admin.site.site_title = "Attest admin"


class AuditedAdmin(admin.ModelAdmin):
    """Records every add, change and delete made through the admin as an ``admin.changed`` event."""

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def _audit(self, request, obj, verb: str, message="") -> None:
        with transaction.atomic(), context.acting(request.user):
            record(
                action="admin.changed",
                actor=request.user,
                obj=obj,
                after={"verb": verb, "change": str(message)},
            )

    def log_addition(self, request, obj, message):
        self._audit(request, obj, "added", message)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._audit(request, obj, "changed", message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit(request, obj, "deleted")
        return super().log_deletions(request, queryset)


@method_decorator(transaction.atomic, name="obj_perms_manage_user_view")
@method_decorator(transaction.atomic, name="obj_perms_manage_group_view")
class AuditedGuardedAdmin(GuardedModelAdmin, AuditedAdmin):
    """Guardian's per-object permission pages, made atomic so each grant commits with its audit event."""


@admin.register(User)
class UserAdmin(DjangoUserAdmin, AuditedAdmin):
    list_display = ("username", "get_full_name", "email", "role_names", "is_active", "last_login")
    list_filter = ("is_active", "is_staff", "groups")

    @admin.display(description="roles and teams")
    def role_names(self, user: User) -> str:
        return ", ".join(group.name for group in user.groups.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")


@admin.register(Team)
class TeamAdmin(AuditedGuardedAdmin):
    list_display = ("name", "title", "created_at")
    search_fields = ("name", "title")
    readonly_fields = ("created_at",)


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdmin):
    """Tokens can be inspected and revoked (deleted) but never created or edited here."""

    list_display = ("token_key", "name", "user", "created", "expiry")
    list_filter = ("user",)
    readonly_fields = ("token_key", "name", "user", "created", "expiry")
    exclude = ("digest",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """No add, change or delete for anyone, superusers included."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "seq",
        "occurred_at",
        "action",
        "actor_username",
        "auth_method",
        "object_type",
        "object_repr",
    )
    list_filter = ("action", "auth_method", "object_type")
    search_fields = ("=request_id", "actor_username", "object_id", "object_repr")
    exclude = ("canonical",)
    show_full_result_count = False


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    list_display = ("number", "created_at", "last_seq", "chain_head", "key_id")
    exclude = ("payload",)


@admin.register(AuditVerification)
class AuditVerificationAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "intact", "requested_by_username", "created_at", "finished_at")
    list_filter = ("status", "intact")


# --- policies and the control catalogue --------------------------------------------------------------

JSON_RULE_FIELDS = ("required_checks", "required_evidence", "stages", "gated_environments", "segregation")


class PolicyForm(forms.ModelForm):
    """The rules of a policy, checked by the service's own validation before anything is saved."""

    blocking_finding_severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.HIGH)
    review_trigger_severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.HIGH)

    class Meta:
        model = Policy
        fields = ("tier", *RULE_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in JSON_RULE_FIELDS:
            if name in self.fields:
                self.fields[name].required = False  # an empty list or object is a valid rule
        if "tier" in self.fields:
            self.fields["tier"] = forms.TypedChoiceField(choices=RiskTier.choices, coerce=int)

    def clean(self):
        data = super().clean()
        rules = {name: data[name] for name in RULE_FIELDS if name in data}
        for name in JSON_RULE_FIELDS:
            if rules.get(name) is None:
                rules[name] = {} if name == "gated_environments" else []
        try:
            validate_rules(rules)
        except ValidationError as refusal:
            for key, errors in refusal.message_dict.items():
                field = re.split(r"[.\[]", key, maxsplit=1)[0]
                self.add_error(
                    field if field in self.fields else None, [f"{key}: {error}" for error in errors]
                )
        self.rules = rules
        return data


@admin.register(Policy)
class PolicyAdmin(AuditedAdmin):
    """Versions are never edited in place: saving the form creates the tier's next version through
    ``policy_create_version`` and activates it; the version you edited stays as it was."""

    form = PolicyForm
    list_display = ("__str__", "tier", "version", "is_active", "name", "created_by", "created_at")
    list_filter = ("tier", "is_active")
    search_fields = ("name",)
    list_select_related = ("created_by",)
    ordering = ("tier", "-version")

    def get_readonly_fields(self, request, obj=None):
        shown = ("version", "is_active", "created_by", "created_at")
        return ("tier", *shown) if obj is not None else ()

    def get_fields(self, request, obj=None):
        shown = self.get_readonly_fields(request, obj)  # which version this is, first
        return [*shown, *(name for name in super().get_fields(request, obj) if name not in shown)]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        name, options = fieldsets[0]
        note = (
            "Saving creates the next version of this tier's policy and makes it the active one; "
            "this version stays unchanged for the approvals made under it."
        )
        return [(name, {**options, "description": note}), *fieldsets[1:]]

    def has_delete_permission(self, request, obj=None):
        return False  # approvals and signatures point at the exact version they were made under

    def save_model(self, request, obj, form, change):
        created = policy_create_version(actor=request.user, tier=obj.tier, rules=form.rules)
        obj.pk = created.pk
        obj.refresh_from_db()  # the admin now redirects to, and logs, the new version

    def log_change(self, request, obj, message):
        return self.log_addition(request, obj, message or [{"added": {}}])


@admin.register(Framework)
class FrameworkAdmin(AuditedAdmin):
    list_display = ("key", "title", "url")
    search_fields = ("key", "title")


@admin.register(Control)
class ControlAdmin(AuditedAdmin):
    list_display = ("framework", "key", "title")
    list_filter = ("framework",)
    search_fields = ("key", "title", "description")
    list_select_related = ("framework",)


@admin.register(EvidenceType)
class EvidenceTypeAdmin(AuditedAdmin):
    list_display = ("key", "title")
    search_fields = ("key", "title")


@admin.register(EvidenceDocument)
class EvidenceDocumentAdmin(ReadOnlyAdmin):
    list_display = ("title", "evidence_type", "model_version", "sha256", "uploaded_by", "uploaded_at")
    list_filter = ("evidence_type",)
    search_fields = ("title", "sha256", "model_version__model__name")
    list_select_related = ("evidence_type", "model_version__model", "uploaded_by")


# --- the workflow's records: read-only here ----------------------------------------------------------


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "model_version", "environment", "status", "policy", "requested_by", "requested_at")
    list_filter = ("status", "environment")
    search_fields = ("=id", "model_version__model__name", "evidence_digest")
    list_select_related = ("model_version__model", "policy", "requested_by")

    def view_on_site(self, obj):
        return reverse("approval-detail", args=[obj.pk])


@admin.register(Signature)
class SignatureAdmin(ReadOnlyAdmin):
    list_display = ("request", "stage_key", "printed_name", "decision", "meaning", "signed_at", "auth_method")
    list_filter = ("decision", "meaning", "auth_method")
    search_fields = ("printed_name", "signer__username", "=request__id")
    list_select_related = ("request__model_version__model",)
    exclude = ("payload",)


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    """Findings move through their statuses on the findings pages (or the API), never by editing here."""

    list_display = ("id", "title", "model", "severity", "status", "source", "owner", "due_date")
    list_filter = ("status", "severity", "source")
    search_fields = ("title", "model__name")
    list_select_related = ("model", "owner")

    def view_on_site(self, obj):
        return reverse("finding-detail", args=[obj.pk])


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyAdmin):
    list_display = ("model_version", "environment", "strategy", "traffic_percent", "status", "deployed_at")
    list_filter = ("environment", "strategy", "status")
    search_fields = ("model_version__model__name",)
    list_select_related = ("model_version__model",)


@admin.register(ReviewNotice)
class ReviewNoticeAdmin(ReadOnlyAdmin):
    list_display = ("model", "due_date", "notified_at")
    list_select_related = ("model",)


# --- notifications and authenticators ----------------------------------------------------------------


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

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.startswith(("https://", "http://")):
            raise ValidationError("An http(s) URL.")
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(AuditedAdmin):
    """Created, changed and deleted through the notification services; the signing secret is shown
    once, on the page that follows creation, and never again."""

    form = WebhookForm
    list_display = ("url", "description", "team", "is_active", "created_by", "created_at")
    list_filter = ("is_active", "team")
    search_fields = ("url", "description")
    list_select_related = ("team", "created_by")

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
            "title": "Webhook created",
            "endpoint": obj,
            "opts": self.opts,
            "changelist_url": reverse("admin:governance_webhookendpoint_changelist"),
        }
        return TemplateResponse(request, "governance/admin/webhook_secret.html", context)

    def delete_model(self, request, obj):
        notifications.webhook_delete(actor=request.user, endpoint=obj)

    def delete_queryset(self, request, queryset):
        for endpoint in queryset:
            notifications.webhook_delete(actor=request.user, endpoint=endpoint)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("event_type", "endpoint", "status", "attempts", "last_status_code", "created_at")
    list_filter = ("status", "event_type")
    search_fields = ("message_id", "endpoint__url")
    list_select_related = ("endpoint",)


@admin.register(TotpDevice)
class TotpDeviceAdmin(AuditedAdmin):
    """An administrator may only remove a person's authenticator (a lost phone); the secret is never shown."""

    list_display = ("user", "confirmed", "created_at")
    list_filter = ("confirmed",)
    search_fields = ("user__username",)
    list_select_related = ("user",)
    exclude = ("secret", "last_step")
    readonly_fields = ("user", "confirmed", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
