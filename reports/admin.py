"""Read-only admin pages for the reports records: every change goes through the services (audited)."""

from __future__ import annotations

from django.contrib import admin

from reports.models import EvidenceBundle, GrcConnector, GrcDelivery, Report


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browse and search only: records are written by the services, which audit them."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "model", "model_version", "status", "page_count", "created_at")
    list_filter = ("kind", "status", "variant")
    search_fields = ("model__name", "sha256", "inputs_digest")


@admin.register(EvidenceBundle)
class EvidenceBundleAdmin(ReadOnlyAdmin):
    list_display = ("id", "bag_name", "status", "size", "created_at")
    list_filter = ("status",)
    search_fields = ("bag_name", "sha256")


@admin.register(GrcConnector)
class GrcConnectorAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "url", "payload", "is_active")
    exclude = ("secret",)


@admin.register(GrcDelivery)
class GrcDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "connector", "trigger", "status", "attempts", "last_status_code", "created_at")
    list_filter = ("status", "trigger")
