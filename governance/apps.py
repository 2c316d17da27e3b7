from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    """Access policy, accounts and the approval workflow (the audit log is the ``audit`` app)."""

    name = "governance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        import config.api.schema  # noqa: F401  (registers the OpenAPI auth extensions)
        import governance.admin_grants  # noqa: F401  (the admin console's grant pages)
        from governance import signals, tasks  # noqa: F401  (connect receivers and task hooks)
        from governance.catalogue import ensure_role_groups
        from governance.services import audit, notifications  # noqa: F401  (declare their job kinds)
        from governance.services.policies import review_interval_for_tier
        from registry.services.inventory import set_review_interval_limit

        # A model's review falls due after at most its tier policy's interval; the registry cannot import
        # the policies (layering), so they are handed to it here.
        set_review_interval_limit(review_interval_for_tier)
        # Role groups follow governance.roles after every migrate, so a new role needs no migration.
        post_migrate.connect(ensure_role_groups, sender=self, dispatch_uid="governance-role-groups")
