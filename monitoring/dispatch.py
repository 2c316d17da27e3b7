"""Queue monitoring's tasks, by name: services call this and never import ``monitoring.tasks``.

The tasks module calls the services (tasks take ids and call a service), so the services reach the tasks
through here, where each is looked up by its registered name when it is sent.
"""

from __future__ import annotations

from config.celery_app import task_named

TASK_FOR_PLAIN_CHECKS = "monitoring.tasks.run_check"
TASK_FOR_SCORING = "monitoring.tasks.score_check"  # routed to the sandbox queue
TASK_FOR_SHAP = "monitoring.tasks.explain_check"  # routed to the sandbox queue
CHECK_TASKS = frozenset({TASK_FOR_PLAIN_CHECKS, TASK_FOR_SCORING, TASK_FOR_SHAP})


def check_run(run_id: int, task_name: str, task_id: str) -> None:
    """Send a run's task (on commit, or again from the reaper) under the run's own task id."""
    if task_name not in CHECK_TASKS:
        raise KeyError(f"{task_name!r} is not a check task")
    task_named(task_name).apply_async(args=[run_id], task_id=task_id)
