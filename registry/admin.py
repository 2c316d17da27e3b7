"""Read-only admin pages for the registry.

Every registry change goes through a service that checks permission and writes its audit event, so the
admin console only shows records: models, versions, datasets and lineage are registered in the
application or through the API (an administrator edits the tiering rule through the API).
"""

from __future__ import annotations

from django.contrib import admin

from accounts.admin_support import ReadOnlyAdmin, display_names
from registry.models import (
    Dataset,
    DatasetVersion,
    LineageEvent,
    LineageRun,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
    SavedFilter,
    TierChange,
    TieringRule,
)

REGISTERED_IN_THE_APP = (
    "Registered and changed in the application or through the API, where every change is checked."
)

display_names(ModelAlias, "model alias", "model aliases")
display_names(TieringRule, "tiering rule version", "tiering rule versions")
display_names(TierChange, "tier change", "tier changes")
display_names(SavedFilter, "saved filter", "saved filters")


class RegistryAdmin(ReadOnlyAdmin):
    section = "inventory"
    read_only_reason = REGISTERED_IN_THE_APP


@admin.register(RegisteredModel)
class RegisteredModelAdmin(RegistryAdmin):
    list_display = ("name", "title", "team", "owner", "risk_tier", "status", "next_review_due")
    list_filter = ("risk_tier", "status", "eu_ai_act_category", "team")
    search_fields = ("name", "title")
    list_select_related = ("team", "owner")

    def view_on_site(self, obj):
        return f"/models/{obj.name}/"


@admin.register(ModelVersion)
class ModelVersionAdmin(RegistryAdmin):
    read_only_reason = "A submitted version never changes: a change is a new version."
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
class ModelAliasAdmin(RegistryAdmin):
    list_display = ("model", "name", "version", "updated_by", "updated_at")
    search_fields = ("model__name", "name")
    list_select_related = ("model", "version", "updated_by")


@admin.register(TierChange)
class TierChangeAdmin(RegistryAdmin):
    read_only_reason = "A risk officer accepts or rejects a tier change on the model's page, with a reason."
    list_display = (
        "model",
        "current_tier",
        "proposed_tier",
        "status",
        "requested_by",
        "requested_at",
        "decided_by",
    )
    list_filter = ("status",)
    search_fields = ("model__name",)
    list_select_related = ("model", "requested_by", "decided_by")


@admin.register(Dataset)
class DatasetAdmin(RegistryAdmin):
    list_display = ("name", "title", "team", "lineage_namespace", "lineage_name")
    search_fields = ("name", "title", "lineage_name")
    list_select_related = ("team",)


@admin.register(DatasetVersion)
class DatasetVersionAdmin(RegistryAdmin):
    list_display = ("dataset", "version", "role", "file_format", "row_count", "profile_status", "created_at")
    list_filter = ("role", "file_format", "profile_status")
    search_fields = ("dataset__name", "file_sha256")
    list_select_related = ("dataset",)
    exclude = ("profile",)


@admin.register(TieringRule)
class TieringRuleAdmin(RegistryAdmin):
    read_only_reason = "Each rule is a version; an administrator posts a new one through the API."
    list_display = ("version", "thresholds", "created_by", "created_at")


@admin.register(LineageRun)
class LineageRunAdmin(RegistryAdmin):
    list_display = ("run_id", "job_namespace", "job_name", "model", "state", "started_at", "ended_at")
    search_fields = ("run_id", "job_name")
    list_select_related = ("model",)


@admin.register(LineageEvent)
class LineageEventAdmin(RegistryAdmin):
    read_only_reason = "OpenLineage events as received: kept as they arrived."
    list_display = ("id", "run", "event_type", "event_time", "received_by", "received_at")
    list_filter = ("event_type",)
    list_select_related = ("run", "received_by")


@admin.register(SavedFilter)
class SavedFilterAdmin(RegistryAdmin):
    read_only_reason = "Each person saves and deletes their own inventory filters on the inventory page."
    list_display = ("name", "owner", "query", "created_at")
    search_fields = ("name", "owner__username")
    list_select_related = ("owner",)
