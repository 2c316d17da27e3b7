"""Admin console for the governance workflow's records: policies and the control catalogue, webhooks,
and read-only views of the workflow's records (people, roles, teams and the audit trail are in
``accounts.admin``).

Policies and controls are edited with structured forms (``admin_policies``, ``admin_controls``); every
change made here is audited. Policies and webhooks are written through their services
(``ServiceAdmin``), reference data with no service (frameworks, evidence types, controls) is audited as
``admin.changed`` (``AuditedAdmin``). Workflow records (approvals, signatures, findings, deployments,
reviews) are changed only in the application and are read-only here.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.admin_support import AuditedAdmin, ReadOnlyAdmin, ServiceAdmin, display_names
from workflow.admin_controls import ControlAdmin
from workflow.admin_policies import PolicyAdmin
from workflow.admin_webhooks import WebhookDeliveryAdmin, WebhookEndpointAdmin
from workflow.models import (
    ActionPlan,
    ApprovalRequest,
    Control,
    Deployment,
    EvidenceDocument,
    EvidenceType,
    ExtensionRequest,
    Finding,
    FindingAttachment,
    FindingComment,
    Framework,
    Milestone,
    Notification,
    NotificationDigest,
    PeriodicReview,
    Policy,
    ReviewNotice,
    Signature,
    StageAssignment,
    ValidationDocument,
    ValidationDocumentRevision,
    ValidationTemplate,
    WebhookDelivery,
    WebhookEndpoint,
)
from workflow.services.validation_documents import validate_template_sections, validation_template_save

display_names(Policy, "policy", "policies")
display_names(WebhookDelivery, "webhook delivery", "webhook deliveries")
display_names(ReviewNotice, "overdue-review notice", "overdue-review notices")
display_names(StageAssignment, "stage delegation", "stage delegations")
display_names(NotificationDigest, "notification digest", "notification digests")

admin.site.register(Policy, PolicyAdmin)
admin.site.register(Control, ControlAdmin)
admin.site.register(WebhookEndpoint, WebhookEndpointAdmin)
admin.site.register(WebhookDelivery, WebhookDeliveryAdmin)


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


class FindingPartAdmin(ReadOnlyAdmin):
    """A finding's comments, plans, milestones, extensions and attachments: written on the finding's page
    (or the API), where each step is checked and audited, never here."""

    section = "workflow"
    read_only_reason = "Managed on the finding's page, where each change is checked and audited."

    def view_on_site(self, obj):
        finding_id = obj.plan.finding_id if isinstance(obj, Milestone) else obj.finding_id
        return reverse("finding-detail", args=[finding_id])


@admin.register(FindingComment)
class FindingCommentAdmin(FindingPartAdmin):
    list_display = ("id", "finding", "author", "created_at")
    list_select_related = ("finding", "author")
    search_fields = ("=finding__id", "body")


@admin.register(ActionPlan)
class ActionPlanAdmin(FindingPartAdmin):
    list_display = ("id", "finding", "owner", "due_date", "created_at")
    list_select_related = ("finding", "owner")
    search_fields = ("=finding__id", "description")


@admin.register(Milestone)
class MilestoneAdmin(FindingPartAdmin):
    list_display = ("id", "title", "plan", "due_date", "done_at", "done_by")
    list_select_related = ("plan", "done_by")
    search_fields = ("title", "=plan__finding__id")


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(FindingPartAdmin):
    list_display = ("id", "finding", "requested_by", "proposed_due_date", "status", "decided_by")
    list_filter = ("status",)
    list_select_related = ("finding", "requested_by", "decided_by")
    search_fields = ("=finding__id", "reason")


@admin.register(FindingAttachment)
class FindingAttachmentAdmin(FindingPartAdmin):
    list_display = ("id", "file_name", "finding", "size", "uploaded_by", "uploaded_at")
    list_select_related = ("finding", "uploaded_by")
    search_fields = ("file_name", "sha256", "=finding__id")


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


@admin.register(StageAssignment)
class StageAssignmentAdmin(ReadOnlyAdmin):
    section = "workflow"
    read_only_reason = (
        "Stages are delegated by their signers and reassigned by administrators on the approval's page, "
        "where the signing rules are checked; each is audited."
    )
    list_display = ("request", "stage_key", "assignee", "replaces", "kind", "assigned_by", "assigned_at")
    list_filter = ("kind",)
    search_fields = ("=request__id", "assignee__username", "request__model_version__model__name")
    list_select_related = ("request__model_version__model", "assignee", "replaces", "assigned_by")

    def view_on_site(self, obj):
        return reverse("approval-detail", args=[obj.request_id])


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    section = "workflow"
    read_only_reason = (
        "Notifications are written by the events they tell of; each person reads their own inbox."
    )
    list_display = ("recipient", "kind", "title", "created_at", "read_at")
    list_filter = ("kind",)
    search_fields = ("recipient__username", "title")
    list_select_related = ("recipient",)


@admin.register(NotificationDigest)
class NotificationDigestAdmin(ReadOnlyAdmin):
    section = "workflow"
    read_only_reason = "Written by the daily digest job: when each person was last e-mailed their digest."
    list_display = ("user", "last_sent_at", "notifications_sent")
    list_select_related = ("user",)


# --- validation documents ----------------------------------------------------------------------------


class ValidationTemplateForm(forms.ModelForm):
    class Meta:
        model = ValidationTemplate
        fields = ("policy", "title", "sections", "required_for_approval")

    def clean_sections(self):
        try:
            return validate_template_sections(self.cleaned_data.get("sections"))
        except ValidationError as refusal:
            raise forms.ValidationError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in refusal.message_dict.items())
            ) from None


@admin.register(ValidationTemplate)
class ValidationTemplateAdmin(ServiceAdmin):
    """The sections of the validation document a policy asks for (later versions of the tier inherit it).
    Saved through ``validation_template_save``; never deleted (edit it, or give a later policy its own)."""

    section = "rules"
    form = ValidationTemplateForm
    list_display = ("title", "policy", "required_for_approval", "created_at")
    list_select_related = ("policy",)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = validation_template_save(
            actor=request.user,
            policy=data["policy"],
            title=data["title"],
            sections=data["sections"],
            required_for_approval=data["required_for_approval"],
            template=obj if change else None,
        )
        obj.pk = saved.pk

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ValidationDocument)
class ValidationDocumentAdmin(ReadOnlyAdmin):
    section = "workflow"
    read_only_reason = "Validation documents are written by validators on the version's page (or the API)."
    list_display = ("model_version", "revision", "rating", "updated_by", "updated_at")
    list_filter = ("rating",)
    search_fields = ("model_version__model__name", "content_sha256")
    list_select_related = ("model_version__model", "updated_by")

    def view_on_site(self, obj):
        version = obj.model_version
        return reverse("validation-document", args=[version.model.name, version.version])


@admin.register(ValidationDocumentRevision)
class ValidationDocumentRevisionAdmin(ReadOnlyAdmin):
    section = "workflow"
    read_only_reason = "Revisions are permanent: the database refuses any change."
    list_display = ("document", "revision", "author", "created_at")
    search_fields = ("document__model_version__model__name", "content_sha256")
    list_select_related = ("document__model_version__model", "author")
