"""Governance background jobs, and the hooks that carry the request context into every task.

At publish time the request id and acting user go into the message headers; when a worker runs the
task it binds a ``task`` context from them, so audit events and log lines written by the task can be
traced back to the request that caused them.
"""

from __future__ import annotations

from celery import shared_task
from celery.signals import before_task_publish, task_postrun, task_prerun
from django.db import transaction

from audit import checkpoints, record
from governance import context
from governance.services import audit, findings, lockout, notifications, reviews

HEADER_REQUEST_ID = "attest_request_id"
HEADER_ACTOR_ID = "attest_actor_id"
_task_tokens: dict[str, object] = {}


@before_task_publish.connect
def _add_context_headers(sender=None, headers=None, **kwargs):
    if headers is None:
        return
    ctx = context.current()
    headers.setdefault(HEADER_REQUEST_ID, ctx.request_id or context.new_request_id())
    headers.setdefault(HEADER_ACTOR_ID, ctx.actor_id)


@task_prerun.connect
def _bind_task_context(task_id=None, task=None, **kwargs):
    request = task.request
    ctx = context.RequestContext(
        request_id=getattr(request, HEADER_REQUEST_ID, None) or task_id or "",
        auth_method="task",
        actor_id=getattr(request, HEADER_ACTOR_ID, None),
    )
    _task_tokens[task_id] = context.push(ctx)


@task_postrun.connect
def _unbind_task_context(task_id=None, **kwargs):
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        context.pop(token)


@shared_task(name="governance.tasks.worker_ping")
def worker_ping(note: str = "") -> str:
    """Record that a worker ran, with the request id it inherited; used by health checks and tests."""
    with transaction.atomic():
        event = record(action="system.worker_ping", actor=None, after={"note": note[:200]})
    return event.request_id


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


@shared_task(name="governance.tasks.purge_sign_in_counts")
def purge_sign_in_counts() -> int:
    """Forget wrong-password counts a day old with no lock in force (governance.services.lockout)."""
    return lockout.stale_purge()
