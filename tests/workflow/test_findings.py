"""Findings: raised by people, by failed checks and by monitoring alerts; their lifecycle; reviews."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from registry.models import RegisteredModel
from tests.workflow.conftest import record_run
from tests.workflow.helpers import (
    TO_PRODUCTION,
    approved_request,
    error,
    events,
    gate,
    make_alert,
    move_model,
)
from workflow import tasks
from workflow.models import Finding, WebhookDelivery
from workflow.services import findings as finding_services
from workflow.services import notifications

pytestmark = pytest.mark.django_db
FINDINGS = reverse("api:finding-list")
CLEAR = reverse("api:review-clear")


def raise_finding(api, user, severity="high", **extra):
    body = {"model": "credit-scoring", "severity": severity, "title": "Unstable PSI bins", **extra}
    return api.as_user(user).post(FINDINGS, body, format="json")


def move(api, user, finding_id, status, resolution=""):
    url = reverse("api:finding-change-status", args=[finding_id])
    return api.as_user(user).post(url, {"status": status, "resolution": resolution}, format="json")


def test_it_lets_a_validator_raise_a_finding_owned_by_the_model_owner(api, victor, quick_version):
    """GIVEN a credit-risk model owned by maya
    WHEN victor raises a high finding on version 1
    THEN 201: open, owned by maya, due in 30 days, raised by victor, audited."""
    response = raise_finding(api, victor, version=1, description="Bins move between runs.")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["owner"], body["raised_by"], body["source"]) == (
        "open",
        "maya",
        "victor",
        "review",
    )
    assert body["version"] == 1
    assert body["due_date"] == (timezone.now().date() + dt.timedelta(days=30)).isoformat()
    assert events("finding.raised")[0].after["severity"] == "high"


def test_it_refuses_engineers_auditors_and_outsiders_and_checks_the_owner(
    api, maya, aaron, olga, rita, quick_version
):
    """GIVEN a credit-risk model
    WHEN maya (engineer) and aaron (auditor) raise a finding, olga (fraud) tries, and rita names olga as owner
    THEN 403, 403, 404, and 400 naming the owner."""
    assert raise_finding(api, maya).status_code == 403
    assert raise_finding(api, aaron).status_code == 403
    assert raise_finding(api, olga).status_code == 404
    bad_owner = raise_finding(api, rita, owner="olga")
    assert (bad_owner.status_code, list(error(bad_owner)["fields"])) == (400, ["owner"])
    assert not Finding.objects.exists()


def test_it_moves_a_finding_through_remediation_to_closed(api, maya, victor, quick_version):
    """GIVEN an open finding
    WHEN maya remediates it and tries to close it, victor closes it, and maya tries to reopen it
    THEN remediated, 403, closed (with the time), and 409: closed is final."""
    finding_id = raise_finding(api, victor).json()["id"]

    assert move(api, maya, finding_id, "remediated", "Rebinned.").json()["status"] == "remediated"
    assert move(api, maya, finding_id, "closed").status_code == 403
    closed = move(api, victor, finding_id, "closed", "Verified the rebinned PSI.")
    reopened = move(api, maya, finding_id, "open")

    assert closed.json()["status"] == "closed"
    assert closed.json()["closed_at"] is not None
    assert (reopened.status_code, error(reopened)["code"]) == (409, "invalid_transition")
    assert [e.after["status"] for e in events("finding.changed")] == ["remediated", "closed"]


def test_it_reserves_risk_acceptance_to_risk_officers_with_a_reason(api, victor, rita, aaron, quick_version):
    """GIVEN an open finding
    WHEN victor accepts the risk, rita accepts it without a reason, then with one, and aaron reopens it
    THEN 403, 400 naming the resolution, risk_accepted, and 403 (auditors change nothing)."""
    finding_id = raise_finding(api, victor).json()["id"]

    assert move(api, victor, finding_id, "risk_accepted", "Fine.").status_code == 403
    bare = move(api, rita, finding_id, "risk_accepted")
    accepted = move(api, rita, finding_id, "risk_accepted", "Compensating control: manual review.")

    assert (bare.status_code, list(error(bare)["fields"])) == (400, ["resolution"])
    assert accepted.json()["status"] == "risk_accepted"
    assert accepted.json()["resolution"] == "Compensating control: manual review."
    assert move(api, aaron, finding_id, "open").status_code == 403
    assert move(api, rita, finding_id, "open").json()["status"] == "open"


def test_it_raises_one_finding_per_failed_validation_run_from_the_sweep(maya, quick_version):
    """GIVEN a failed fairness run, a passing run and a failed run finished three days ago
    WHEN the sweep runs twice (once as the beat task)
    THEN one high finding for the recent failure, owned by the model owner; nothing the second time."""
    failed = record_run(maya, quick_version, "fairness", outcome="fail")
    record_run(maya, quick_version, "performance")
    record_run(
        maya, quick_version, "drift", outcome="fail", finished_at=timezone.now() - dt.timedelta(days=3)
    )

    assert finding_services.findings_sweep() == 1
    assert tasks.sweep_check_outcomes.apply().get() == 0

    finding = Finding.objects.get()
    assert (finding.source, finding.severity, finding.check_run, finding.owner) == (
        "check",
        "high",
        failed,
        maya,
    )
    assert finding.dedupe_key == f"check:{failed.pk}"
    assert finding.title == "Fairness check failed on credit-scoring v1"


def test_it_turns_a_critical_alert_into_one_finding_and_a_review_that_closes_the_gate(
    api, maya, victor, rita, admin_user, credit_risk, quick_version
):
    """GIVEN a tier-1 model in production with a current approval, and a webhook endpoint
    WHEN a critical monitoring alert is processed by the governance task, twice (a redelivery)
    THEN one critical finding, the model under review, the gate closed, one gate.closed notification;
    a validator's review clears the status, and the gate reopens once the finding's risk is accepted."""
    approved_request(quick_version, "production", requester=maya)
    move_model(admin_user, quick_version.model, *TO_PRODUCTION)
    notifications.webhook_create(actor=admin_user, url="https://hooks.example.com/attest", events=[])
    alert = make_alert(maya, quick_version, credit_risk)

    first = tasks.process_monitoring_alert.apply(args=[alert.pk]).get()
    again = tasks.process_monitoring_alert.apply(args=[alert.pk]).get()

    finding = Finding.objects.get()
    assert (first, again) == (finding.pk, None)
    assert (finding.source, finding.severity, finding.check_run_id) == (
        "monitoring",
        "critical",
        alert.check_run_id,
    )
    assert RegisteredModel.objects.get().status == "under_review"
    assert gate(api, maya, quick_version, "production").json()["codes"] == [
        "model_under_review",
        "blocking_finding",
    ]
    assert WebhookDelivery.objects.filter(event_type="gate.closed").count() == 1
    assert WebhookDelivery.objects.filter(event_type="finding.raised").count() == 1

    cleared = api.as_user(victor).post(
        CLEAR, {"model": "credit-scoring", "reason": "Drift explained."}, format="json"
    )
    assert cleared.json() == {"model": "credit-scoring", "status": "in_production"}
    assert gate(api, maya, quick_version, "production").json()["codes"] == ["blocking_finding"]
    move(api, rita, finding.pk, "risk_accepted", "Seasonal shift; monitored weekly.")
    assert gate(api, maya, quick_version, "production").json()["allowed"] is True
    assert [e.action for e in events("review.cleared")] == ["review.cleared"]


def test_it_records_a_warning_alert_below_tier_1_s_review_trigger(
    api, maya, admin_user, credit_risk, quick_version
):
    """GIVEN a tier-1 model in production (its policy puts models under review at high severity)
    WHEN a warning alert is processed
    THEN a medium finding is raised and the model stays in production with its gate open."""
    approved_request(quick_version, "production", requester=maya)
    move_model(admin_user, quick_version.model, *TO_PRODUCTION)

    tasks.process_monitoring_alert.apply(args=[make_alert(maya, quick_version, credit_risk, "warning").pk])

    assert Finding.objects.get().severity == "medium"
    assert RegisteredModel.objects.get().status == "in_production"
    assert gate(api, maya, quick_version, "production").json()["allowed"] is True


def test_it_raises_a_finding_for_an_alert_the_sweep_finds_without_one(maya, credit_risk, quick_version):
    """GIVEN an alert whose task never arrived (e.g. the broker was down)
    WHEN the sweep runs
    THEN the alert gets its finding, once."""
    make_alert(maya, quick_version, credit_risk)

    assert finding_services.findings_sweep() == 1
    assert finding_services.findings_sweep() == 0
    assert Finding.objects.get().source == "monitoring"


def test_it_clears_only_a_model_under_review_and_only_for_validators(
    api, maya, victor, rita, olga, admin_user, quick_version
):
    """GIVEN an approved model that is not in production, and so not under review
    WHEN victor clears it; then, in production and under review, maya, rita and olga try, and victor
    omits the reason
    THEN 409 (nothing to clear: clearing must not deploy it), 403, 403, 404, 400; it stays under review."""
    model = move_model(admin_user, quick_version.model, *TO_PRODUCTION[:3])
    body = {"model": "credit-scoring", "reason": "Reviewed."}

    not_under_review = api.as_user(victor).post(CLEAR, body, format="json")
    assert (not_under_review.status_code, error(not_under_review)["code"]) == (409, "invalid_transition")
    assert RegisteredModel.objects.get().status == "approved"
    move_model(admin_user, model, "in_production", "under_review")
    assert api.as_user(maya).post(CLEAR, body, format="json").status_code == 403
    assert api.as_user(rita).post(CLEAR, body, format="json").status_code == 403
    assert api.as_user(olga).post(CLEAR, body, format="json").status_code == 404
    assert api.as_user(victor).post(CLEAR, {"model": "credit-scoring"}, format="json").status_code == 400
    assert RegisteredModel.objects.get().status == "under_review"


def test_it_lists_findings_to_the_team_and_filters_them(api, maya, victor, olga, aaron, quick_version):
    """GIVEN two findings of different severities
    WHEN the team, the auditor and the outsider list them, filtered by severity
    THEN the team and the auditor see them, the outsider sees none and gets 404 on a detail."""
    high = raise_finding(api, victor).json()["id"]
    raise_finding(api, victor, severity="low", title="Typo")

    for reader in (maya, victor, aaron):
        listed = api.as_user(reader).get(FINDINGS, {"severity": "high"}).json()["results"]
        assert [row["id"] for row in listed] == [high]
    assert api.as_user(olga).get(FINDINGS).json()["results"] == []
    assert api.get(reverse("api:finding-detail", args=[high])).status_code == 404
