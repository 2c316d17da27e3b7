"""Reads of the audit log that a person sees. Only the roles allowed to audit see anything at all."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts import access
from audit.models import AuditCheckpoint, AuditEvent, AuditVerification


def event_list(*, user) -> QuerySet[AuditEvent]:
    """Every event for auditors, risk officers and administrators; nothing for anyone else."""
    return AuditEvent.objects.all() if access.may(user, "audit") else AuditEvent.objects.none()


def checkpoint_list(*, user) -> QuerySet[AuditCheckpoint]:
    return AuditCheckpoint.objects.all() if access.may(user, "audit") else AuditCheckpoint.objects.none()


def verification_list(*, user) -> QuerySet[AuditVerification]:
    if not access.may(user, "audit"):
        return AuditVerification.objects.none()
    return AuditVerification.objects.order_by("-created_at", "-id")
