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
