"""The worker-side heartbeat: a consumer bootstep whose timer writes the main process's heartbeat and sends
the liveness probe to the worker's own direct queue (``worker_direct``), one probe outstanding at a time.

The timer runs in the consumer's loop, so a stalled loop stops ``seen_at``; the probe travels through the
broker and the pool, so a stalled pool stops ``executed_at`` (workers.liveness judges both).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta

from celery import bootsteps
from celery.utils.nodenames import worker_direct
from celery.worker import state
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from workers import liveness
from workers.tasks import PROBE_TASK

logger = logging.getLogger(__name__)


class Heartbeat:
    """One worker's heartbeat and probe, ticked by the consumer's timer."""

    def __init__(self, consumer) -> None:
        self.consumer = consumer
        self.started_at = timezone.now()
        self.probe_sent_at: datetime | None = None

    def tick(self) -> None:
        close_old_connections()
        try:
            self._record()
            self._probe()
        except Exception:  # a database or broker outage must not stop the worker; /healthz shows it
            logger.warning("worker heartbeat failed", exc_info=True)

    def _record(self) -> None:
        c = self.consumer
        liveness.worker_seen(
            hostname=c.hostname,
            pid=os.getpid(),
            queues=[q for q in c.app.amqp.queues.consume_from if not q.endswith(".dq2")],
            concurrency=getattr(c.pool, "num_processes", 0) or 0,
            active_started=[
                datetime.fromtimestamp(request.time_start, tz=UTC)
                for request in list(state.active_requests)
                if request.time_start
            ],
            started_at=self.started_at,
        )

    def _probe(self) -> None:
        interval = settings.ATTEST_WORKER_HEARTBEAT_SECONDS
        now = timezone.now()
        outstanding = self.probe_sent_at is not None and not liveness.probe_answered(
            hostname=self.consumer.hostname, since=self.probe_sent_at
        )
        if outstanding and now - self.probe_sent_at < timedelta(seconds=3 * interval):
            return
        self.consumer.app.send_task(
            PROBE_TASK, queue=worker_direct(self.consumer.hostname), expires=3 * interval
        )
        self.probe_sent_at = now


class LivenessStep(bootsteps.StartStopStep):
    """Registered in config.celery_app; starts after the task consumer so the probe can be consumed."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, consumer, **kwargs) -> None:
        super().__init__(consumer, **kwargs)
        self.timer_entry = None

    def start(self, consumer) -> None:
        heartbeat = Heartbeat(consumer)
        heartbeat.tick()
        interval = settings.ATTEST_WORKER_HEARTBEAT_SECONDS
        self.timer_entry = consumer.timer.call_repeatedly(interval, heartbeat.tick)

    def stop(self, consumer) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None
