from django.apps import AppConfig
from django.conf import settings

# Every minute: GRC deliveries owed for completed approvals, and lost deliveries re-queued
# (reports.services.deliveries). Added here rather than in config/settings.py so the reports app
# carries its own schedule; the database scheduler copies it into django-celery-beat at start.
BEAT_ENTRY = ("reports-deliver-pending", {"task": "reports.tasks.deliver_pending", "schedule": 60.0})


class ReportsConfig(AppConfig):
    """PDF reports, evidence bundles, OSCAL and CSV exports, GRC delivery."""

    name = "reports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        name, entry = BEAT_ENTRY
        settings.CELERY_BEAT_SCHEDULE.setdefault(name, entry)
