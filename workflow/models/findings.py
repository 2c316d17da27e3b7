"""Findings: issues raised by validators or by failed checks and monitoring alerts."""

from __future__ import annotations

from django.conf import settings
from django.db import models

SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3, "critical": 4}


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class FindingStatus(models.TextChoices):
    OPEN = "open", "Open"
    REMEDIATED = "remediated", "Remediated"
    RISK_ACCEPTED = "risk_accepted", "Risk accepted"
    CLOSED = "closed", "Closed"


FINDING_TRANSITIONS = {
    FindingStatus.OPEN: {FindingStatus.REMEDIATED, FindingStatus.RISK_ACCEPTED},
    FindingStatus.REMEDIATED: {FindingStatus.CLOSED, FindingStatus.OPEN},
    FindingStatus.RISK_ACCEPTED: {FindingStatus.CLOSED, FindingStatus.OPEN},
    FindingStatus.CLOSED: set(),
}


class Finding(models.Model):
    """An issue with a model, tracked to resolution.

    ``dedupe_key`` makes automatic findings idempotent: one per failed check run or monitoring alert.
    Open findings at or above the policy's blocking severity close the deployment gate.
    """

    model = models.ForeignKey("registry.RegisteredModel", on_delete=models.PROTECT, related_name="findings")
    model_version = models.ForeignKey(
        "registry.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    check_run = models.ForeignKey(
        "monitoring.CheckRun", null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    source = models.CharField(max_length=20, default="review")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_findings"
    )
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=FindingStatus.choices, default=FindingStatus.OPEN)
    resolution = models.TextField(blank=True)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    raised_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    access_team_path = "model__team"

    AUDIT_OBJECT_TYPE = "governance.finding"  # the type its audit events had before the move

    class Meta:
        db_table = "governance_finding"  # the table it had in the governance app
        ordering = ["-raised_at"]
        indexes = [models.Index(fields=["model", "status", "severity"], name="governance_finding_open_idx")]

    def __str__(self) -> str:
        return f"[{self.severity}] {self.title}"


# --- managing a finding: discussion, action plans, extensions, attachments ---------------------------


class FindingComment(models.Model):
    """A comment in a finding's thread (Markdown source; shown sanitised by ``workflow.markdown``)."""

    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    access_team_path = "finding__model__team"

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"comment {self.pk} on finding {self.finding_id}"


class ActionPlan(models.Model):
    """How the first line will remediate a finding: an owner, what will be done, milestones, a due date."""

    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="action_plans")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    description = models.TextField()
    due_date = models.DateField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    access_team_path = "finding__model__team"

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"action plan {self.pk} for finding {self.finding_id}"


class Milestone(models.Model):
    """One step of an action plan; ``done_at``/``done_by`` say who ticked it and when."""

    plan = models.ForeignKey(ActionPlan, on_delete=models.PROTECT, related_name="milestones")
    title = models.CharField(max_length=300)
    due_date = models.DateField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    access_team_path = "plan__finding__model__team"

    class Meta:
        ordering = ["due_date", "pk"]

    def __str__(self) -> str:
        return self.title


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class ExtensionRequest(models.Model):
    """A request to move a finding's due date, decided by the second line (never by the requester)."""

    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="extension_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    previous_due_date = models.DateField(null=True, blank=True)
    proposed_due_date = models.DateField()
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)

    access_team_path = "finding__model__team"

    class Meta:
        ordering = ["requested_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["finding"],
                condition=models.Q(status="pending"),
                name="workflow_one_pending_extension_per_finding",
            )
        ]

    def __str__(self) -> str:
        return f"extension {self.pk} of finding {self.finding_id} to {self.proposed_due_date}"


class FindingAttachment(models.Model):
    """A file attached to a finding, stored by its SHA-256 through Django's storage (``registry.storage``)."""

    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="attachments")
    file_name = models.CharField(max_length=255)
    file_key = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    access_team_path = "finding__model__team"

    class Meta:
        ordering = ["uploaded_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["finding", "sha256"], name="workflow_attachment_once_per_finding")
        ]

    def __str__(self) -> str:
        return self.file_name
