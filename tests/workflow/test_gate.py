"""The deployment gate's truth table, and deployment records (201 or 409, canary, rollback, supersede)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from registry.models import RegisteredModel
from registry.services import inventory
from tests.monitoring import factories
from tests.workflow.conftest import attach_evidence, record_run, reviewed
from tests.workflow.helpers import (
    TO_PRODUCTION,
    approved_request,
    error,
    events,
    gate,
    make_alert,
    move_model,
    policy_version,
)
from workflow.models import Deployment
from workflow.services import findings as finding_services

pytestmark = pytest.mark.django_db
DEPLOYMENTS = reverse("api:deployment-list")


def ask(api, user, version, environment="production") -> dict:
    response = gate(api, user, version, environment)
    assert response.status_code == 200, response.json()
    return response.json()


def deploy(api, user, version, environment="production", **extra):
    body = {"model": version.model.name, "version": version.version, "environment": environment, **extra}
    return api.as_user(user).post(DEPLOYMENTS, body, format="json")


def test_it_opens_for_a_current_approval_of_that_version_and_environment(api, maya, quick_version):
    """GIVEN a completed production approval that expires in a year
    WHEN CI asks the gate about production
    THEN allowed, no reasons, the approval and its expiry."""
    approval = approved_request(quick_version, "production", requester=maya)

    answer = ask(api, maya, quick_version)

    assert answer["allowed"] is True
    assert (answer["reasons"], answer["codes"]) == ([], [])
    assert answer["approval"] == approval.pk
    assert answer["expires_at"] == approval.expires_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_it_stays_closed_without_an_approval(api, maya, quick_version):
    """GIVEN no approval at all
    WHEN the gate is asked about production
    THEN closed with no_approval and a sentence saying so."""
    answer = ask(api, maya, quick_version)

    assert answer == {
        **answer,
        "allowed": False,
        "codes": ["no_approval"],
        "approval": None,
        "expires_at": None,
    }
    assert answer["reasons"] == ["no completed approval of credit-scoring v1 for production"]


def test_it_closes_once_the_approval_expired(api, maya, quick_version):
    """GIVEN an approval whose expiry has passed
    WHEN the gate is asked
    THEN closed with approval_expired, naming the approval and when it expired."""
    expired_at = timezone.now() - dt.timedelta(days=1)
    approval = approved_request(quick_version, "production", requester=maya, expires_at=expired_at)

    answer = ask(api, maya, quick_version)

    assert (answer["allowed"], answer["codes"]) == (False, ["approval_expired"])
    assert answer["approval"] == approval.pk
    assert answer["expires_at"] is not None


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"on": dt.date.today() - dt.timedelta(days=400)}, "review_overdue"),
        ({"on": dt.date.today(), "valid_until": dt.date.today() - dt.timedelta(days=1)}, "validity_ended"),
    ],
)
def test_it_closes_when_the_model_s_deadline_passed_after_the_approval(
    api, maya, quick_version, change, code
):
    """GIVEN a current approval, then the model's last review is backdated (its review falls overdue)
    or its valid-until date is set in the past
    WHEN the gate is asked
    THEN closed with review_overdue or validity_ended: an approval does not outlive the model's dates."""
    approval = approved_request(quick_version, "production", requester=maya)
    reviewed(quick_version.model, **change)

    answer = ask(api, maya, quick_version)

    assert (answer["allowed"], answer["codes"]) == (False, [code])
    assert answer["approval"] == approval.pk
    assert answer["expires_at"] < approval.expires_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_it_closes_for_an_open_blocking_finding_only(api, maya, victor, quick_version):
    """GIVEN a current approval and an open medium finding (below tier 1's blocking severity)
    WHEN a high finding is raised, and later remediated
    THEN the gate is open, closed with blocking_finding, then open again."""
    approved_request(quick_version, "production", requester=maya)
    model = quick_version.model
    finding_services.finding_raise(actor=victor, model=model, severity="medium", title="Minor")
    assert ask(api, maya, quick_version)["allowed"] is True

    high = finding_services.finding_raise(actor=victor, model=model, severity="high", title="Leakage")

    answer = ask(api, maya, quick_version)
    assert (answer["allowed"], answer["codes"]) == (False, ["blocking_finding"])
    assert answer["reasons"] == [f"finding {high.pk} (high) is open: Leakage"]
    finding_services.finding_change_status(actor=maya, finding=high, status="remediated", resolution="Fixed")
    assert ask(api, maya, quick_version)["allowed"] is True


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        ((*TO_PRODUCTION, "under_review"), "model_under_review"),
        (("retired",), "model_retired"),
    ],
)
def test_it_closes_for_a_model_under_review_or_retired(api, maya, admin_user, quick_version, statuses, code):
    """GIVEN a current production approval
    WHEN the model is put under review, or retired
    THEN the gate is closed with the model's status as the reason, also for ungated environments."""
    approved_request(quick_version, "production", requester=maya)
    move_model(admin_user, quick_version.model, *statuses)

    for environment in ("production", "dev"):
        answer = ask(api, maya, quick_version, environment)
        assert answer["allowed"] is False
        assert code in answer["codes"]


def test_it_does_not_carry_an_approval_to_another_environment_or_version(api, maya, quick_version):
    """GIVEN v1 approved for staging only, and a v2 with no approval
    WHEN the gate is asked about v1 in production and staging, and v2 in staging
    THEN only v1 to staging is allowed."""
    approved_request(quick_version, "staging", requester=maya)
    v2 = factories.skops_version(maya, quick_version.model, kind="boosting")

    assert ask(api, maya, quick_version, "production")["codes"] == ["no_approval"]
    assert ask(api, maya, quick_version, "staging")["allowed"] is True
    assert ask(api, maya, v2, "staging")["codes"] == ["no_approval"]


def test_it_opens_an_environment_the_policy_does_not_gate(api, maya, quick_version, credit_risk):
    """GIVEN no approval at all
    WHEN the gate is asked about 'dev' (tier 1 gates staging and production) and a tier-3 model's staging
    THEN both are allowed with no approval."""
    tier3 = factories.skops_version(maya, factories.make_model(maya, credit_risk, name="uplift"))

    for version, environment in ((quick_version, "dev"), (tier3, "staging")):
        answer = ask(api, maya, version, environment)
        assert (answer["allowed"], answer["approval"], answer["codes"]) == (True, None, [])


def test_it_reads_the_environment_case_insensitively(api, maya, quick_version):
    """GIVEN no approval for production
    WHEN CI asks about, or records a deployment to, 'Production'
    THEN the gate answers as for production (closed): a capital letter is not an ungated environment."""
    answer = ask(api, maya, quick_version, "Production")

    assert (answer["environment"], answer["allowed"], answer["codes"]) == (
        "production",
        False,
        ["no_approval"],
    )
    assert deploy(api, maya, quick_version, "PRODUCTION").status_code == 409
    assert not Deployment.objects.exists()


def test_it_hides_the_gate_from_an_outsider_and_checks_its_query(api, olga, maya, quick_version):
    """GIVEN a credit-risk version
    WHEN the fraud team's engineer asks, and maya asks with a version that is not a number
    THEN 404, and 400 naming the version (without one, the model's newest is meant: test_references)."""
    assert gate(api, olga, quick_version, "production").status_code == 404
    query = {"model": "credit-scoring", "version": "one", "environment": "production"}
    bad = api.as_user(maya).get(reverse("api:gate"), query)
    assert bad.status_code == 400
    assert list(error(bad)["fields"]) == ["version"]


# --- deployments -----------------------------------------------------------------------------------


def test_it_records_an_allowed_deployment_and_moves_an_approved_model_to_production(
    api, maya, admin_user, quick_version
):
    """GIVEN an approved model with a current production approval
    WHEN maya records a full deployment to production
    THEN 201 with the approval it relied on, audited, and the model is in production."""
    approval = approved_request(quick_version, "production", requester=maya)
    move_model(admin_user, quick_version.model, *TO_PRODUCTION[:3])

    response = deploy(api, maya, quick_version, note="Release 1")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["strategy"], body["traffic_percent"], body["approval"], body["status"]) == (
        "full",
        100,
        approval.pk,
        "active",
    )
    assert RegisteredModel.objects.get().status == "in_production"
    assert events("deployment.recorded")[0].after["approval"] == approval.pk


def test_it_refuses_a_deployment_the_gate_refuses_with_409_and_its_reasons(api, maya, quick_version):
    """GIVEN no approval
    WHEN maya records a production deployment
    THEN 409 gate_closed with the gate's reasons and codes, nothing recorded, the refusal audited."""
    response = deploy(api, maya, quick_version)

    assert response.status_code == 409
    assert error(response)["code"] == "gate_closed"
    assert error(response)["details"]["codes"] == ["no_approval"]
    assert not Deployment.objects.exists()
    assert events("deployment.refused")[0].after["reasons"] == error(response)["details"]["reasons"]


@pytest.mark.parametrize(
    ("extra", "status", "traffic"),
    [
        ({"strategy": "canary", "traffic_percent": 10}, 201, 10),
        ({"strategy": "canary"}, 400, None),
        ({"strategy": "canary", "traffic_percent": 0}, 400, None),
        ({"strategy": "canary", "traffic_percent": 101}, 400, None),
        ({"strategy": "shadow", "traffic_percent": 100}, 201, 100),
        ({"strategy": "blue_green", "traffic_percent": 30}, 201, 100),
        ({"strategy": "rolling"}, 400, None),
    ],
)
def test_it_validates_the_strategy_and_traffic(api, maya, quick_version, extra, status, traffic):
    """GIVEN an approved version
    WHEN deployments are recorded with each strategy
    THEN a canary takes 1-99 % of the traffic, blue-green and full take all of it, unknown strategies 400."""
    approved_request(quick_version, "production", requester=maya)

    response = deploy(api, maya, quick_version, **extra)

    assert response.status_code == status, response.json()
    if traffic is not None:
        assert response.json()["traffic_percent"] == traffic
    else:
        assert set(error(response)["fields"]) <= {"strategy", "traffic_percent"}


def test_it_supersedes_the_previous_full_deployment_but_not_for_a_canary(api, maya, quick_version):
    """GIVEN v1 deployed in full
    WHEN v2 starts as a canary, then is deployed in full
    THEN v1 stays active beside the canary, then is superseded; the history lists all three."""
    v2 = factories.skops_version(maya, quick_version.model, kind="boosting")
    for version in (quick_version, v2):
        approved_request(version, "production", requester=maya)
    first = deploy(api, maya, quick_version).json()

    canary = deploy(api, maya, v2, strategy="canary", traffic_percent=5).json()
    assert Deployment.objects.get(pk=first["id"]).status == "active"
    full = deploy(api, maya, v2).json()

    statuses = dict(Deployment.objects.values_list("pk", "status"))
    assert statuses == {first["id"]: "superseded", canary["id"]: "active", full["id"]: "active"}
    history = api.get(DEPLOYMENTS, {"model_version__model__name": "credit-scoring"}).json()["results"]
    assert [row["id"] for row in history] == [full["id"], canary["id"], first["id"]]


def test_it_records_a_rollback_once(api, maya, victor, quick_version):
    """GIVEN an active deployment
    WHEN victor (a validator) tries to roll it back, then maya without a reason, then with one, then again
    THEN 403, 400 naming the reason, 200 rolled back (audited), and 409 for the second rollback."""
    approved_request(quick_version, "production", requester=maya)
    deployment = deploy(api, maya, quick_version).json()
    url = reverse("api:deployment-rollback", args=[deployment["id"]])

    assert api.as_user(victor).post(url, {"reason": "No."}, format="json").status_code == 403
    missing = api.as_user(maya).post(url, {}, format="json")
    done = api.post(url, {"reason": "Latency regression."}, format="json")
    again = api.post(url, {"reason": "Twice."}, format="json")

    assert (missing.status_code, list(error(missing)["fields"])) == (400, ["reason"])
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["rolled_back_by"]) == ("rolled_back", "maya")
    assert done.json()["rollback_reason"] == "Latency regression."
    assert (again.status_code, error(again)["code"]) == (409, "invalid_transition")
    assert len(events("deployment.rolled_back")) == 1


# --- evidence that changed after the approval ---------------------------------------------------------


def tiered_version(risk_officer, version, tier: int):
    if tier != version.model.risk_tier:
        inventory.model_override_tier(
            actor=risk_officer, model=version.model, tier=tier, reason="test: policy per tier"
        )
        version.refresh_from_db()
    return version


@pytest.mark.parametrize(
    ("tier", "allowed", "codes"),
    [
        (1, False, ["evidence_changed_since_approval"]),  # tier 1 closes the gate until a new approval
        (2, True, []),  # tiers 2 and 3 stay open and warn
        (3, True, []),
    ],
)
def test_a_new_failing_run_of_a_required_check_after_the_approval_follows_the_tier_s_policy(
    api, maya, rita, quick_ready_version, tier, allowed, codes
):
    """GIVEN a completed production approval of a version with passing evidence
    WHEN a new performance run (required by every tier) fails after the approval
    THEN the answer names the approval and the digest it rests on and lists the change; tier 1 closes
    the gate with evidence_changed_since_approval, tiers 2 and 3 stay open with a warning."""
    version = tiered_version(rita, quick_ready_version, tier)
    approval = approved_request(version, "production", requester=maya)
    assert ask(api, maya, version)["evidence_changed"] is False

    failing = record_run(maya, version, "performance", outcome="fail")

    answer = ask(api, maya, version)
    assert (answer["allowed"], answer["codes"]) == (allowed, codes)
    assert answer["approval"] == approval.pk
    assert answer["approval_digest"] == approval.evidence_digest
    assert answer["evidence_changed"] is True
    assert answer["evidence_changes"] == [f"performance run {failing.pk} finished fail after the approval"]
    if allowed:
        assert len(answer["warnings"]) == 1
        assert "keeps the gate open" in answer["warnings"][0]
    else:
        assert answer["warnings"] == []
        assert f"approval #{approval.pk}" in answer["reasons"][0]


def test_what_is_not_material_leaves_the_gate_as_it_was(api, maya, quick_ready_version):
    """GIVEN a tier-1 approval
    WHEN a passing run of a required kind, a warning run of a kind the policy does not require, a
    monitoring-plan run that fails and an optional document arrive after it
    THEN the gate stays open with no evidence change: none of them is material."""
    version = quick_ready_version
    approved_request(version, "production", requester=maya)
    policy_version(tier=1, required_checks=[{"kind": "performance", "metric": "roc_auc", "min": 0.7}])
    record_run(maya, version, "performance", outcome="pass")
    record_run(maya, version, "drift", outcome="warn")  # drift is no longer required
    make_alert(maya, version, version.model.team)  # a plan's failing run: monitoring, not validation
    attach_evidence(maya, version, kinds=["standards_statement"])

    answer = ask(api, maya, version)

    assert (answer["allowed"], answer["evidence_changed"], answer["warnings"]) == (True, False, [])


def test_a_new_required_document_is_material(api, maya, quick_ready_version):
    """GIVEN a tier-1 approval
    WHEN a new data review (a required document type) is attached after it
    THEN the gate closes until a new approval, saying which document."""
    version = quick_ready_version
    approved_request(version, "production", requester=maya)

    attach_evidence(maya, version, kinds=["data_review"], content="A revised data review.")

    answer = ask(api, maya, version)
    assert answer["codes"] == ["evidence_changed_since_approval"]
    assert "a new data_review document" in answer["evidence_changes"][0]


def test_the_policy_decides_what_a_change_does(api, maya, quick_ready_version):
    """GIVEN a tier-1 approval and a failing run after it (the gate is closed)
    WHEN an administrator makes a tier-1 policy version that only warns
    THEN the gate opens with the warning: what a material change does is policy."""
    version = quick_ready_version
    approved_request(version, "production", requester=maya)
    record_run(maya, version, "fairness", outcome="fail")
    assert ask(api, maya, version)["allowed"] is False

    policy_version(tier=1, evidence_change="warn")

    answer = ask(api, maya, version)
    assert (answer["allowed"], answer["evidence_changed"]) == (True, True)
    assert answer["warnings"]
