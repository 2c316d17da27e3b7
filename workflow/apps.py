from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    """The governance workflow: policies and controls, evidence, approvals and signatures, the deployment
    gate, findings, periodic reviews and webhooks."""

    name = "workflow"
    verbose_name = "Governance workflow"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from registry.services.inventory import set_review_interval_limit
        from workflow import tasks  # noqa: F401  (register the workflow's tasks)
        from workflow.catalogue import ensure_role_groups
        from workflow.services import audit, notifications  # noqa: F401  (declare their job kinds)
        from workflow.services.policies import review_interval_for_tier

        # A model's review falls due after at most its tier policy's interval; the registry cannot import
        # the policies (layering), so they are handed to it here.
        set_review_interval_limit(review_interval_for_tier)
        # Role groups follow accounts.roles after every migrate, so a new role needs no migration (the
        # reference data, role groups included, is restored by workflow.catalogue).
        post_migrate.connect(ensure_role_groups, sender=self, dispatch_uid="governance-role-groups")
