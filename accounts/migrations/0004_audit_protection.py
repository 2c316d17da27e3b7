"""Make the audit log append-only in the database, keep its JSON columns verbatim, add verification jobs.

1. ``before``, ``after`` and ``actor_roles`` become ``json`` columns holding their RFC 8785 text, so the
   verifier can check each row's columns against its hashed bytes by concatenation; existing rows are
   rewritten from their own canonical bytes (before the triggers exist).
2. Triggers refuse UPDATE, DELETE and TRUNCATE on events and checkpoints, enabled ALWAYS so that
   ``session_replication_role = replica`` cannot skip them. The one update let through is Django's
   ``on_delete=SET_NULL`` of ``actor_id`` with every other column unchanged: the hashed actor snapshot
   keeps the event's meaning after a user is deleted.
"""

import json

import django.db.models.deletion
import rfc8785
from django.conf import settings
from django.db import migrations, models

import audit.models

PROTECT_SQL = r"""
CREATE OR REPLACE FUNCTION attest_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'attest: % on % is refused: the audit log is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Audit events and checkpoints are inserted, never changed or removed.';
END
$$;

CREATE OR REPLACE FUNCTION attest_audit_event_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- on_delete=SET_NULL of the actor: only actor_id changes, and only to NULL.
    IF TG_OP = 'UPDATE' AND NEW.actor_id IS NULL
       AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'attest: % on % is refused: the audit log is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Audit events are inserted, never changed or removed.';
END
$$;

CREATE TRIGGER attest_audit_event_append_only
    BEFORE UPDATE OR DELETE ON governance_auditevent
    FOR EACH ROW EXECUTE FUNCTION attest_audit_event_guard();
CREATE TRIGGER attest_audit_event_no_truncate
    BEFORE TRUNCATE ON governance_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION attest_audit_refuse();
CREATE TRIGGER attest_audit_checkpoint_append_only
    BEFORE UPDATE OR DELETE ON governance_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION attest_audit_refuse();
CREATE TRIGGER attest_audit_checkpoint_no_truncate
    BEFORE TRUNCATE ON governance_auditcheckpoint
    FOR EACH STATEMENT EXECUTE FUNCTION attest_audit_refuse();

ALTER TABLE governance_auditevent ENABLE ALWAYS TRIGGER attest_audit_event_append_only;
ALTER TABLE governance_auditevent ENABLE ALWAYS TRIGGER attest_audit_event_no_truncate;
ALTER TABLE governance_auditcheckpoint ENABLE ALWAYS TRIGGER attest_audit_checkpoint_append_only;
ALTER TABLE governance_auditcheckpoint ENABLE ALWAYS TRIGGER attest_audit_checkpoint_no_truncate;
"""

UNPROTECT_SQL = """
DROP TRIGGER IF EXISTS attest_audit_event_append_only ON governance_auditevent;
DROP TRIGGER IF EXISTS attest_audit_event_no_truncate ON governance_auditevent;
DROP TRIGGER IF EXISTS attest_audit_checkpoint_append_only ON governance_auditcheckpoint;
DROP TRIGGER IF EXISTS attest_audit_checkpoint_no_truncate ON governance_auditcheckpoint;
DROP FUNCTION IF EXISTS attest_audit_event_guard();
DROP FUNCTION IF EXISTS attest_audit_refuse();
"""


def _text(value) -> str | None:
    return None if value is None else rfc8785.dumps(value).decode()


def canonicalise_json_columns(apps, schema_editor):
    """Rewrite the three JSON columns of existing rows from the rows' own hashed bytes."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT seq, canonical FROM governance_auditevent ORDER BY seq")
        rows = cursor.fetchall()
        for seq, canonical in rows:
            payload = json.loads(bytes(canonical))
            actor = payload.get("actor") or {}
            cursor.execute(
                "UPDATE governance_auditevent SET before = %s::json, after = %s::json, actor_roles = %s::json"
                " WHERE seq = %s",
                [
                    _text(payload.get("before")),
                    _text(payload.get("after")),
                    _text(actor.get("roles", [])),
                    seq,
                ],
            )


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0003_drop_unused_knox_table"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="actor_roles",
            field=audit.models.CanonicalJSONField(default=list),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="after",
            field=audit.models.CanonicalJSONField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="before",
            field=audit.models.CanonicalJSONField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="AuditVerification",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("succeeded", "Succeeded"),
                            ("failed", "Failed"),
                        ],
                        default="queued",
                        max_length=16,
                    ),
                ),
                ("from_seq", models.BigIntegerField(blank=True, null=True)),
                ("requested_by_username", models.CharField(blank=True, max_length=150)),
                ("progress_current", models.BigIntegerField(default=0)),
                ("progress_total", models.BigIntegerField(default=0)),
                ("intact", models.BooleanField(blank=True, null=True)),
                ("result", models.JSONField(blank=True, default=dict)),
                ("error", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.RunPython(canonicalise_json_columns, migrations.RunPython.noop),
        migrations.RunSQL(PROTECT_SQL, UNPROTECT_SQL),
    ]
