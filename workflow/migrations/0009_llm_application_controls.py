"""Add the controls for LLM applications (NIST AI 600-1, EU AI Act Articles 9, 14, 15 and 72) to a catalogue
seeded before they existed; a database seeded after already has them, and edited records are left alone."""

import json
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data"
FRAMEWORKS = ("nist-ai-600-1", "eu-ai-act")


def add_llm_controls(apps, schema_editor):
    Framework = apps.get_model("workflow", "Framework")
    Control = apps.get_model("workflow", "Control")
    if not Framework.objects.exists():
        return  # an empty catalogue is seeded whole by ensure_reference_data
    catalogue = json.loads((DATA / "controls.json").read_text())
    frameworks = {}
    for item in catalogue["frameworks"]:
        if item["key"] in FRAMEWORKS:
            frameworks[item["key"]], _ = Framework.objects.get_or_create(
                key=item["key"], defaults={k: item[k] for k in ("title", "source", "url")}
            )
    for item in catalogue["controls"]:
        if item["framework"] in frameworks:
            Control.objects.get_or_create(
                framework=frameworks[item["framework"]],
                key=item["key"],
                defaults={k: item[k] for k in ("title", "description", "satisfied_by")},
            )


class Migration(migrations.Migration):
    dependencies = [("workflow", "0008_policy_red_team_and_judged_metrics")]

    operations = [migrations.RunPython(add_llm_controls, migrations.RunPython.noop)]
