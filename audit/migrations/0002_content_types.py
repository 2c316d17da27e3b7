"""The content types of the moved models follow them: ``governance.auditevent`` becomes
``audit.auditevent`` (and the same for checkpoints and verifications).

Renaming the row, rather than letting Django create a new one, keeps its id, so the permissions,
guardian grants and admin log entries that point at it stay attached. On a fresh database there is
nothing to rename: content types are created after all migrations have run.
"""

from django.db import migrations

MODELS = ("auditevent", "auditcheckpoint", "auditverification")


def _move(apps, schema_editor, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MODELS:
        if ContentType.objects.using(db).filter(app_label=target, model=model).exists():
            continue  # already there (created by a run of post_migrate): leave both rows as they are
        ContentType.objects.using(db).filter(app_label=source, model=model).update(app_label=target)


def forwards(apps, schema_editor):
    _move(apps, schema_editor, "governance", "audit")


def backwards(apps, schema_editor):
    _move(apps, schema_editor, "audit", "governance")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("governance", "0013_audit_moves_to_audit_app"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
