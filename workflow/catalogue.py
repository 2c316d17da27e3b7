"""The reference data Attest ships with: role groups, the control catalogue, evidence types and the
default policy of each tier. Migrations seed it once; ``ensure_reference_data`` restores what is
missing (after a test flush, or on a database restored without it) without touching edited records."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth.models import Group
from django.db import transaction

from accounts.roles import ROLE_NAMES
from accounts.services.roles import ensure_role_groups
from workflow.models import Control, EvidenceType, Framework, Policy

DATA = Path(__file__).resolve().parent / "data"


def ensure_reference_data() -> None:
    """Create whatever reference data is missing; a no-op (three cheap queries) when it is all there."""
    if (
        Group.objects.filter(name__in=ROLE_NAMES).count() == len(ROLE_NAMES)
        and Policy.objects.exists()
        and Control.objects.exists()
    ):
        return
    with transaction.atomic():
        ensure_role_groups()
        _seed_catalogue()
        _seed_policies()


def _seed_catalogue() -> None:
    catalogue = json.loads((DATA / "controls.json").read_text())
    frameworks = {}
    for item in catalogue["frameworks"]:
        frameworks[item["key"]], _ = Framework.objects.get_or_create(
            key=item["key"], defaults={k: item[k] for k in ("title", "source", "url")}
        )
    for item in catalogue["controls"]:
        Control.objects.get_or_create(
            framework=frameworks[item["framework"]],
            key=item["key"],
            defaults={k: item[k] for k in ("title", "description", "satisfied_by")},
        )
    for key, title in catalogue["evidence_types"].items():
        EvidenceType.objects.get_or_create(key=key, defaults={"title": title})


def shipped_policy(tier: int) -> dict | None:
    """The tier's default rules as Attest ships them (workflow/data/policies.json)."""
    shipped = json.loads((DATA / "policies.json").read_text())["policies"]
    return next((item for item in shipped if item["tier"] == tier), None)


def _seed_policies() -> None:
    for item in json.loads((DATA / "policies.json").read_text())["policies"]:
        if not Policy.objects.filter(tier=item["tier"]).exists():
            Policy.objects.create(version=1, is_active=True, **item)
