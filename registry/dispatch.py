"""Queue the registry's tasks, by name: services call this and never import ``registry.tasks``.

The tasks module calls the services (tasks take ids and call a service), so the services reach the tasks
through here, where each is looked up by its registered name when it is sent.
"""

from __future__ import annotations

from config.celery_app import task_named

PROFILE_DATASET_VERSION = "registry.tasks.profile_dataset_version"


def profile_dataset_version(version_id: int) -> None:
    task_named(PROFILE_DATASET_VERSION).delay(version_id)
