"""The governance workflow's background jobs, and the audit chain's (the audit app imports no other app,
so its jobs are queued from here): thin tasks that take ids and call a service.

Registered names keep the ``governance.tasks.`` prefix they had before the workflow became its own app:
beat schedules stored in the database, queued messages and ``settings.ATTEST_ALERT_TASK`` name them.
"""

from __future__ import annotations

from celery import shared_task

from audit import checkpoints
from workflow.services import approval_logistics, audit, findings, inbox, notifications, reviews


@shared_task(name="governance.tasks.audit_checkpoint")
def audit_checkpoint() -> int | None:
    """Sign the audit chain head (hourly through beat); returns the checkpoint number, if one was made."""
    checkpoint = checkpoints.create(actor=None)
    return checkpoint.number if checkpoint else None


@shared_task(name="governance.tasks.audit_verify")
def audit_verify(verification_id: int) -> None:
    """Run one queued verification of the audit chain."""
    audit.verification_run(verification_id=verification_id)


@shared_task(name="governance.tasks.reap_audit_verifications")
def reap_audit_verifications() -> dict[str, int]:
    """Verifications whose worker was lost: kept for beat entries made before ``jobs.tasks.reap_jobs``,
    which now reaps every kind of job."""
    return audit.verifications_reap()


# --- governance workflow -----------------------------------------------------------------------------
# Thin tasks: each takes ids and calls a service. Notifications are queued on commit by the services.


@shared_task(name="governance.tasks.deliver_webhook", acks_late=True, reject_on_worker_lost=True)
def deliver_webhook(delivery_id: int) -> str:
    """One delivery attempt; a failed attempt sends this task again for when the backoff ends."""
    return notifications.webhook_deliver(delivery_id=delivery_id).status


@shared_task(
    name="governance.tasks.send_notification_email",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_notification_email(event_type: str, body: dict, emails: list[str]) -> None:
    notifications.email_send(event_type=event_type, body=body, emails=emails)


@shared_task(name="governance.tasks.process_monitoring_alert", acks_late=True)
def process_monitoring_alert(alert_id: int) -> int | None:
    """Turn a monitoring alert into a finding (once), and put the model under review when severe."""
    finding = findings.finding_from_alert(alert_id=alert_id)
    return finding.pk if finding else None


@shared_task(name="governance.tasks.sweep_check_outcomes")
def sweep_check_outcomes() -> int:
    """Raise findings for failed check runs and for alerts that have none yet (idempotent)."""
    return findings.findings_sweep()


@shared_task(name="governance.tasks.mark_overdue_reviews")
def mark_overdue_reviews() -> list[str]:
    return reviews.reviews_mark_overdue()


@shared_task(name="governance.tasks.send_reminders")
def send_reminders() -> dict[str, int]:
    """Notify the signers of approval stages due within a day or overdue, and the owners of findings due
    soon or overdue (hourly through beat; idempotent, once per stage per day)."""
    return approval_logistics.reminders_send()


@shared_task(name="governance.tasks.send_notification_digests")
def send_notification_digests() -> list[str]:
    """E-mail each person with unread notifications one digest, at most once a day (daily through beat)."""
    return inbox.digests_send()
