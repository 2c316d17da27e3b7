from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Checks (drift, fairness, explainability, performance, data quality), check runs and schedules."""

    name = "monitoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from monitoring.services import leases  # noqa: F401  (declares the check-run job kind)
