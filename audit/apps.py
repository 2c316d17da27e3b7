from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The append-only, hash-chained audit log: its tables, the one write path, checkpoints and the verifier.

    It imports no other app (``make lint``: contract ``audit-no-other-app``); every app writes to it
    through ``audit.record``. Its tables keep the names they had in ``governance`` (the triggers of
    governance migration 0004 and raw SQL name them).
    """

    name = "audit"
    default_auto_field = "django.db.models.BigAutoField"
