"""Policies (versioned per tier, validated) and the control catalogue with its per-version gap report."""

import json
from pathlib import Path

import pytest
from django.urls import reverse

from monitoring.models import CheckRun
from monitoring.thresholds import resolve_thresholds
from registry.services import inventory
from tests.workflow.helpers import approved_request, error, events, request_approval, sign
from workflow.models import Policy
from workflow.services import policies as policy_services

pytestmark = pytest.mark.django_db
POLICIES = reverse("api:policy-list")
DATA = Path(__file__).resolve().parents[2] / "workflow" / "data"


def tier1_rules(**changes) -> dict:
    """The body of a new tier-1 version: the shipped rules with ``changes``."""
    current = Policy.objects.get(tier=1, is_active=True)
    fields = ("required_checks", "required_evidence", "stages", "gated_environments", "segregation")
    return {"tier": 1, "name": "Tier 1, revised", **{f: getattr(current, f) for f in fields}, **changes}


def test_it_ships_an_active_policy_per_tier(api, aaron):
    """GIVEN a fresh installation
    WHEN the auditor lists the active policies
    THEN tiers 1-3 at version 1: three, two and one stages; production gated by all of them."""
    rows = api.as_user(aaron).get(POLICIES, {"is_active": "true"}).json()["results"]

    assert [(row["tier"], row["version"]) for row in rows] == [(1, 1), (2, 1), (3, 1)]
    assert [[stage["key"] for stage in row["stages"]] for row in rows] == [
        ["validation", "risk", "accountable"],
        ["validation", "risk"],
        ["validation"],
    ]
    for row in rows:
        assert row["gated_environments"]["production"] == [stage["key"] for stage in row["stages"]]
    assert rows[0]["required_checks"][1] == {
        "kind": "performance",
        "metric": "roc_auc",
        "min": 0.7,
        "model_kinds": ["ml_model"],
    }


def test_it_makes_an_edit_a_new_active_version_and_keeps_approvals_on_theirs(
    api, admin_user, maya, victor, quick_ready_version
):
    """GIVEN a pending request made under tier-1 policy v1
    WHEN the administrator posts rules needing two validators
    THEN v2 is created and active, v1 inactive; the pending request keeps v1 (one validator completes its
    stage) while a new staging request is made under v2; both changes are audited."""
    pending = request_approval(api, maya, quick_ready_version).json()
    stages = Policy.objects.get(tier=1, version=1).stages
    stricter = [{**stages[0], "quorum": 2}, *stages[1:]]

    response = api.as_user(admin_user).post(POLICIES, tier1_rules(stages=stricter), format="json")

    assert response.status_code == 201, response.json()
    assert (response.json()["version"], response.json()["is_active"]) == (2, True)
    assert response.json()["created_by"] == "admin"
    assert dict(Policy.objects.filter(tier=1).values_list("version", "is_active")) == {1: False, 2: True}
    detail = api.get(reverse("api:approval-detail", args=[pending["id"]])).json()
    assert detail["policy"]["version"] == 1
    sign(api, victor, pending["id"], "review")
    assert api.get(reverse("api:approval-detail", args=[pending["id"]])).json()["current_stage"] == "risk"
    assert request_approval(api, maya, quick_ready_version, "staging").json()["policy"]["version"] == 2
    assert [e.after["version"] for e in events("policy.activated")] == [2]
    assert events("policy.created")[0].actor_username == "admin"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tier": 4}, "tier"),
        ({"stages": [], "gated_environments": {}}, "stages"),
        (
            {
                "stages": [{"key": "v", "title": "V", "role": "wizard", "quorum": 1, "meaning": "review"}],
                "gated_environments": {"production": ["v"]},
            },
            "stages[0].role",
        ),
        (
            {
                "stages": [{"key": "v", "title": "V", "role": "validator", "quorum": 0, "meaning": "review"}],
                "gated_environments": {"production": ["v"]},
            },
            "stages[0].quorum",
        ),
        (
            {
                "stages": [{"key": "v", "title": "V", "role": "validator", "quorum": 1, "meaning": "vibes"}],
                "gated_environments": {"production": ["v"]},
            },
            "stages[0].meaning",
        ),
        ({"gated_environments": {"production": ["validation", "board"]}}, "gated_environments.production"),
        ({"required_evidence": ["horoscope"]}, "required_evidence"),
        ({"required_checks": [{"kind": "astrology"}]}, "required_checks[0]"),
        ({"required_checks": [{"kind": "performance", "min": 0.7}]}, "required_checks[0]"),
        (
            {"required_checks": [{"kind": "performance", "metric": "roc_auc", "min": "high"}]},
            "required_checks[0]",
        ),
        (
            {"required_checks": [{"kind": "performance", "metric": "roc_acu", "min": 0.7}]},
            "required_checks[0]",
        ),
        ({"required_checks": [{"kind": "drift", "metric": "psi", "min": 0.1}]}, "required_checks[0]"),
        ({"segregation": ["auditor"]}, "segregation"),
        ({"blocking_finding_severity": "severe"}, "blocking_finding_severity"),
        ({"review_frequency_months": 0}, "review_frequency_months"),
    ],
)
def test_it_refuses_invalid_rules_naming_the_field(api, admin_user, changes, field):
    """GIVEN the tier-1 rules with one mistake
    WHEN the administrator posts them
    THEN 400 naming exactly the field at fault, and no new version."""
    response = api.as_user(admin_user).post(POLICIES, tier1_rules(**changes), format="json")

    assert response.status_code == 400, response.json()
    assert list(error(response)["fields"]) == [field]
    assert Policy.objects.filter(tier=1).count() == 1


def test_it_ships_policies_that_pass_its_own_validation():
    """GIVEN the default policies in workflow/data/policies.json
    WHEN they are validated as an administrator's edit would be
    THEN every one passes: the shipped rules name only thresholds the checks judge."""
    for policy in json.loads((DATA / "policies.json").read_text())["policies"]:
        rules = {key: value for key, value in policy.items() if key != "tier"}
        assert policy_services.validate_rules(rules) == {"model_wide_findings": [], **rules}


def test_it_binds_check_runs_to_the_policy_s_thresholds(maya, quick_version):
    """GIVEN tier 1 asks for ROC AUC of at least 0.7
    WHEN a performance run asks for a laxer 0.5
    THEN the policy's bound is kept, marked binding and attributed to the policy version."""
    run = CheckRun(
        kind="performance", model_version=quick_version, config={"thresholds": {"roc_auc_min": 0.5}}
    )

    resolved = resolve_thresholds(run)

    assert resolved["roc_auc_min"]["value"] == 0.7
    assert resolved["roc_auc_min"]["binding"] is True
    assert resolved["roc_auc_min"]["source"].startswith("policy: tier 1 v1")


# --- controls --------------------------------------------------------------------------------------


def test_it_maps_every_policy_requirement_to_a_control():
    """GIVEN the shipped catalogue and default policies
    WHEN their required checks and evidence are looked up in the controls' criteria
    THEN every check kind and evidence type a policy requires satisfies at least one control, and the
    catalogue covers the six frameworks."""
    catalogue = json.loads((DATA / "controls.json").read_text())
    policies = json.loads((DATA / "policies.json").read_text())["policies"]
    mapped_checks = {kind for c in catalogue["controls"] for kind in c["satisfied_by"].get("checks", [])}
    mapped_evidence = {key for c in catalogue["controls"] for key in c["satisfied_by"].get("evidence", [])}

    for policy in policies:
        assert {check["kind"] for check in policy["required_checks"]} <= mapped_checks
        assert set(policy["required_evidence"]) <= mapped_evidence
    assert {f["key"] for f in catalogue["frameworks"]} == {
        "sr-11-7",
        "eu-ai-act-annex-iv",
        "nist-ai-rmf",
        "iso-42001",
        "nist-ai-600-1",
        "eu-ai-act",
    }


def test_it_lists_the_catalogue_by_framework(api, olga):
    """GIVEN the shipped catalogue
    WHEN any user with a role lists ISO/IEC 42001 controls
    THEN they are returned with what satisfies each."""
    rows = (
        api.as_user(olga).get(reverse("api:control-list"), {"framework__key": "iso-42001"}).json()["results"]
    )

    assert [row["key"] for row in rows][:2] == ["A.5.2", "A.6.2.4"]
    assert all(row["framework"] == "iso-42001" for row in rows)
    assert rows[0]["satisfied_by"] == {"evidence": ["risk_assessment"], "checks": ["fairness"]}


def coverage(api, user, version) -> dict:
    response = api.as_user(user).get(
        reverse("api:control-coverage"), {"model": version.model.name, "version": version.version}
    )
    assert response.status_code == 200, response.json()
    return response.json()


def test_it_reports_the_gaps_of_a_version_and_closes_them(api, maya, aaron, quick_ready_version):
    """GIVEN a version with passing checks and the tier-1 evidence, but no limitations, approval or lineage
    WHEN the gap report is asked for, then again after the limitations are written and it is approved
    THEN each control says what it lacks; the documentation and independence controls become satisfied."""
    report = coverage(api, aaron, quick_ready_version)
    controls = {row["control"]: row for row in report["controls"]}

    assert (report["model"], report["version"], report["total"]) == ("credit-scoring", 1, 35)
    assert controls["SR11-7.INV"]["satisfied"] is True
    assert controls["SR11-7.VAL.CS"]["evidence"] == ["evidence 'conceptual_soundness_memo'"]
    assert controls["SR11-7.DOC"]["missing"] == ["inventory field 'limitations'"]
    assert controls["SR11-7.VAL.IND"]["missing"] == ["a completed approval"]
    # Annex IV controls read the Annex IV document's own item statuses: the tier and policy are there,
    # the risk assessment is not
    assert controls["AIA-IV.5"]["missing"] == ["Annex IV 5 partly supplied"]
    assert controls["A.7.5"]["missing"] == ["training-data lineage"]
    run = quick_ready_version.check_runs.get(kind="explainability")
    assert controls["MEASURE 2.9"]["evidence"] == [f"check run {run.pk} (explainability)"]

    inventory.model_update(actor=maya, model=quick_ready_version.model, limitations="Retail only.")
    approved_request(quick_ready_version, "production", requester=maya)
    after = {row["control"]: row for row in coverage(api, aaron, quick_ready_version)["controls"]}

    newly_satisfied = {
        key for key, row in after.items() if row["satisfied"] and not controls[key]["satisfied"]
    }
    assert newly_satisfied == {
        "SR11-7.DOC",
        "SR11-7.VAL.IND",
        "GOVERN 2.1",
        "MAP 1.1",
        "MANAGE 1.1",
        "A.6.2.4",
        "A.6.2.5",
    }
    assert after["SR11-7.GOV"]["missing"] == ["a successful audit-chain verification"]
