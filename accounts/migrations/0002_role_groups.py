"""Create the five role groups. Roles are data so administrators can see and assign them in the admin."""

from django.db import migrations

ROLES = ["ml-engineer", "validator", "risk-officer", "auditor", "admin"]


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("governance", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
