"""Seed the control catalogue, the evidence types and the default policy of each risk tier.

The data lives in workflow/data/*.json so it can be read and reviewed on its own; the records are
editable afterwards (policies by creating new versions).
"""

import json
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent.parent / "workflow" / "data"  # the catalogue moved with the workflow


def seed(apps, schema_editor):
    Framework = apps.get_model("governance", "Framework")
    Control = apps.get_model("governance", "Control")
    EvidenceType = apps.get_model("governance", "EvidenceType")
    Policy = apps.get_model("governance", "Policy")
    catalogue = json.loads((DATA / "controls.json").read_text())
    frameworks = {}
    for item in catalogue["frameworks"]:
        frameworks[item["key"]], _ = Framework.objects.update_or_create(
            key=item["key"], defaults={k: item[k] for k in ("title", "source", "url")}
        )
    for item in catalogue["controls"]:
        Control.objects.update_or_create(
            framework=frameworks[item["framework"]],
            key=item["key"],
            defaults={k: item[k] for k in ("title", "description", "satisfied_by")},
        )
    for key, title in catalogue["evidence_types"].items():
        EvidenceType.objects.update_or_create(key=key, defaults={"title": title})
    # Only the fields this migration's Policy has: later migrations add fields and set them from the file.
    fields = {field.name for field in Policy._meta.get_fields()}
    for item in json.loads((DATA / "policies.json").read_text())["policies"]:
        if not Policy.objects.filter(tier=item["tier"]).exists():
            Policy.objects.create(version=1, is_active=True, **{k: v for k, v in item.items() if k in fields})


class Migration(migrations.Migration):
    dependencies = [("governance", "0005_workflow")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
