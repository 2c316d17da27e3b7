"""Outgoing webhooks (Standard Webhooks) and their delivery log."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from jobs.models import LeasedJob

WEBHOOK_EVENTS = [
    "approval.requested",
    "approval.signed",
    "approval.approved",
    "approval.rejected",
    "approval.invalidated",
    "finding.raised",
    "review.overdue",
    "gate.closed",
]


class WebhookEndpoint(models.Model):
    """A receiver of signed event notifications. ``secret`` is ``whsec_`` + base64, per Standard Webhooks."""

    url = models.URLField(max_length=1000)
    description = models.CharField(max_length=300, blank=True)
    secret = models.CharField(max_length=200)
    events = models.JSONField(default=list, help_text="Event types to send; empty means all.")
    team = models.ForeignKey(
        "governance.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    AUDIT_OBJECT_TYPE = "governance.webhookendpoint"  # the type its audit events had before the move

    class Meta:
        db_table = "governance_webhookendpoint"  # the table it had in the governance app
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return self.is_active and (not self.events or event_type in self.events)


class WebhookDelivery(LeasedJob):
    """One message to one endpoint and every attempt to deliver it (retried with exponential backoff).

    A durable job (``jobs``): status pending → sending (claimed, with a lease) → delivered, or
    retrying (``next_attempt_at``) and at last failed; a lost message is sent again by the job reaper.
    """

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    message_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(max_length=20, default="pending")
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    AUDIT_OBJECT_TYPE = "governance.webhookdelivery"  # the type its audit events had before the move

    class Meta:
        db_table = "governance_webhookdelivery"  # the table it had in the governance app
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"


class NotificationKind(models.TextChoices):
    APPROVAL_WAITING = "approval_waiting", "Approval waiting for you"
    APPROVAL_DELEGATED = "approval_delegated", "Approval stage delegated to you"
    STAGE_DUE = "stage_due", "Approval stage due within a day"
    STAGE_OVERDUE = "stage_overdue", "Approval stage overdue"
    FINDING_ASSIGNED = "finding_assigned", "Finding assigned to you"
    FINDING_DUE = "finding_due", "Finding due within a week"
    FINDING_OVERDUE = "finding_overdue", "Finding overdue"
    EXTENSION_REQUESTED = "extension_requested", "Due-date extension waiting for your decision"
    EXTENSION_DECIDED = "extension_decided", "Your due-date extension was decided"
    REVIEW_DUE = "review_due", "Periodic review due"


class Notification(models.Model):
    """One in-app notification for one person: what happened, where to look, whether it was read.

    Written in the transaction of the change it tells of (a rolled-back change notifies nobody).
    ``dedupe_key`` makes repeated jobs idempotent: a reminder for a stage on a day is written once per
    recipient (unique with the recipient when set).
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=40, choices=NotificationKind.choices)
    title = models.CharField(max_length=300)
    link = models.CharField(max_length=500, blank=True, help_text="A path in Attest.")
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    dedupe_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="workflow_notification_unread")]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"],
                condition=~models.Q(dedupe_key=""),
                name="workflow_notification_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.recipient_id}: {self.title}"


class NotificationDigest(models.Model):
    """When a person was last sent their e-mail digest of unread notifications (at most one a day)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_sent_at = models.DateTimeField(null=True, blank=True)
    notifications_sent = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return (
            f"digest of {self.user_id} (last {self.last_sent_at:%Y-%m-%d %H:%M})" if self.last_sent_at else ""
        )
