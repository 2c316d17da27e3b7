"""Helpers for tests that start, kill and watch real worker processes."""

from __future__ import annotations

import psutil

from tests.conftest import WorkerProcess, wait_for
from workers.models import WorkerHeartbeat


def pool_children(worker: WorkerProcess) -> list[psutil.Process]:
    return psutil.Process(worker.process.pid).children()


def kill_pool_children(worker: WorkerProcess) -> list[int]:
    """kill -9 every pool child of the worker, as the OOM killer would; returns their pids."""
    children = pool_children(worker)
    for child in children:
        child.kill()
    psutil.wait_procs(children, timeout=20)
    return [child.pid for child in children]


def wait_until_executing(worker: WorkerProcess, *, after=None, timeout: float = 120) -> WorkerHeartbeat:
    """The worker's heartbeat row once its pool executed something (its first liveness probe at least)."""

    def executed():
        beat = WorkerHeartbeat.objects.filter(pid=worker.process.pid).first()
        if beat and beat.executed_at and (after is None or beat.executed_at > after):
            return beat
        return None

    return wait_for(executed, timeout=timeout, message="the worker's pool to execute its liveness probe")
