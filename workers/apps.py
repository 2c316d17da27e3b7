from django.apps import AppConfig


class WorkersConfig(AppConfig):
    """Worker processes: the pool, memory limits and liveness heartbeats."""

    name = "workers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from workers import signals, tasks  # noqa: F401  (heartbeat hooks and the probe task)
