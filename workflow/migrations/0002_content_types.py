"""The moved models' content types change app label, governance → workflow, keeping their ids.

Permissions (``auth_permission``), object permissions (django-guardian) and admin log entries point at a
content type by id, so they follow. On a fresh database there is nothing to move (content types are
created after migrating); where a ``workflow`` row already exists (created by a ``migrate`` that ran
before this one), the old row's references are moved onto it and the old row is deleted.
"""

from django.db import migrations

MOVED = (
    "approvalrequest",
    "control",
    "deployment",
    "evidencedocument",
    "evidencetype",
    "finding",
    "framework",
    "periodicreview",
    "policy",
    "reviewnotice",
    "signature",
    "webhookdelivery",
    "webhookendpoint",
)


def _relabel(apps, schema_editor, *, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        stale = ContentType.objects.filter(app_label=old, model=model).first()
        if stale is None:
            continue
        current = ContentType.objects.filter(app_label=new, model=model).first()
        if current is None:
            stale.app_label = new
            stale.save(update_fields=["app_label"])
            continue
        _repoint(apps, stale, current)
        stale.delete()


def _repoint(apps, stale, current) -> None:
    """Move what points at ``stale`` onto ``current`` (both describe the same model)."""
    Permission = apps.get_model("auth", "Permission")
    for permission in Permission.objects.filter(content_type=stale):
        twin = Permission.objects.filter(content_type=current, codename=permission.codename).first()
        if twin is None:
            permission.content_type = current
            permission.save(update_fields=["content_type"])
            continue
        # the roles and people holding the old permission hold its twin instead
        for holder in (apps.get_model("auth", "Group"), apps.get_model("governance", "User")):
            through = holder.permissions.through if holder.__name__ == "Group" else holder.user_permissions.through
            for link in through.objects.filter(permission=permission):
                owner = {f.name: getattr(link, f.name) for f in through._meta.fields if f.name not in ("id", "permission")}
                through.objects.get_or_create(permission=twin, **owner)
    for label in ("guardian.UserObjectPermission", "guardian.GroupObjectPermission", "admin.LogEntry"):
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        model.objects.filter(content_type=stale).update(content_type=current)


def forwards(apps, schema_editor):
    _relabel(apps, schema_editor, old="governance", new="workflow")


def backwards(apps, schema_editor):
    _relabel(apps, schema_editor, old="workflow", new="governance")


class Migration(migrations.Migration):

    dependencies = [
        ("workflow", "0001_initial"),
        ("governance", "0014_workflow_moves_out"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("guardian", "0003_remove_groupobjectpermission_guardian_gr_content_ae6aec_idx_and_more"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
