"""Admin console for access policies: users and roles, teams with object permissions, tokens, audit log.

Every change made here is audited: ``AuditedAdmin`` turns Django's admin log calls into audit events,
inside the admin's own transaction.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.utils.decorators import method_decorator
from guardian.admin import GuardedModelAdmin

from governance import context
from governance.audit import record
from governance.models import ApiToken, AuditCheckpoint, AuditEvent, AuditVerification, Team, User

admin.site.site_header = "Attest administration"
admin.site.site_title = "Attest admin"


class AuditedAdmin(admin.ModelAdmin):
    """Records every add, change and delete made through the admin as an ``admin.changed`` event."""

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
