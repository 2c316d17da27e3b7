"""Fault test with real processes (issue 13, finding 1): a check run survives ``kill -9`` of every pool child
and then of the worker's main process; /healthz shows the gap while no worker consumes, and the run finishes
exactly once on the worker started afterwards."""

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from jobs import reaper
from monitoring.models import CheckRun, RunStatus
from tests.conftest import WorkerProcess, wait_for
from tests.monitoring.conftest import queue
from tests.workers.conftest import kill_pool_children, wait_until_executing

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
FAST = {
    "ATTEST_WORKER_HEARTBEAT_SECONDS": "1",
    "ATTEST_CHECK_LEASE_SECONDS": "3",
    "ATTEST_JOB_LEASE_SECONDS": "3",
}
SLOW = {**FAST, "ATTEST_TEST_CHECK_DELAY": "120"}  # the check holds its claim; profiles do not


def checks_queue(client, path="/healthz"):
    response = client.get(path)
    return response.status_code, response.json()["queues"]["checks"]


def kill_everything(worker: WorkerProcess) -> None:
    kill_pool_children(worker)
    worker.process.kill()
    worker.process.wait(timeout=20)


def finished_once_reaped(run_id):
    def check():
        reaper.reap()  # beat's job, every minute; a worker also runs it when it starts
        return CheckRun.objects.get(pk=run_id).status in (RunStatus.SUCCEEDED, RunStatus.FAILED)

    return check


def test_a_run_survives_its_pool_and_its_worker_being_killed_and_healthz_shows_the_gap(
    worker_env, settings, client, maya, version, reference, current
):
    settings.ATTEST_WORKER_STALE_SECONDS = 8
    slow = WorkerProcess({**worker_env, **SLOW}, "default,checks", 2).start()
    try:
        wait_until_executing(slow)
        run = queue(maya, "drift", version, reference=reference, current=current)
        wait_for(lambda: CheckRun.objects.get(pk=run.pk).status == RunStatus.RUNNING, message="the claim")
        wait_for(lambda: checks_queue(client)[1]["status"] == "ok", message="checks consumed")

        killed_at = timezone.now()
        kill_pool_children(slow)
        wait_until_executing(slow, after=killed_at)  # new children execute again: the pool recovered

        kill_everything(slow)
        status, checks = wait_for(
            lambda: (
                (answer := checks_queue(client, "/healthz/workers"))[1]["status"] == "stuck"
                # first a silent worker, then (its heartbeat expired) no live worker: wait for the second
                and "No live worker" in answer[1].get("reason", "")
                and answer
            ),
            timeout=120,
            message="/healthz to report the checks queue stuck",
        )
    finally:
        slow.stop(kill=True)
    assert status == 503
    assert "No live worker consumes queue 'checks'" in checks["reason"]
    assert client.get("/healthz").json()["status"] == "degraded"
    assert CheckRun.objects.get(pk=run.pk).status == RunStatus.RUNNING

    fresh = WorkerProcess({**worker_env, **FAST}, "default,checks", 2).start()
    try:
        wait_for(finished_once_reaped(run.pk), timeout=240, message="the run to finish on the new worker")
        wait_for(lambda: checks_queue(client)[1]["status"] == "ok", message="checks consumed again")
    finally:
        fresh.stop()

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    succeeded = AuditEvent.objects.filter(
        action="check.succeeded", object_type="monitoring.checkrun", object_id=str(run.pk)
    )
    assert succeeded.count() == 1
