"""MLflow sync jobs, polls and write-backs: thin tasks that take ids and call a service."""

from __future__ import annotations

from celery import shared_task

from integrations.services import mlflow_sync, registries, siem, writeback


@shared_task(name="integrations.tasks.mlflow_sync")
def mlflow_sync_run(sync_id: int) -> str | None:
    """Work one queued import or sync; returns its final status."""
    job = mlflow_sync.sync_run(sync_id=sync_id)
    return job.status if job else None


@shared_task(name="integrations.tasks.mlflow_poll")
def mlflow_poll() -> int:
    """Queue a poll of every registry whose interval has passed (beat, every minute)."""
    return len(registries.polls_due())


@shared_task(name="integrations.tasks.mlflow_write_back", acks_late=True)
def mlflow_write_back(version_id: int) -> int:
    """Write an Attest version's approval and gate state to the MLflow versions it came from."""
    return writeback.write_back_version(version_id)


@shared_task(name="integrations.tasks.siem_forward")
def siem_forward() -> int:
    """Forward new audit events to every enabled SIEM destination (beat, every five seconds)."""
    return sum(outcome.sent for outcome in siem.forward_all())
