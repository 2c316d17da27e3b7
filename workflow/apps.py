from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    """The governance workflow: policies and controls, evidence, approvals and signatures, the deployment
    gate, findings, periodic reviews and webhooks."""

    name = "workflow"
    verbose_name = "Governance workflow"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from registry.services.inventory import set_review_interval_limit
        from workflow import tasks  # noqa: F401  (register the workflow's tasks)
        from workflow.services import audit, notifications  # noqa: F401  (declare their job kinds)
        from workflow.services.policies import review_interval_for_tier

        # A model's review falls due after at most its tier policy's interval; the registry cannot import
        # the policies (layering), so they are handed to it here.
        set_review_interval_limit(review_interval_for_tier)
