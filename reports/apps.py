from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """PDF reports, evidence bundles, OSCAL and CSV exports, GRC delivery."""

    name = "reports"
    default_auto_field = "django.db.models.BigAutoField"
