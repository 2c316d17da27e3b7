"""The audit log's models leave ``governance`` for the ``audit`` app (audit migration 0001).

State only: the tables ``governance_auditevent``, ``governance_auditcheckpoint`` and
``governance_auditverification`` stay where they are, with their rows and triggers; only Django's idea
of which app owns them changes. Depends on audit 0001 so the models are never absent from the state.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0012_auth_throttle"),
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="AuditCheckpoint"),
                migrations.RemoveField(model_name="auditverification", name="requested_by"),
                migrations.DeleteModel(name="AuditEvent"),
                migrations.DeleteModel(name="AuditVerification"),
            ],
        ),
    ]
