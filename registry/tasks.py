"""Registry background jobs: thin wrappers that take ids and call a service."""

from __future__ import annotations

from celery import shared_task

from registry.services import datasets


@shared_task(name="registry.tasks.profile_dataset_version")
def profile_dataset_version(version_id: int) -> str:
    """Profile one dataset version (queued on commit of its upload); returns the resulting status."""
    return datasets.dataset_version_profile(version_id=version_id).profile_status
