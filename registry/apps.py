from django.apps import AppConfig


class RegistryConfig(AppConfig):
    """Inventory: registered models, versions and artifacts, datasets, lineage."""

    name = "registry"
    default_auto_field = "django.db.models.BigAutoField"
