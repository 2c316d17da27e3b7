from django.apps import AppConfig


class RegistryConfig(AppConfig):
    """Inventory: registered models, versions and artifacts, datasets, lineage."""

    name = "registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from registry.services import datasets  # noqa: F401  (declares the profiling job kind)
