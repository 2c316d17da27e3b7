from django.apps import AppConfig


class JobsConfig(AppConfig):
    """Claims with a lease, heartbeats, retries with backoff and one reaper for every kind of job."""

    name = "jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from jobs import tasks  # noqa: F401  (the reaper task and its run at worker start)
