"""Claims, leases, the reaper, and the refusal to execute unsafe artifacts."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from monitoring import dispatch, sandbox
from monitoring.models import CheckRun, RunStatus
from monitoring.sandbox import loaders
from monitoring.services import leases, runs
from tests.monitoring import factories
from tests.monitoring.conftest import execute, queue

pytestmark = pytest.mark.django_db


def events(run, action):
    return AuditEvent.objects.filter(object_type="monitoring.checkrun", object_id=str(run.pk), action=action)


def running(run, *, lease_seconds: float, token: str = "a" * 32, attempts: int = 1) -> CheckRun:
    CheckRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING,
        claim_token=token,
        attempts=attempts,
        started_at=timezone.now(),
        lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds),
    )
    run.refresh_from_db()
    return run


def test_it_refuses_a_pickle_artifact_before_queuing(maya, model, current):
    version = factories.pickle_version(maya, model)
    no_predictions = factories.make_dataset_version(
        maya, current.dataset, factories.credit_frame(seed=20), prediction_column=""
    )

    with pytest.raises(ValidationError) as error:
        queue(maya, "performance", version, current=no_predictions)

    assert "pickle/joblib" in error.value.message_dict["version"][0]
    assert not CheckRun.objects.exists()


def test_it_never_loads_a_pickle_even_when_a_run_reaches_a_worker(maya, model, current):
    version = factories.pickle_version(maya, model)
    run = queue(maya, "performance", version, current=current)  # predictions from the column: allowed
    CheckRun.objects.filter(pk=run.pk).update(
        config={**run.config, "predictions": {"source": "model", "type": "score", "decision_threshold": 0.5}}
    )

    run = execute(run)

    assert run.status == RunStatus.FAILED
    assert run.error_type == "ModelRefused"
    assert "never loads those" in run.error_message


def test_it_refuses_a_skops_file_with_a_type_outside_the_allow_list(maya, model, current, tmp_path):
    version = factories.make_version(maya, model, factories.skops_with_untrusted_type())
    assert version.artifact_executable is False

    with pytest.raises(ValidationError) as error:
        queue(maya, "explainability", version, current=current)
    assert "builtins.eval" in error.value.message_dict["version"][0]

    path = tmp_path / "model.skops"
    path.write_bytes(factories.skops_with_untrusted_type())
    with pytest.raises(sandbox.ModelRefused, match=r"builtins\.eval"):
        loaders.load("skops", str(path), ["age"], sorted(["sklearn.tree._tree.Tree"]))


def test_it_reports_a_sandbox_child_over_its_memory_limit(tmp_path):
    path = tmp_path / "model.skops"
    path.write_bytes(factories.skops_bytes(factories.trained_model()))
    frame = factories.credit_frame(rows=10)

    with pytest.raises(sandbox.SandboxError) as error:
        sandbox.score(
            artifact=path,
            artifact_format="skops",
            frame=frame,
            features=factories.FEATURES,
            allowed_types=[],
            limits=sandbox.Limits(memory_mb=64, seconds=60),
            positive_label=1,
        )
    # 64 MiB is less than the runner needs for its own libraries: always this answer, whatever the machine
    # (the limit used to apply before pandas was imported, and the child died as ImportError or worse)
    assert error.value.error_type == "SandboxMemoryError"
    assert "64 MiB" in str(error.value)


def test_it_does_not_claim_a_run_another_worker_holds(maya, version, reference, current):
    run = running(queue(maya, "drift", version, reference=reference, current=current), lease_seconds=60)

    with pytest.raises(leases.RunBusy):
        runs.check_run_execute(run_id=run.pk, task_id="second")


def test_it_reclaims_a_run_whose_lease_expired_and_finishes_it_once(maya, version, reference, current):
    run = running(queue(maya, "drift", version, reference=reference, current=current), lease_seconds=-1)

    run = execute(run)

    assert run.status == RunStatus.SUCCEEDED
    assert run.attempts == 2
    assert events(run, "check.succeeded").count() == 1
    assert events(run, "check.started").get().after["reclaimed"] is True


def test_it_discards_the_result_of_a_worker_whose_claim_was_taken_over(maya, version, reference, current):
    run = running(queue(maya, "drift", version, reference=reference, current=current), lease_seconds=60)
    computed = runs.Computed({"x": 1}, [], "pass", "")

    assert runs._succeed(run.pk, "b" * 32, computed) == "lost"
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING
    assert not events(run, "check.succeeded").exists()


def test_the_reaper_requeues_a_lost_run_and_sends_its_task_once(
    maya, version, reference, current, monkeypatch, django_capture_on_commit_callbacks
):
    """GIVEN a run whose worker stopped renewing its lease
    WHEN the reaper runs twice
    THEN the run is queued again with no holder, its task sent once (audited check.requeued); the
    second pass finds nothing to do."""
    sent = []
    monkeypatch.setattr(dispatch, "check_run", lambda *args: sent.append(args))
    run = running(queue(maya, "drift", version, reference=reference, current=current), lease_seconds=-5)

    with django_capture_on_commit_callbacks(execute=True):
        assert runs.check_runs_reap() == {"requeued": 1, "failed": 0, "resent": 0}
    with django_capture_on_commit_callbacks(execute=True):
        assert runs.check_runs_reap() == {"requeued": 0, "failed": 0, "resent": 0}

    run.refresh_from_db()
    assert (run.status, run.claim_token, run.lease_expires_at) == (RunStatus.QUEUED, "", None)
    assert sent == [(run.pk, run.task_name, run.celery_task_id)]
    assert events(run, "check.requeued").count() == 1


def test_the_reaper_fails_a_run_that_used_up_its_attempts(maya, version, reference, current, settings):
    settings.ATTEST_CHECK_MAX_ATTEMPTS = 2
    run = running(
        queue(maya, "drift", version, reference=reference, current=current), lease_seconds=-5, attempts=2
    )

    assert runs.check_runs_reap() == {"requeued": 0, "failed": 1, "resent": 0}
    run.refresh_from_db()
    assert "each of its 2 attempts" in run.error_message


def test_the_reaper_leaves_live_runs_alone(maya, version, reference, current):
    running(queue(maya, "drift", version, reference=reference, current=current), lease_seconds=60)

    assert runs.check_runs_reap() == {"requeued": 0, "failed": 0, "resent": 0}


def test_the_reaper_sends_the_task_again_once_for_a_run_queued_too_long(
    maya, version, reference, current, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """GIVEN a run queued five minutes ago that no worker claimed (its message lost) and one just queued
    WHEN the reaper runs twice with a 60-second resend delay
    THEN the stranded run's task is sent once more (same task id, audited check.requeued), it stays queued,
    and nothing is sent for the fresh run or on the second pass."""
    settings.ATTEST_CHECK_RESEND_SECONDS = 60
    sent = []
    monkeypatch.setattr(dispatch, "check_run", lambda *args: sent.append(args))
    stranded = queue(maya, "drift", version, reference=reference, current=current)
    fresh = queue(maya, "drift", version, reference=reference, current=current)
    CheckRun.objects.filter(pk=stranded.pk).update(created_at=timezone.now() - timedelta(minutes=5))

    with django_capture_on_commit_callbacks(execute=True):
        first = runs.check_runs_reap()
    with django_capture_on_commit_callbacks(execute=True):
        second = runs.check_runs_reap()

    assert (first["resent"], second["resent"]) == (1, 0)
    assert sent == [(stranded.pk, stranded.task_name, stranded.celery_task_id)]
    stranded.refresh_from_db()
    assert stranded.status == RunStatus.QUEUED
    assert events(stranded, "check.requeued").get().after["resent"] is True
    assert events(stranded, "check.requeued").count() == 1
    assert not events(fresh, "check.requeued").exists()


def test_the_database_refuses_to_change_or_delete_a_finished_run(maya, version, reference, current):
    from django.db import InternalError, transaction

    run = execute(queue(maya, "drift", version, reference=reference, current=current))

    with pytest.raises(InternalError), transaction.atomic():
        CheckRun.objects.filter(pk=run.pk).update(outcome="pass")
    with pytest.raises(InternalError), transaction.atomic():
        CheckRun.objects.filter(pk=run.pk).delete()
