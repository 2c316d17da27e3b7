"""The catalogue's EU AI Act Annex IV controls are judged item by item by the one Annex IV function.

``AIA-IV.<n>`` is satisfied when every item of Annex IV section n is supplied (``{"annex_iv": "<n>"}``),
as ``workflow.services.annex_iv`` decides for the Annex IV document too, so the validation report's
control coverage and the Annex IV document cannot disagree. A control an administrator edited keeps its
edit: only controls still holding the shipped criteria are updated.
"""

import json
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent.parent / "workflow" / "data"  # the catalogue moved with the workflow
SHIPPED_BEFORE = {
    "AIA-IV.1": {"inventory": ["purpose", "intended_use", "owner"]},
    "AIA-IV.2": {"evidence": ["model_documentation", "data_review"], "lineage": True},
    "AIA-IV.3": {"checks": ["performance", "fairness"], "inventory": ["limitations"]},
    "AIA-IV.4": {"checks": ["performance"], "evidence": ["conceptual_soundness_memo"]},
    "AIA-IV.5": {"evidence": ["risk_assessment"]},
    "AIA-IV.6": {"audit": True, "lineage": True},
    "AIA-IV.7": {"evidence": ["standards_statement"]},
    "AIA-IV.8": {"evidence": ["declaration_of_conformity"]},
    "AIA-IV.9": {"monitoring_plan": True, "checks": ["drift"]},
}


def judge_by_annex_items(apps, schema_editor):
    Control = apps.get_model("governance", "Control")
    catalogue = json.loads((DATA / "controls.json").read_text())
    for item in catalogue["controls"]:
        if item["framework"] != "eu-ai-act-annex-iv":
            continue
        control = Control.objects.filter(framework__key=item["framework"], key=item["key"]).first()
        if control is not None and control.satisfied_by == SHIPPED_BEFORE.get(item["key"]):
            control.satisfied_by = item["satisfied_by"]
            control.save(update_fields=["satisfied_by"])


class Migration(migrations.Migration):
    dependencies = [("governance", "0007_policy_evidence_change")]

    operations = [migrations.RunPython(judge_by_annex_items, migrations.RunPython.noop)]
