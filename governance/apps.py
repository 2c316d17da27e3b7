from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    """Audit log, access policy, accounts and the approval workflow."""

    name = "governance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import config.api.schema  # noqa: F401  (registers the OpenAPI auth extensions)
        from governance import signals, tasks  # noqa: F401  (connect receivers and task hooks)
