"""Hooks in the worker: the pool's heartbeat on every task, the memory limit and the temporary folder of each
pool child, and the removal of the folders dead processes left behind."""

from __future__ import annotations

import logging
import time

from celery.signals import task_postrun, task_prerun, worker_init, worker_process_init
from django.conf import settings

from workers import limits, liveness, scratch

logger = logging.getLogger(__name__)
_last_written = {"at": 0.0}
MIN_WRITE_SECONDS = 1.0


@task_prerun.connect
@task_postrun.connect
def _task_started_or_finished(task=None, **kwargs) -> None:
    """The pool executes: record it (at most once a second per process; probes use the task itself)."""
    request = getattr(task, "request", None)
    if request is None or request.is_eager or not request.hostname:
        return
    now = time.monotonic()
    if now - _last_written["at"] < MIN_WRITE_SECONDS:
        return
    _last_written["at"] = now
    try:
        liveness.worker_executed(hostname=request.hostname)
    except Exception:  # the heartbeat never fails a task
        logger.warning("could not record the pool heartbeat", exc_info=True)


@worker_process_init.connect
def _cap_memory(**kwargs) -> None:
    from config.celery_app import app

    queues = set(app.amqp.queues.consume_from)
    limit_mb = settings.ATTEST_WORKER_MEMORY_MB
    if limits.applies_to(queues, settings.ATTEST_WORKER_MEMORY_QUEUES, limit_mb):
        limits.cap_address_space(limit_mb)


@worker_init.connect
def _remove_orphaned_folders(**kwargs) -> None:
    """A worker starting after a crash removes what its killed children left (model copies included)."""
    scratch.default_root()  # fixed before any child changes tempfile's folder
    scratch.remove_orphans()


@worker_process_init.connect
def _use_own_folder(**kwargs) -> None:
    """A pool child replacing a killed one removes its predecessor's folder, then works in its own."""
    scratch.remove_orphans()
    scratch.use_process_folder()
