"""Queue the integrations' tasks by name (services never import ``integrations.tasks``)."""

from __future__ import annotations

from config.celery_app import task_named

WRITE_BACK = "integrations.tasks.mlflow_write_back"


def mlflow_write_back(version_id: int) -> None:
    task_named(WRITE_BACK).delay(version_id)
