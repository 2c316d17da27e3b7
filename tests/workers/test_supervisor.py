"""`make run` restarts a worker that stops consuming (config.devstack.WorkerSupervisor), judged by
/healthz/workers on a live server, with a real worker process."""

import os
import signal

import pytest

from config import devstack
from tests.conftest import database_url_for_tests, wait_for
from workers.models import WorkerHeartbeat

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
COMMAND = [*devstack.WORKER_COMMAND[:-1], "WARNING"]


def executing(pid: int):
    return lambda: WorkerHeartbeat.objects.filter(pid=pid, executed_at__isnull=False).exists()


def test_it_restarts_a_worker_that_stopped_consuming(live_server, settings, monkeypatch):
    settings.ATTEST_WORKER_STALE_SECONDS = 4
    for name, value in {
        "DATABASE_URL": database_url_for_tests(),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "ATTEST_WORKER_HEARTBEAT_SECONDS": "1",
        "ATTEST_WORKER_STALE_SECONDS": "4",
    }.items():
        monkeypatch.setenv(name, value)
    processes = {"worker": devstack.start("worker", COMMAND)}
    supervisor = devstack.WorkerSupervisor(processes, f"{live_server.url}/healthz/workers", COMMAND)
    try:
        first = processes["worker"].pid
        wait_for(executing(first), timeout=120, message="the worker to execute its first probe")
        supervisor.poll()
        assert supervisor.restarts == 0

        os.kill(first, signal.SIGSTOP)  # it stops consuming, writing heartbeats, everything

        wait_for(lambda: supervisor.poll() or supervisor.restarts, timeout=120, message="the restart")
        second = processes["worker"].pid
        assert second != first
        wait_for(executing(second), timeout=120, message="the new worker to execute its probe")
    finally:
        devstack.stop_all(processes)
