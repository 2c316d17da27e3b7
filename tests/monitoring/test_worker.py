"""Check runs on a real Celery worker and broker: every kind end to end, and a worker killed mid-run.

Each test starts its own worker process (a few seconds), so there are only two.
"""

import psutil
import pytest
from django.utils import timezone

from audit.models import AuditEvent
from monitoring.models import CheckRun, RunStatus
from monitoring.services import runs
from tests.conftest import WorkerProcess, wait_for
from tests.monitoring import factories
from tests.monitoring.conftest import queue

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def finished(*run_ids):
    def check():
        statuses = dict(CheckRun.objects.filter(pk__in=run_ids).values_list("pk", "status"))
        return all(status in (RunStatus.SUCCEEDED, RunStatus.FAILED) for status in statuses.values())

    return check


def succeeded_events(run):
    return AuditEvent.objects.filter(
        action="check.succeeded", object_type="monitoring.checkrun", object_id=str(run.pk)
    ).count()


def test_it_runs_every_kind_end_to_end_on_a_real_worker(
    celery_worker, maya, model, dataset, reference, current
):
    version = factories.skops_version(maya, model, kind="boosting")
    unscored = factories.make_dataset_version(
        maya, dataset, factories.credit_frame(seed=50), prediction_column=""
    )
    queued = [
        queue(maya, "drift", version, reference=reference, current=current),
        queue(maya, "data_quality", version, reference=reference, current=current),
        queue(maya, "fairness", version, current=current),
        queue(maya, "performance", version, current=unscored),  # scored in the sandbox
        queue(maya, "explainability", version, current=unscored, options={"max_rows": 100}),
    ]

    wait_for(finished(*[run.pk for run in queued]), timeout=240, message="five check runs")

    for run in queued:
        run.refresh_from_db()
        assert run.status == RunStatus.SUCCEEDED, (run.kind, run.error_message)
        assert run.result_sha256
        assert run.outcome in {"pass", "warn", "fail"}
        assert run.duration_seconds > 0
        assert succeeded_events(run) == 1
    assert [run.task_name.rsplit(".", 1)[1] for run in queued] == [
        "run_check",
        "run_check",
        "run_check",
        "score_check",
        "explain_check",
    ]


def kill_tree(worker: WorkerProcess) -> None:
    """kill -9 the worker's main process and its pool children, as a crashed machine would."""
    parent = psutil.Process(worker.process.pid)
    for process in [*parent.children(recursive=True), parent]:
        process.kill()
    worker.process.wait(timeout=20)


def test_a_run_whose_worker_is_killed_mid_run_completes_exactly_once(
    worker_env, maya, version, reference, current
):
    slow = WorkerProcess(
        {**worker_env, "ATTEST_TEST_CHECK_DELAY": "120", "ATTEST_CHECK_LEASE_SECONDS": "3"}
    ).start()
    try:
        run = queue(maya, "drift", version, reference=reference, current=current)
        wait_for(
            lambda: CheckRun.objects.get(pk=run.pk).status == RunStatus.RUNNING,
            timeout=90,
            message="the claim",
        )
        kill_tree(slow)
    finally:
        slow.stop(kill=True)
    wait_for(
        lambda: CheckRun.objects.get(pk=run.pk).lease_expires_at < timezone.now(),
        timeout=30,
        message="the dead worker's lease to expire",
    )
    assert CheckRun.objects.get(pk=run.pk).status == RunStatus.RUNNING

    fresh = WorkerProcess({**worker_env, "ATTEST_CHECK_LEASE_SECONDS": "3"}).start()
    try:
        # A Redis broker would redeliver the unacknowledged message only after its visibility timeout,
        # and the filesystem broker never does; the reaper (a beat task every minute) queues it again.
        assert runs.check_runs_reap() == {"requeued": 1, "failed": 0, "resent": 0}
        wait_for(finished(run.pk), timeout=120, message="the run to finish on the new worker")
    finally:
        fresh.stop()

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert run.attempts == 2
    assert succeeded_events(run) == 1
