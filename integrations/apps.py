from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """Systems Attest reads and writes back to: MLflow tracking servers (import and sync)."""

    name = "integrations"
    verbose_name = "Integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from integrations import signals, tasks  # noqa: F401  (the tasks; the announcement receiver)
        from integrations.services import mlflow_sync  # noqa: F401  (declares the sync job kind)
