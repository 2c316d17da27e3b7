"""Periodic reviews: the second line's signed review of a model, and which overdue review was announced."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models


class ReviewNotice(models.Model):
    """One per model and missed due date, so the daily job announces an overdue review exactly once."""

    model = models.ForeignKey(
        "registry.RegisteredModel", on_delete=models.CASCADE, related_name="review_notices"
    )
    due_date = models.DateField()
    notified_at = models.DateTimeField(auto_now_add=True)

    AUDIT_OBJECT_TYPE = "governance.reviewnotice"  # the type its audit events had before the move

    class Meta:
        db_table = "governance_reviewnotice"  # the table it had in the governance app
        ordering = ["-notified_at"]
        constraints = [
            models.UniqueConstraint(fields=["model", "due_date"], name="governance_review_notice_once")
        ]

    def __str__(self) -> str:
        return f"review of {self.model_id} due {self.due_date}"


class ReviewStatus(models.TextChoices):
    OPEN = "open", "Open"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class ReviewConclusion(models.TextChoices):
    SATISFACTORY = "satisfactory", "Satisfactory: the model remains fit for use"
    SATISFACTORY_WITH_FINDINGS = (
        "satisfactory_with_findings",
        "Satisfactory with findings: fit for use while the findings are remediated",
    )
    UNSATISFACTORY = "unsatisfactory", "Unsatisfactory: the model is not fit for continued use"


class PeriodicReview(models.Model):
    """A second-line periodic review of a model: opened, evidenced, concluded and signed.

    Guarantees: only a completed review sets the model's ``last_reviewed_on`` (to the day it was signed)
    and may extend its ``valid_until``; the signer re-authenticated in the signing request and is neither
    the model's owner nor one of its team's first line; ``payload`` holds the RFC 8785 bytes the server
    signed with Ed25519 (``server_signature``, ``key_id``), so the record can be verified without Attest.
    At most one open review per model. A completed or cancelled review never changes.
    """

    model = models.ForeignKey("registry.RegisteredModel", on_delete=models.PROTECT, related_name="reviews")
    status = models.CharField(max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.OPEN)
    scope = models.TextField(blank=True, help_text="What the review covers and why now.")
    documents = models.ManyToManyField(
        "workflow.EvidenceDocument",
        blank=True,
        related_name="reviews",
        db_table="governance_periodicreview_documents",  # the table it had in the governance app
    )
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(auto_now_add=True)
    conclusion = models.CharField(max_length=30, choices=ReviewConclusion.choices, blank=True)
    summary = models.TextField(blank=True)
    valid_until = models.DateField(null=True, blank=True, help_text="The validity the review grants, if any.")
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    printed_name = models.CharField(max_length=300, blank=True)
    roles = models.JSONField(default=list, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    auth_method = models.CharField(max_length=80, blank=True)
    # When the identity provider re-authenticated the signer for this signature (SSO signers only).
    idp_authenticated_at = models.DateTimeField(null=True, blank=True)
    payload = models.BinaryField(null=True, blank=True)
    server_signature = models.CharField(max_length=128, blank=True)
    key_id = models.CharField(max_length=64, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(blank=True)

    access_team_path = "model__team"

    AUDIT_OBJECT_TYPE = "governance.periodicreview"  # the type its audit events had before the move

    class Meta:
        db_table = "governance_periodicreview"  # the table it had in the governance app
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["model"], condition=models.Q(status="open"), name="governance_one_open_review"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="completed")
                | (
                    ~models.Q(conclusion="")
                    & models.Q(signed_at__isnull=False)
                    & ~models.Q(server_signature="")
                ),
                name="governance_completed_review_signed",
            ),
        ]
        triggers = [
            pgtrigger.Protect(
                name="governance_review_closed_fixed",
                operation=pgtrigger.Update | pgtrigger.Delete,
                condition=pgtrigger.Q(old__status="completed") | pgtrigger.Q(old__status="cancelled"),
            ),
            pgtrigger.Protect(name="governance_review_kept", operation=pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"periodic review #{self.pk} of {self.model_id} ({self.status})"
