"""Read-only admin pages for the registry.

Every registry change goes through a service that checks permission and writes its audit event, so the
admin console only shows records (an administrator edits the tiering rule through the API).
"""

from __future__ import annotations

from django.contrib import admin

from registry.models import (
    Dataset,
    DatasetVersion,
    LineageEvent,
    LineageRun,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
    TieringRule,
)


class ReadOnly(admin.ModelAdmin):
    """No add, change or delete here, superusers included."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RegisteredModel)
class RegisteredModelAdmin(ReadOnly):
    list_display = ("name", "title", "team", "owner", "risk_tier", "status", "next_review_due")
    list_filter = ("risk_tier", "status", "eu_ai_act_category", "team")
    search_fields = ("name", "title")
    list_select_related = ("team", "owner")


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnly):
    list_display = (
        "model",
        "version",
        "artifact_format",
        "artifact_executable",
        "artifact_size",
        "created_at",
    )
    list_filter = ("artifact_format", "artifact_executable")
    search_fields = ("model__name", "artifact_sha256", "run_id")
    list_select_related = ("model",)


@admin.register(ModelAlias)
class ModelAliasAdmin(ReadOnly):
    list_display = ("model", "name", "version", "updated_by", "updated_at")
    list_select_related = ("model", "version", "updated_by")


@admin.register(Dataset)
class DatasetAdmin(ReadOnly):
    list_display = ("name", "title", "team", "lineage_namespace", "lineage_name")
    search_fields = ("name", "title", "lineage_name")
    list_select_related = ("team",)


@admin.register(DatasetVersion)
class DatasetVersionAdmin(ReadOnly):
    list_display = ("dataset", "version", "role", "file_format", "row_count", "profile_status", "created_at")
    list_filter = ("role", "file_format", "profile_status")
    search_fields = ("dataset__name", "file_sha256")
    list_select_related = ("dataset",)
    exclude = ("profile",)


@admin.register(TieringRule)
class TieringRuleAdmin(ReadOnly):
    list_display = ("version", "thresholds", "created_by", "created_at")


@admin.register(LineageRun)
class LineageRunAdmin(ReadOnly):
    list_display = ("run_id", "job_namespace", "job_name", "model", "state", "started_at", "ended_at")
    search_fields = ("run_id", "job_name")
    list_select_related = ("model",)


@admin.register(LineageEvent)
class LineageEventAdmin(ReadOnly):
    list_display = ("id", "run", "event_type", "event_time", "received_by", "received_at")
    list_filter = ("event_type",)
    list_select_related = ("run", "received_by")
