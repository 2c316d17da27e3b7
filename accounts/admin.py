"""Admin console for people, roles, teams, their tokens, authenticators and sign-in locks, and read-only
views of the audit trail (the workflow's records are in ``workflow.admin``).

The console is for administrators, not Django developers: pages are grouped by task, every model has a
proper name ("Authenticator apps", "Sign-in locks"), and read-only pages say why they are read-only.
Every change made here is audited: records with a service (people, roles, teams, tokens,
authenticators, sign-in locks) are written through it (``ServiceAdmin``), so the admin obeys the same
rules as the API and is audited with the same actions.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.models import Group

from accounts.admin_people import RoleAdmin, TeamAdmin, UserAdmin
from accounts.admin_support import ReadOnlyAdmin, ServiceAdmin, display_names
from accounts.models import (
    ApiToken,
    AuthThrottle,
    ScimClient,
    ScimGroup,
    ScimIdentity,
    Team,
    TotpDevice,
    User,
)
from accounts.services import accounts, lockout, scim, totp
from accounts.sign_in import LockoutAdminAuthenticationForm
from audit.models import AuditCheckpoint, AuditEvent, AuditVerification

admin.site.site_header = "Attest administration"
admin.site.site_title = "Attest admin"
admin.site.index_title = "Administration"
admin.site.login_form = LockoutAdminAuthenticationForm  # the sign-in lockout covers /admin/login/ too

display_names(Group, "role", "roles")
display_names(AuthThrottle, "sign-in lock", "sign-in locks")
display_names(ApiToken, "API token", "API tokens")
display_names(TotpDevice, "authenticator app", "authenticator apps")
display_names(ScimClient, "SCIM provisioning client", "SCIM provisioning clients")
display_names(ScimIdentity, "SCIM-provisioned account", "SCIM-provisioned accounts")
display_names(ScimGroup, "SCIM group", "SCIM groups")
display_names(AuditVerification, "audit-chain verification", "audit-chain verifications")

admin.site.unregister(Group)
admin.site.register(Group, RoleAdmin)
admin.site.register(User, UserAdmin)
admin.site.register(Team, TeamAdmin)


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
    """Wrong-password counts and locks (accounts.services.lockout): deleting one lifts the lock early,
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


@admin.register(ScimClient)
class ScimClientAdmin(ServiceAdmin):
    """An identity provider's SCIM connector (``accounts.services.scim``). Creating one shows its bearer
    token once (``scim.client_created``); it is revoked, never deleted (``scim.client_revoked``), because
    the accounts it manages keep pointing at it. Its identity provider is changed through the service
    (``scim.client_changed``)."""

    section = "people"
    list_display = ("name", "provider", "active", "created_at", "last_used_at")
    list_filter = ("active",)
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        return (
            ("name", "provider")
            if obj is None
            else ("name", "provider", "active", "created_at", "last_used_at")
        )

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("name", "active", "created_at", "last_used_at")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            scim.client_update(actor=request.user, client=obj, provider=form.cleaned_data["provider"])
            return
        client, token = scim.client_create(
            actor=request.user, name=form.cleaned_data["name"], provider=form.cleaned_data["provider"]
        )
        obj.pk, obj.token_sha256, obj.created_at = client.pk, client.token_sha256, client.created_at
        messages.warning(
            request,
            f"The bearer token of {client.name}, shown this once (put it in the identity provider's SCIM "
            f"settings; only its hash is kept): {token}",
        )

    @admin.action(description="Revoke (the token stops working; the accounts stay)")
    def revoke(self, request, queryset):
        for client in queryset.filter(active=True):
            scim.client_revoke(actor=request.user, client=client)


SCIM_MANAGED = "Kept by the identity provider through SCIM (/scim/v2/); change it there, not here."


@admin.register(ScimIdentity)
class ScimIdentityAdmin(ReadOnlyAdmin):
    section = "people"
    read_only_reason = SCIM_MANAGED
    list_display = ("user", "scim_client", "external_id", "created_at")
    list_filter = ("scim_client",)
    search_fields = ("user__username", "external_id")


@admin.register(ScimGroup)
class ScimGroupAdmin(ReadOnlyAdmin):
    section = "people"
    read_only_reason = SCIM_MANAGED
    list_display = ("display_name", "scim_client", "external_id", "created_at")
    list_filter = ("scim_client",)
    search_fields = ("display_name", "external_id")


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
