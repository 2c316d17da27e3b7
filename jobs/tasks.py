"""The reaper's task (beat, every ``ATTEST_JOB_REAP_EVERY_SECONDS``) and its run at worker start."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready

from jobs import reaper

logger = logging.getLogger(__name__)


@shared_task(name="jobs.tasks.reap_jobs", acks_late=True)
def reap_jobs() -> dict[str, dict[str, int]]:
    """Requeue or fail jobs whose worker died and re-send jobs whose message was lost, of every kind."""
    return reaper.reap()


@worker_ready.connect
def _reap_at_worker_start(sender=None, **kwargs) -> None:
    """A worker that starts after a crash finds the jobs the crash left behind without waiting for beat."""
    try:
        reap_jobs.apply_async(queue="default")
    except Exception:  # a broker hiccup at start must not stop the worker; beat reaps soon anyway
        logger.warning("could not queue the job reaper at worker start", exc_info=True)
