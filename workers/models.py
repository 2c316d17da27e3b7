from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models


class WorkerHeartbeat(models.Model):
    """What one Celery worker last said about itself; the only record liveness is judged from.

    ``seen_at`` is written by the worker's main process on a timer (it is alive and its consumer loop turns);
    ``executed_at`` by its pool whenever a task, or the liveness probe the timer sends to the worker's own
    queue, starts or finishes (tasks it receives are really executed). ``active`` tasks out of
    ``concurrency`` slots tell a busy worker from a stuck one.
    """

    hostname = models.CharField(max_length=255, unique=True)
    pid = models.PositiveIntegerField()
    queues = ArrayField(models.CharField(max_length=255), default=list)
    concurrency = models.PositiveIntegerField(default=0)
    active = models.PositiveIntegerField(default=0)
    oldest_active_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)
    executed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.hostname
