"""Deployment records: what went where, under which approval, and when it was rolled back."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Strategy(models.TextChoices):
    FULL = "full", "Full"
    CANARY = "canary", "Canary"
    SHADOW = "shadow", "Shadow"
    BLUE_GREEN = "blue_green", "Blue-green"


class DeploymentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ROLLED_BACK = "rolled_back", "Rolled back"
    SUPERSEDED = "superseded", "Superseded"


class Deployment(models.Model):
    """One deployment of a version to an environment, allowed by the gate at the time it was recorded."""

    model_version = models.ForeignKey(
        "registry.ModelVersion", on_delete=models.PROTECT, related_name="deployments"
    )
    environment = models.CharField(max_length=20)
    strategy = models.CharField(max_length=20, choices=Strategy.choices, default=Strategy.FULL)
    traffic_percent = models.PositiveSmallIntegerField(default=100)
    approval = models.ForeignKey(
        "workflow.ApprovalRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deployments",
        help_text="The approval the gate relied on; empty for environments the policy does not gate.",
    )
    status = models.CharField(
        max_length=20, choices=DeploymentStatus.choices, default=DeploymentStatus.ACTIVE
    )
    note = models.TextField(blank=True)
    shipped_digest = models.CharField(
        max_length=64,
        blank=True,
        help_text="What the deployer said it shipped (bundle digest or artifact SHA-256, hex), checked by "
        "the gate against the version's; empty when none was given.",
    )
    deployed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    deployed_at = models.DateTimeField(auto_now_add=True)
    rolled_back_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rolled_back_at = models.DateTimeField(null=True, blank=True)
    rollback_reason = models.TextField(blank=True)

    access_team_path = "model_version__model__team"

    AUDIT_OBJECT_TYPE = "governance.deployment"  # the type its audit events had before the move

    class Meta:
        db_table = "governance_deployment"  # the table it had in the governance app
        ordering = ["-deployed_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(traffic_percent__gte=1, traffic_percent__lte=100),
                name="governance_deployment_traffic_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.model_version} → {self.environment} ({self.strategy})"
