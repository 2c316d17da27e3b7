from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """PDF reports, evidence bundles, OSCAL and CSV exports, GRC delivery."""

    name = "reports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Declare the job kinds (reports, bundles, GRC deliveries) for the job reaper, and the report kinds.
        from reports.services import deliveries, jobs, report_kinds  # noqa: F401
