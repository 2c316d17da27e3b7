"""Admin console for governance records: people, roles and teams; policies and the control catalogue;
webhooks; and read-only views of the audit trail and the governance workflow's records.

The console is for administrators, not Django developers: pages are grouped by task, every model has a
proper name ("Policies", "Authenticator apps"), policies and controls are edited with structured forms
(``admin_policies``, ``admin_controls``), and read-only pages say why they are read-only.

Every change made here is audited. Records with a service (people, roles, teams, tokens,
authenticators, sign-in locks, policies, webhooks) are written through it (``ServiceAdmin``), so the admin
obeys the same rules as the API and is audited with the same actions; reference data with no service
(frameworks, evidence types, controls) is audited as ``admin.changed`` (``AuditedAdmin``). Workflow
records (approvals, signatures, findings, deployments, reviews) are changed only in the application and
are read-only here.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse

from audit.models import AuditCheckpoint, AuditEvent, AuditVerification
from governance.admin_controls import ControlAdmin
from governance.admin_people import RoleAdmin, TeamAdmin, UserAdmin
from governance.admin_policies import PolicyAdmin
from governance.admin_support import AuditedAdmin, ReadOnlyAdmin, ServiceAdmin, display_names
from governance.admin_webhooks import WebhookDeliveryAdmin, WebhookEndpointAdmin
from governance.models import (
    ApiToken,
    ApprovalRequest,
    AuthThrottle,
    Control,
    Deployment,
    EvidenceDocument,
    EvidenceType,
    Finding,
    Framework,
    PeriodicReview,
    Policy,
    ReviewNotice,
    Signature,
    Team,
    TotpDevice,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from governance.services import accounts, lockout, totp
from governance.sign_in import LockoutAdminAuthenticationForm

admin.site.site_header = "Attest administration"
admin.site.site_title = "Attest admin"
admin.site.index_title = "Administration"
admin.site.login_form = LockoutAdminAuthenticationForm  # the sign-in lockout covers /admin/login/ too

display_names(Group, "role", "roles")
display_names(Policy, "policy", "policies")
display_names(AuthThrottle, "sign-in lock", "sign-in locks")
display_names(ApiToken, "API token", "API tokens")
display_names(TotpDevice, "authenticator app", "authenticator apps")
display_names(WebhookDelivery, "webhook delivery", "webhook deliveries")
display_names(ReviewNotice, "overdue-review notice", "overdue-review notices")
display_names(AuditVerification, "audit-chain verification", "audit-chain verifications")

admin.site.unregister(Group)
admin.site.register(Group, RoleAdmin)
admin.site.register(User, UserAdmin)
admin.site.register(Team, TeamAdmin)
admin.site.register(Policy, PolicyAdmin)
admin.site.register(Control, ControlAdmin)
admin.site.register(WebhookEndpoint, WebhookEndpointAdmin)
admin.site.register(WebhookDelivery, WebhookDeliveryAdmin)


@admin.register(ApiToken)
class ApiTokenAdmin(ServiceAdmin):
    """Tokens can be inspected and revoked (``token_revoke``: ``token.revoked``) but never created or
    edited here."""

    section = "people"
    list_display = ("token_key", "name", "user", "created", "expiry")
    list_filter = ("user",)
    search_fields = ("name", "user__username", "=token_key")
    readonly_fields = ("token_key", "name", "user", "created", "expiry")
    exclude = ("digest",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        accounts.token_revoke(actor=request.user, token=obj)


@admin.register(TotpDevice)
class TotpDeviceAdmin(ServiceAdmin):
    """An administrator may only remove a person's authenticator (a lost phone: ``totp_reset``, audited as
    ``auth.totp_removed``); the secret is never shown."""

    section = "people"
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

    def delete_model(self, request, obj):
        totp.totp_reset(actor=request.user, user=obj.user)


@admin.register(AuthThrottle)
class AuthThrottleAdmin(ServiceAdmin):
    """Wrong-password counts and locks (governance.services.lockout): deleting one lifts the lock early,
    e.g. for a person locked out by someone guessing at their account (``lock_lift``: ``auth.lock_lifted``)."""

    section = "people"
    list_display = ("key", "failures", "locked_until", "lockouts", "last_failure_at")
    search_fields = ("key",)
    readonly_fields = ("key", "failures", "first_failure_at", "last_failure_at", "locked_until", "lockouts")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        lockout.lock_lift(actor=request.user, throttle=obj)


# --- the audit trail ---------------------------------------------------------------------------------

APPEND_ONLY = (
    "The audit log is append-only: the database refuses any change or deletion, superusers included."
)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    section = "audit"
    read_only_reason = APPEND_ONLY
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
    section = "audit"
    read_only_reason = "Signed checkpoints of the chain head; made by the hourly job, never edited."
    list_display = ("number", "created_at", "last_seq", "chain_head", "key_id")
    exclude = ("payload",)


@admin.register(AuditVerification)
class AuditVerificationAdmin(ReadOnlyAdmin):
    section = "audit"
    read_only_reason = "Verification jobs and their results; start one from the Audit log page."
    list_display = ("id", "status", "intact", "requested_by_username", "created_at", "finished_at")
    list_filter = ("status", "intact")


# --- reference data ----------------------------------------------------------------------------------


@admin.register(Framework)
class FrameworkAdmin(AuditedAdmin):
    section = "rules"
    list_display = ("key", "title", "url")
    list_display_links = ("key", "title")
    search_fields = ("key", "title")


@admin.register(EvidenceType)
class EvidenceTypeAdmin(AuditedAdmin):
    section = "rules"
    list_display = ("key", "title")
    list_display_links = ("key", "title")
    search_fields = ("key", "title")


# --- the workflow's records: read-only here ----------------------------------------------------------

IN_THE_APP = "Changed only in the application (or the API), where the workflow's rules apply."


@admin.register(EvidenceDocument)
class EvidenceDocumentAdmin(ReadOnlyAdmin):
    section = "workflow"
    read_only_reason = "Evidence documents are fixed once uploaded: the database refuses any change."
    list_display = ("title", "evidence_type", "model_version", "uploaded_by", "uploaded_at")
    list_filter = ("evidence_type",)
    search_fields = ("title", "sha256", "model_version__model__name")
    list_select_related = ("evidence_type", "model_version__model", "uploaded_by")


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdmin):
    section = "workflow"
    read_only_reason = IN_THE_APP
    list_display = ("id", "model_version", "environment", "status", "policy", "requested_by", "requested_at")
    list_filter = ("status", "environment")
    search_fields = ("=id", "model_version__model__name", "evidence_digest")
    list_select_related = ("model_version__model", "policy", "requested_by")

    def view_on_site(self, obj):
        return reverse("approval-detail", args=[obj.pk])


@admin.register(Signature)
class SignatureAdmin(ReadOnlyAdmin):
    section = "workflow"
    read_only_reason = (
        "Electronic signatures are permanent records (21 CFR Part 11): never changed or deleted."
    )
    list_display = ("request", "stage_key", "printed_name", "decision", "meaning", "signed_at", "auth_method")
    list_filter = ("decision", "meaning", "auth_method")
    search_fields = ("printed_name", "signer__username", "=request__id")
    list_select_related = ("request__model_version__model",)
    exclude = ("payload",)


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    """Findings move through their statuses on the findings pages (or the API), never by editing here."""

    section = "workflow"
    read_only_reason = (
        "Findings move through their statuses on the Findings pages, where each step is checked."
    )
    list_display = ("id", "title", "model", "severity", "status", "source", "owner", "due_date")
    list_filter = ("status", "severity", "source")
    search_fields = ("title", "model__name")
    list_select_related = ("model", "owner")

    def view_on_site(self, obj):
        return reverse("finding-detail", args=[obj.pk])


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyAdmin):
    section = "workflow"
    read_only_reason = "Deployments are recorded through the gate (API), never by hand."
    list_display = ("model_version", "environment", "strategy", "traffic_percent", "status", "deployed_at")
    list_filter = ("environment", "strategy", "status")
    search_fields = ("model_version__model__name",)
    list_select_related = ("model_version__model",)


@admin.register(PeriodicReview)
class PeriodicReviewAdmin(ReadOnlyAdmin):
    section = "workflow"
    read_only_reason = (
        "Periodic reviews are opened and signed by validators and risk officers in the application."
    )
    list_display = ("id", "model", "status", "conclusion", "printed_name", "signed_at", "opened_at")
    list_filter = ("status", "conclusion")
    search_fields = ("model__name", "printed_name")
    list_select_related = ("model",)
    exclude = ("payload",)


@admin.register(ReviewNotice)
class ReviewNoticeAdmin(ReadOnlyAdmin):
    section = "workflow"
    read_only_reason = "Written by the daily job that announces each overdue review once."
    list_display = ("model", "due_date", "notified_at")
    list_select_related = ("model",)
