"""Policies say what the gate does when material evidence arrives after an approval.

Existing policies get their tier's shipped default (workflow/data/policies.json): tier 1 closes the gate
until a new approval, tiers 2 and 3 keep it open with a warning.
"""

import json
from pathlib import Path

from django.db import migrations, models

DATA = Path(__file__).resolve().parent.parent.parent / "workflow" / "data"  # the catalogue moved with the workflow


def shipped_defaults(apps, schema_editor):
    Policy = apps.get_model("governance", "Policy")
    for item in json.loads((DATA / "policies.json").read_text())["policies"]:
        Policy.objects.filter(tier=item["tier"]).update(evidence_change=item["evidence_change"])


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0006_seed_catalogue_and_policies"),
    ]

    operations = [
        migrations.AddField(
            model_name="policy",
            name="evidence_change",
            field=models.CharField(
                choices=[("close_gate", "Close the gate until a new approval"), ("warn", "Keep the gate open and warn")],
                default="warn",
                max_length=10,
            ),
        ),
        migrations.RunPython(shipped_defaults, migrations.RunPython.noop),
    ]
