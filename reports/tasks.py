"""Reports background jobs: thin tasks that take ids and call a service (``reports`` queue).

All are acknowledged late and requeued if their worker dies; the services claim the job or delivery
first, so a redelivered message finds nothing to do.
"""

from __future__ import annotations

from celery import shared_task

from reports.services import bundles, deliveries, reports
from workflow.services.notifications import retry_delay

JOB_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(name="reports.tasks.render_report", **JOB_OPTIONS)
def render_report(report_id: int) -> str | None:
    """Render one requested report."""
    report = reports.report_render(report_id=report_id)
    return report.status if report else None


@shared_task(name="reports.tasks.build_bundle", **JOB_OPTIONS)
def build_bundle(bundle_id: int) -> str | None:
    """Build one requested evidence bundle."""
    bundle = bundles.bundle_build(bundle_id=bundle_id)
    return bundle.status if bundle else None


@shared_task(name="reports.tasks.deliver", bind=True, max_retries=None, **JOB_OPTIONS)
def deliver(self, delivery_id: int) -> str:
    """One attempt to push to a GRC connector; a failed attempt schedules the next with backoff."""
    delivery = deliveries.deliver(delivery_id=delivery_id)
    if delivery is None:
        return "not due"  # delivered, given up, or another worker has it
    if delivery.status == "retrying":
        raise self.retry(countdown=retry_delay(delivery.attempts))
    return delivery.status


@shared_task(name="reports.tasks.deliver_pending")
def deliver_pending() -> int:
    """Every minute (beat): deliveries owed for completed approvals, and lost ones re-queued."""
    return deliveries.deliveries_schedule()
