"""The liveness probe: sent by each worker's main process to its own direct queue, run by its pool."""

from __future__ import annotations

from celery import shared_task

from workers import liveness

PROBE_TASK = "workers.tasks.probe"


@shared_task(name=PROBE_TASK, bind=True, ignore_result=True)
def probe(self) -> None:
    """Record that this worker's pool executed a task it received from the broker."""
    liveness.worker_executed(hostname=self.request.hostname)
