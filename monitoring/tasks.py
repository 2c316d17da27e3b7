"""Monitoring background jobs: thin tasks that take ids and call a service.

Routing (config.settings): ``score_*`` and ``explain_*`` go to the ``sandbox`` queue (they execute
uploaded models), everything else here to ``checks``. All are late-acknowledged and rejected back to the
queue if their worker dies; the run's claim makes a redelivered task harmless.
"""

from __future__ import annotations

from celery import Task, shared_task
from django.conf import settings

from monitoring.services import leases, plans, runs


class CheckTask(Task):
    """Fails the run when the task gives up for good (transient errors past their retries)."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        if args:
            runs.check_run_abandon(
                run_id=args[0], task_id=task_id, error_type=type(exc).__name__, message=str(exc) or repr(exc)
            )


CHECK_TASK_OPTIONS = {
    "base": CheckTask,
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "soft_time_limit": settings.CELERY_TASK_SOFT_TIME_LIMIT,
    "time_limit": settings.CELERY_TASK_TIME_LIMIT,
    "autoretry_for": runs.TRANSIENT_ERRORS,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}
BUSY_RETRIES = 20


def _execute(task, run_id: int) -> str:
    try:
        return runs.check_run_execute(run_id=run_id, task_id=task.request.id or "")
    except leases.RunBusy as busy:
        if task.request.retries >= BUSY_RETRIES:
            return "busy"  # the other worker's lease is alive: it finishes the run, or the reaper does
        raise task.retry(countdown=busy.countdown, max_retries=BUSY_RETRIES) from None


@shared_task(name="monitoring.tasks.run_check", **CHECK_TASK_OPTIONS)
def run_check(self, run_id: int) -> str:
    """Run a check that does not execute the model (drift, data quality, predictions from a column)."""
    return _execute(self, run_id)


@shared_task(name="monitoring.tasks.score_check", **CHECK_TASK_OPTIONS)
def score_check(self, run_id: int) -> str:
    """Run a check whose predictions come from scoring the artifact (sandbox queue)."""
    return _execute(self, run_id)


@shared_task(name="monitoring.tasks.explain_check", **CHECK_TASK_OPTIONS)
def explain_check(self, run_id: int) -> str:
    """Run an explainability (SHAP) check (sandbox queue)."""
    return _execute(self, run_id)


@shared_task(name="monitoring.tasks.reap_check_runs", acks_late=True)
def reap_check_runs() -> dict[str, int]:
    """Requeue or fail runs whose worker stopped renewing its lease (beat, every minute)."""
    return runs.check_runs_reap()


@shared_task(
    name="monitoring.tasks.run_monitoring_plan",
    acks_late=True,
    autoretry_for=runs.TRANSIENT_ERRORS,
    retry_backoff=5,
    max_retries=5,
)
def run_monitoring_plan(plan_id: int) -> list[int]:
    """Queue a plan's checks against the newest production batch (beat, on the plan's schedule)."""
    return [run.pk for run in plans.monitoring_plan_run(plan_id=plan_id)]
