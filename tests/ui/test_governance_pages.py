"""Governance pages: dashboard, approvals (request, sign, cancel), findings, the audit log, the authenticator.

Personas (tests/conftest.py): maya (ml-engineer) and victor (validator) in credit-risk, aaron (auditor),
rita (risk officer), admin; olga (ml-engineer, fraud) is the outsider who must see nothing of credit-risk.
The credit-risk model here is tier 3, whose policy gates production on one validation stage signed by a
validator, so a single signature completes a request.
"""

from __future__ import annotations

import datetime as dt
import pickle

import pyotp
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import TotpDevice
from audit.models import AuditEvent, AuditVerification
from monitoring.models import CheckRun, MonitoringAlert, MonitoringPlan
from registry.models import RegisteredModel
from registry.models.datasets import DatasetRole
from tests.monitoring import factories
from tests.workflow.conftest import (
    attach_evidence,
    fair_frame,
    run_check,
    to_validation,
)
from workflow.models import ApprovalRequest, Finding, Signature
from workflow.services import approvals as approval_services
from workflow.services import audit as audit_services
from workflow.services import findings as finding_services
from workflow.services.evidence import evidence_manifest, manifest_digest
from workflow.services.policies import policy_active

pytestmark = pytest.mark.django_db

PERSONAS = ["maya", "victor", "aaron", "rita", "admin_user"]
TEAM_ROLES = ["maya", "victor"]


@pytest.fixture
def model(maya, credit_risk):
    return factories.make_model(maya, credit_risk)


@pytest.fixture
def version(maya, model):
    return factories.make_version(maya, model, factories.skops_bytes(factories.trained_model("logistic")))


def make_approval(version, requester, environment="production") -> ApprovalRequest:
    """A pending request made directly (the prerequisites are the service's business, tested elsewhere)."""
    policy = policy_active(tier=version.model.risk_tier)
    manifest = evidence_manifest(version)
    return ApprovalRequest.objects.create(
        model_version=version,
        environment=environment,
        policy=policy,
        stage_keys=policy.gated_environments[environment],
        evidence_manifest=manifest,
        evidence_digest=manifest_digest(manifest),
        requested_by=requester,
    )


@pytest.fixture
def approval(version, maya):
    return make_approval(version, maya)


@pytest.fixture
def finding(victor, model):
    return finding_services.finding_raise(actor=victor, model=model, severity="high", title="Thin-file bias")


@pytest.fixture
def fraud_model(olga, fraud):
    return factories.make_model(olga, fraud, name="fraud-score")


def as_user(client, user):
    client.logout()
    if user is not None:
        client.force_login(user)
    return client


def persona(request, name):
    return request.getfixturevalue(name)


# --- every page: anonymous visitors are sent to sign in ----------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/approvals/",
        "/approvals/new/",
        "/approvals/1/",
        "/findings/",
        "/findings/new/",
        "/findings/1/",
        "/audit/",
        "/account/totp/",
        "/account/totp/remove/",
    ],
)
def test_it_sends_anonymous_visitors_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- dashboard ---------------------------------------------------------------------------------------


def test_it_shows_the_inventory_by_tier_and_status_linked_to_the_model_list(client, maya, model):
    response = as_user(client, maya).get("/")
    assert response.status_code == 200
    tier3 = next(row for row in response.context["inventory"] if row["tier"] == 3)
    draft = next(cell for cell in tier3["cells"] if cell["status"] == "draft")
    assert draft["count"] == 1
    assert b'href="/models/?tier=3&amp;status=draft"' in response.content


def test_it_keeps_credit_risk_off_the_outsiders_dashboard(
    client, olga, model, finding, approval, fraud_model
):
    response = as_user(client, olga).get("/")
    assert response.status_code == 200
    assert sum(row["total"] for row in response.context["inventory"]) == 1  # fraud-score only
    assert b"credit-scoring" not in response.content
    assert b"Thin-file bias" not in response.content
    assert all(row["count"] == 0 for row in response.context["findings"])


def test_it_lists_the_approvals_waiting_for_the_signer_only(client, maya, victor, approval):
    assert list(as_user(client, victor).get("/").context["awaiting"]) == [approval]
    assert list(as_user(client, maya).get("/").context["awaiting"]) == []  # the requester cannot sign


def test_it_lists_overdue_reviews_and_open_findings_by_severity(client, victor, model, finding):
    RegisteredModel.objects.filter(pk=model.pk).update(next_review_due=dt.date(2020, 1, 31))
    response = as_user(client, victor).get("/")
    assert [m.name for m in response.context["overdue"]] == ["credit-scoring"]
    assert {row["severity"]: row["count"] for row in response.context["findings"]}["high"] == 1


def test_it_shows_a_team_member_activity_about_their_models_but_not_others(
    client, maya, olga, model, fraud_model
):
    mine = [event.object_repr for event in as_user(client, maya).get("/").context["activity"]]
    theirs = [event.object_repr for event in as_user(client, olga).get("/").context["activity"]]
    assert "credit-scoring" in mine
    assert "fraud-score" not in mine
    assert "credit-scoring" not in theirs


def test_it_shows_every_recent_event_to_an_auditor(client, aaron, model, fraud_model):
    response = as_user(client, aaron).get("/")
    assert response.context["activity_all"] is True
    shown = {event.object_repr for event in response.context["activity"]}
    assert {"credit-scoring", "fraud-score"} <= shown


def add_monitoring_failure(maya, version, dataset, index: int) -> None:
    plan = MonitoringPlan.objects.create(
        model_version=version, dataset=dataset, crontab="0 6 * * *", created_by=maya, title=f"plan {index}"
    )
    alerted = CheckRun.objects.create(
        kind="drift",
        model_version=version,
        artifact_sha256=version.artifact_sha256,
        status="succeeded",
        outcome="fail",
        result_sha256="0" * 64,
        plan=plan,
    )
    MonitoringAlert.objects.create(
        plan=plan, check_run=alerted, metric="psi", severity="critical", message="PSI"
    )
    CheckRun.objects.create(
        kind="drift",
        model_version=version,
        artifact_sha256=version.artifact_sha256,
        status="failed",
        error_message="batch unreadable",
        plan=plan,
    )


def grow(maya, victor, credit_risk, index: int) -> None:
    model = factories.make_model(maya, credit_risk, name=f"model-{index}")
    version = factories.make_version(maya, model, pickle.dumps({"index": index}, protocol=4), "model.pkl")
    RegisteredModel.objects.filter(pk=model.pk).update(next_review_due=dt.date(2020, 1, 1))
    make_approval(version, maya)
    finding_services.finding_raise(actor=victor, model=model, severity="medium", title=f"finding {index}")
    add_monitoring_failure(
        maya, version, factories.make_dataset(maya, credit_risk, name=f"data-{index}"), index
    )


@pytest.mark.parametrize("name", ["victor", "maya", "rita"])
def test_it_keeps_the_dashboard_query_count_constant_as_data_grows(
    request, client, maya, victor, credit_risk, name
):
    grow(maya, victor, credit_risk, 0)
    user = persona(request, name)
    as_user(client, user)
    with CaptureQueriesContext(connection) as small:
        assert client.get("/").status_code == 200
    for index in range(1, 5):
        grow(maya, victor, credit_risk, index)
    with CaptureQueriesContext(connection) as large:
        response = client.get("/")
    assert response.status_code == 200
    assert len(response.context["alerts"]) == 5
    assert len(large.captured_queries) == len(small.captured_queries)


# --- approvals: lists and the request page ----------------------------------------------------------


@pytest.mark.parametrize("name", PERSONAS)
def test_it_lists_a_request_to_everyone_who_may_see_it(request, client, approval, name):
    response = as_user(client, persona(request, name)).get("/approvals/", {"tab": "all"})
    assert response.status_code == 200
    assert approval in list(response.context["listing"].page)


def test_it_lists_no_credit_risk_request_to_the_outsider(client, olga, approval):
    response = as_user(client, olga).get("/approvals/", {"tab": "all"})
    assert list(response.context["listing"].page) == []
    assert b"credit-scoring" not in response.content


def test_it_filters_all_requests_by_status_environment_and_model(client, rita, approval):
    as_user(client, rita)
    assert list(client.get("/approvals/", {"tab": "all", "status": "pending"}).context["listing"].page) == [
        approval
    ]
    assert list(client.get("/approvals/", {"tab": "all", "status": "approved"}).context["listing"].page) == []
    assert (
        list(client.get("/approvals/", {"tab": "all", "environment": "staging"}).context["listing"].page)
        == []
    )
    assert list(client.get("/approvals/", {"tab": "all", "model": "other"}).context["listing"].page) == []


def test_it_opens_the_signers_queue_by_default(client, victor, maya, approval):
    response = as_user(client, victor).get("/approvals/")
    assert response.context["tab"] == "queue"
    assert list(response.context["listing"].page) == [approval]
    assert as_user(client, maya).get("/approvals/").context["tab"] == "all"


@pytest.mark.parametrize("name", PERSONAS)
def test_it_shows_the_request_page_to_everyone_who_may_see_it(request, client, approval, name):
    response = as_user(client, persona(request, name)).get(f"/approvals/{approval.pk}/")
    assert response.status_code == 200
    assert b'id="approval-status"' in response.content
    assert approval.evidence_digest.encode() in response.content


def test_it_answers_404_to_the_outsider_for_a_credit_risk_request(client, olga, approval):
    assert as_user(client, olga).get(f"/approvals/{approval.pk}/").status_code == 404
    assert as_user(client, olga).post(f"/approvals/{approval.pk}/sign/", {}).status_code == 404


def test_it_shows_the_stages_the_manifest_and_the_check_runs(client, maya, victor, version, datasets_for):
    run = run_check(maya, "performance", version, current=datasets_for(version))
    approval = make_approval(version, maya)
    response = as_user(client, victor).get(f"/approvals/{approval.pk}/")
    assert [stage["state"] for stage in response.context["stages"]] == ["open"]
    assert f'href="/checks/{run.pk}/"'.encode() in response.content
    assert version.artifact_sha256.encode() in response.content


def test_it_offers_the_sign_dialog_only_to_holders_of_the_open_stages_role(
    client, maya, victor, aaron, approval
):
    page = as_user(client, victor).get(f"/approvals/{approval.pk}/").content.decode()
    assert 'id="sign-dialog"' in page
    assert "By signing you approve <strong>credit-scoring v1</strong> for <strong>production</strong>" in page
    assert (
        "Your signature means: <strong>Approval: I approve this version for the environment</strong>" in page
    )
    assert '<label for="id_password">Password</label>' in page
    assert '<button type="submit" class="primary">Sign</button>' in page
    assert 'id="sign-error"' in page
    for other in (maya, aaron):
        assert b'id="sign-dialog"' not in as_user(client, other).get(f"/approvals/{approval.pk}/").content


# --- approvals: signing through the page -------------------------------------------------------------


def sign(
    client, approval, *, password, meaning="approval", decision="approve", comment="Reviewed.", **headers
):
    data = {"decision": decision, "meaning": meaning, "comment": comment, "password": password}
    return client.post(f"/approvals/{approval.pk}/sign/", data, **headers)


def test_it_refuses_a_wrong_password_and_signs_nothing(client, victor, approval):
    response = sign(as_user(client, victor), approval, password="not-my-password")
    assert response.status_code == 401
    assert "The password is not correct; nothing was signed." in response.content.decode()
    assert response.context["dialog_open"] is True
    assert not Signature.objects.exists()
    approval.refresh_from_db()
    assert approval.status == "pending"


def test_it_shows_a_refusal_inside_the_dialog_for_htmx(client, victor, approval):
    response = sign(as_user(client, victor), approval, password="wrong", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith("<form")
    assert (
        '<div id="sign-error" class="error" role="alert" aria-live="assertive">The password is not correct;'
        in body
    )
    assert not Signature.objects.exists()


def test_it_shows_the_segregation_of_duties_reason(client, victor, version, password):
    approval = make_approval(version, victor)  # victor requested it, so victor may not sign it
    response = sign(as_user(client, victor), approval, password=password)
    assert response.status_code == 403
    assert "Segregation of duties: the requester cannot sign this request." in response.content.decode()
    assert not Signature.objects.exists()


def test_it_tells_a_signer_without_the_stages_role(client, rita, approval, password):
    response = sign(as_user(client, rita), approval, password=password)
    assert response.status_code == 403
    assert "signed by the validator role, which you do not hold" in response.content.decode()


def test_it_signs_with_the_right_password_and_shows_a_success_message(client, victor, approval, password):
    response = sign(as_user(client, victor), approval, password=password)
    assert response.status_code == 302
    assert response["Location"] == f"/approvals/{approval.pk}/"
    signature = Signature.objects.get()
    assert (signature.signer, signature.meaning, signature.auth_method) == (victor, "approval", "password")
    approval.refresh_from_db()
    assert approval.status == "approved"
    page = client.get(response["Location"]).content.decode()
    assert "Signed: you approved credit-scoring v1 for production." in page
    assert "Victor Tester" in page
    assert "Approval: I approve this version for the environment" in page


def test_it_shows_evidence_that_arrived_after_the_approval_apart(client, victor, rita, approval, password):
    """GIVEN an approved request
    WHEN a performance run (required by the tier-3 policy) fails afterwards
    THEN the request page lists it apart from the signed manifest, says the change is material and what
    the policy does about it, and every signature's digest line matches the approved manifest."""
    sign(as_user(client, victor), approval, password=password)
    from tests.workflow.conftest import record_run

    later = record_run(None, approval.model_version, "performance", outcome="fail")

    page = as_user(client, rita).get(f"/approvals/{approval.pk}/").content.decode()
    after = page[page.index('id="later-evidence"') :]
    assert "After approval: 1 check run (1 fail)" in after
    assert f'href="/checks/{later.pk}/"' in after
    assert f"performance run {later.pk} finished fail after the approval" in after
    assert "keeps the deployment gate open with a warning" in after  # tier 3 warns
    manifest = page[page.index('id="evidence-heading"') : page.index('id="later-evidence"')]
    assert f"/checks/{later.pk}/" not in manifest
    assert page.count("matches the approved manifest") == 1


def test_it_redirects_htmx_after_signing(client, victor, approval, password):
    response = sign(as_user(client, victor), approval, password=password, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/approvals/{approval.pk}/"


def test_it_says_when_the_evidence_changed_and_the_request_is_invalidated(
    client, maya, victor, approval, password
):
    attach_evidence(maya, approval.model_version, kinds=("data_review",))
    response = sign(as_user(client, victor), approval, password=password)
    assert response.status_code == 409
    assert "The evidence changed since the request was made" in response.content.decode()
    approval.refresh_from_db()
    assert approval.status == "invalidated"


def test_it_says_when_the_request_is_closed(client, maya, victor, approval, password):
    approval_services.approval_cancel(actor=maya, request=approval, reason="Superseded.")
    response = sign(as_user(client, victor), approval, password=password)
    assert response.status_code == 409
    assert "it can no longer be signed" in response.content.decode()


def test_it_asks_for_the_authenticator_code_once_enrolled(client, victor, approval, password):
    TotpDevice.objects.create(user=victor, secret=pyotp.random_base32(), confirmed=True)
    page = as_user(client, victor).get(f"/approvals/{approval.pk}/").content.decode()
    assert '<label for="id_totp">Authenticator code</label>' in page
    response = sign(client, approval, password=password)
    assert response.status_code == 401
    assert "The password or the authenticator code is not correct" in response.content.decode()


# --- approvals: requesting and cancelling -----------------------------------------------------------


@pytest.fixture
def datasets_for(maya, credit_risk):
    def validation_data(version):
        dataset = factories.make_dataset(maya, credit_risk, name=f"validation-{version.pk}")
        return factories.make_dataset_version(maya, dataset, fair_frame(seed=2), role=DatasetRole.VALIDATION)

    return validation_data


def test_it_shows_the_missing_prerequisites_and_requests_nothing(client, maya, version):
    to_validation(maya, version.model)
    as_user(client, maya)
    form = client.get("/approvals/new/", {"model": "credit-scoring", "version": 1})
    assert form.status_code == 200
    assert form.context["form"]["model"].value() == "credit-scoring"
    assert client.get("/approvals/new/", {"model": "credit-scoring"}).status_code == 200
    data = {"model": "credit-scoring", "version": 1, "environment": "production", "justification": "Go."}
    response = client.post("/approvals/new/", data)
    assert response.status_code == 409
    assert response.context["missing"] == ["check 'performance' has no successful run for this version"]
    assert "check &#x27;performance&#x27; has no successful run" in response.content.decode()
    assert b'id="prerequisites-missing"' in response.content
    assert not ApprovalRequest.objects.exists()


def test_it_requests_approval_when_the_prerequisites_are_met(client, maya, model, datasets_for):
    to_validation(maya, model)
    version = factories.make_version(
        maya, model, factories.skops_bytes(factories.trained_model("logistic", fair_frame(seed=1)))
    )
    run = run_check(maya, "performance", version, current=datasets_for(version))
    assert run.outcome in ("pass", "warn"), run.outcome_reason
    data = {"model": "credit-scoring", "version": version.version, "environment": "production"}
    response = as_user(client, maya).post("/approvals/new/", data)
    approval = ApprovalRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/approvals/{approval.pk}/"
    assert approval.requested_by == maya


def test_it_shows_a_field_error_for_an_environment_the_policy_does_not_gate(client, maya, version):
    to_validation(maya, version.model)
    data = {"model": "credit-scoring", "version": 1, "environment": "staging"}
    response = as_user(client, maya).post("/approvals/new/", data)
    assert response.status_code == 400
    assert response.context["form"].errors["environment"]


@pytest.mark.parametrize("name", ["victor", "aaron", "rita"])
def test_it_refuses_the_request_form_to_roles_that_do_not_request(request, client, version, name):
    response = as_user(client, persona(request, name)).get(
        "/approvals/new/", {"model": "credit-scoring", "version": 1}
    )
    assert response.status_code == 403


def test_it_answers_404_when_the_outsider_names_a_credit_risk_version(client, olga, version):
    response = as_user(client, olga).get("/approvals/new/", {"model": "credit-scoring", "version": 1})
    assert response.status_code == 404
    data = {"model": "credit-scoring", "version": 1, "environment": "production"}
    refused = client.post("/approvals/new/", data)
    assert refused.status_code == 400
    assert not ApprovalRequest.objects.exists()


def test_it_lets_the_requester_cancel_after_confirming_with_a_reason(client, maya, approval):
    as_user(client, maya)
    assert b"Cancel request" in client.get(f"/approvals/{approval.pk}/cancel/").content
    assert client.post(f"/approvals/{approval.pk}/cancel/", {"reason": ""}).status_code == 400
    response = client.post(f"/approvals/{approval.pk}/cancel/", {"reason": "Wrong version."})
    assert response.status_code == 302
    approval.refresh_from_db()
    assert (approval.status, approval.outcome_reason) == ("cancelled", "Wrong version.")


@pytest.mark.parametrize("name", ["victor", "aaron", "rita"])
def test_it_refuses_cancelling_to_anyone_but_the_requester_or_an_admin(request, client, approval, name):
    as_user(client, persona(request, name))
    assert client.post(f"/approvals/{approval.pk}/cancel/", {"reason": "No."}).status_code == 403
    approval.refresh_from_db()
    assert approval.status == "pending"


# --- findings ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PERSONAS)
def test_it_lists_and_shows_a_finding_to_everyone_who_may_see_it(request, client, finding, name):
    as_user(client, persona(request, name))
    assert finding in list(client.get("/findings/").context["listing"].page)
    detail = client.get(f"/findings/{finding.pk}/")
    assert detail.status_code == 200
    assert b'id="finding-status"' in detail.content


def test_it_hides_credit_risk_findings_from_the_outsider(client, olga, finding):
    as_user(client, olga)
    assert list(client.get("/findings/").context["listing"].page) == []
    assert client.get(f"/findings/{finding.pk}/").status_code == 404
    assert client.get(f"/findings/{finding.pk}/close/").status_code == 404
    assert client.post(f"/findings/{finding.pk}/status/", {"status": "remediated"}).status_code == 404


def test_it_filters_searches_and_sorts_findings(client, victor, model, finding):
    low = finding_services.finding_raise(actor=victor, model=model, severity="low", title="Stale docs")
    as_user(client, victor)

    def listed(**query):
        return list(client.get("/findings/", query).context["listing"].page)

    assert listed(severity="low") == [low]
    assert listed(status="open", source="review", model="credit-scoring") == [low, finding]
    assert listed(q="thin-file") == [finding]
    assert listed(sort="severity") == [low, finding]
    assert listed(sort="-severity") == [finding, low]
    assert listed(status="closed") == []


def test_it_raises_a_finding_from_the_form(client, victor, model):
    as_user(client, victor)
    form = client.get("/findings/new/", {"model": "credit-scoring"})
    assert form.status_code == 200
    assert form.context["form"]["model"].value() == "credit-scoring"
    data = {
        "model": "credit-scoring",
        "severity": "critical",
        "title": "Leakage",
        "description": "Target leak.",
    }
    response = client.post("/findings/new/", data)
    created = Finding.objects.get()
    assert response["Location"] == f"/findings/{created.pk}/"
    assert (created.severity, created.raised_by, created.owner.username) == ("critical", victor, "maya")


def test_it_shows_field_errors_on_the_finding_form(client, victor, model):
    as_user(client, victor)
    response = client.post("/findings/new/", {"model": "credit-scoring", "severity": "high", "title": ""})
    assert response.status_code == 400
    assert response.context["form"].errors["title"]
    unknown = client.post("/findings/new/", {"model": "nope", "severity": "high", "title": "x", "version": 9})
    assert unknown.context["form"].errors["model"] == ["You cannot see a model with this name."]
    assert not Finding.objects.exists()


@pytest.mark.parametrize("name", ["maya", "aaron", "olga"])
def test_it_refuses_the_finding_form_to_roles_that_do_not_raise_findings(request, client, model, name):
    as_user(client, persona(request, name))
    assert client.get("/findings/new/").status_code == 403
    assert (
        client.post(
            "/findings/new/", {"model": "credit-scoring", "severity": "low", "title": "x"}
        ).status_code
        == 403
    )


def test_it_moves_a_finding_through_its_statuses(client, victor, rita, finding):
    as_user(client, victor)
    page = client.get(f"/findings/{finding.pk}/")
    assert [t["status"] for t in page.context["transitions"]] == ["remediated"]
    assert client.post(f"/findings/{finding.pk}/status/", {"status": "remediated"}).status_code == 302
    finding.refresh_from_db()
    assert finding.status == "remediated"
    confirm = client.get(f"/findings/{finding.pk}/close/")
    assert b"Closing is final" in confirm.content
    assert (
        client.post(
            f"/findings/{finding.pk}/status/", {"status": "closed", "resolution": "Fixed."}
        ).status_code
        == 302
    )
    finding.refresh_from_db()
    assert (finding.status, finding.resolution) == ("closed", "Fixed.")
    assert client.get(f"/findings/{finding.pk}/").context["transitions"] == []


def test_it_asks_a_risk_officer_why_a_risk_is_accepted(client, rita, finding):
    as_user(client, rita)
    assert "risk_accepted" in [
        t["status"] for t in client.get(f"/findings/{finding.pk}/").context["transitions"]
    ]
    refused = client.post(f"/findings/{finding.pk}/status/", {"status": "risk_accepted", "resolution": ""})
    assert refused.status_code == 400
    assert "Explain why the risk is accepted." in refused.content.decode()
    accepted = client.post(
        f"/findings/{finding.pk}/status/", {"status": "risk_accepted", "resolution": "Compensating control."}
    )
    assert accepted.status_code == 302
    finding.refresh_from_db()
    assert finding.status == "risk_accepted"


def test_it_refuses_risk_acceptance_and_closing_to_an_engineer(client, maya, finding):
    as_user(client, maya)
    assert [t["status"] for t in client.get(f"/findings/{finding.pk}/").context["transitions"]] == [
        "remediated"
    ]
    response = client.post(
        f"/findings/{finding.pk}/status/", {"status": "risk_accepted", "resolution": "Fine."}
    )
    assert response.status_code == 403
    assert "Only a risk officer or an administrator can accept a risk." in response.content.decode()
    assert client.get(f"/findings/{finding.pk}/close/").status_code == 403
    finding.refresh_from_db()
    assert finding.status == "open"


# --- audit log ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["maya", "victor", "olga"])
def test_it_refuses_the_audit_log_to_roles_that_do_not_audit(request, client, name):
    as_user(client, persona(request, name))
    assert client.get("/audit/").status_code == 403
    assert client.post("/audit/verify/").status_code == 403
    assert not AuditVerification.objects.exists()


@pytest.mark.parametrize("name", ["aaron", "rita", "admin_user"])
def test_it_shows_the_audit_log_to_auditors_risk_officers_and_admins(request, client, model, name):
    response = as_user(client, persona(request, name)).get("/audit/")
    assert response.status_code == 200
    event = AuditEvent.objects.filter(object_repr="credit-scoring").latest("seq")
    assert event in response.context["events"]
    assert event.hash.encode() in response.content
    assert event.prev_hash.encode() in response.content


def test_it_filters_events_and_hands_the_filters_to_the_exports(client, aaron, model, fraud_model):
    as_user(client, aaron)
    response = client.get("/audit/", {"action": "model.created", "actor": "olga"})
    assert [event.object_repr for event in response.context["events"]] == ["fraud-score"]
    page = response.content.decode()
    assert 'href="/api/v1/audit/events/export.csv?actor=olga&amp;action=model.created"' in page
    assert 'href="/api/v1/audit/events/export.jsonl?actor=olga&amp;action=model.created"' in page
    export = client.get("/api/v1/audit/events/export.csv", {"actor": "olga", "action": "model.created"})
    assert export.status_code == 200
    assert b"fraud-score" in b"".join(export.streaming_content)


def test_it_pages_back_through_older_events(client, aaron, model):
    total = AuditEvent.objects.count()
    as_user(client, aaron)
    first = client.get("/audit/", {"actor": "maya"})
    newest = first.context["events"][0].seq
    older = client.get("/audit/", {"actor": "maya", "before": newest})
    assert all(event.seq < newest for event in older.context["events"])
    assert older.context["newest"] == "actor=maya"
    assert total >= 1


def test_it_verifies_the_chain_now_and_polls_until_done(client, aaron, model):
    as_user(client, aaron)
    started = client.post("/audit/verify/", HTTP_HX_REQUEST="true")
    job = AuditVerification.objects.get()
    assert started.status_code == 200
    body = started.content.decode()
    assert 'id="verification-status"' in body
    assert f'hx-get="/audit/verifications/{job.pk}/"' in body
    assert "queued" in body
    polling = client.get(f"/audit/verifications/{job.pk}/", HTTP_HX_REQUEST="true")
    assert polling.status_code == 200
    audit_services.verification_run(verification_id=job.pk)
    done = client.get(f"/audit/verifications/{job.pk}/", HTTP_HX_REQUEST="true")
    assert done.status_code == 286
    assert "succeeded" in done.content.decode()
    assert "intact" in done.content.decode()
    page = client.get("/audit/").content.decode()
    status = page[page.index('id="verification-status"') :]
    assert "succeeded" in status[:2000]
    assert "intact" in status[:2000]
    assert 'id="verify-now"' in page


def test_it_starts_a_verification_without_htmx_too(client, rita):
    response = as_user(client, rita).post("/audit/verify/")
    assert response.status_code == 302
    assert AuditVerification.objects.get().requested_by == rita


# --- account: the authenticator ---------------------------------------------------------------------


def test_it_enrols_an_authenticator_with_a_confirmed_code(client, victor):
    as_user(client, victor)
    assert b"Set up an authenticator" in client.get("/account/totp/").content
    assert client.post("/account/totp/", {"action": "start"}).status_code == 302
    page = client.get("/account/totp/")
    secret = TotpDevice.objects.get(user=victor).secret
    assert page.context["secret_groups"].replace(" ", "") == secret
    assert page.context["secret_groups"].split(" ")[0] == secret[:4]
    assert "otpauth://totp/Attest:victor?secret=" in page.content.decode()
    wrong = client.post("/account/totp/", {"action": "confirm", "code": "000000"})
    assert wrong.status_code == 400
    assert "That code is not valid" in wrong.content.decode()
    confirmed = client.post("/account/totp/", {"action": "confirm", "code": pyotp.TOTP(secret).now()})
    assert confirmed.status_code == 302
    assert TotpDevice.objects.get(user=victor).confirmed
    assert b"enrolled" in client.get("/account/totp/").content


def test_it_removes_an_authenticator_only_with_the_password(client, victor, password):
    TotpDevice.objects.create(user=victor, secret=pyotp.random_base32(), confirmed=True)
    as_user(client, victor)
    assert b"Remove authenticator" in client.get("/account/totp/remove/").content
    refused = client.post("/account/totp/remove/", {"password": "wrong"})
    assert refused.status_code == 400
    assert TotpDevice.objects.filter(user=victor).exists()
    assert client.post("/account/totp/remove/", {"password": password}).status_code == 302
    assert not TotpDevice.objects.filter(user=victor).exists()
    assert AuditEvent.objects.filter(action="auth.totp_removed", actor_pk=victor.pk).exists()
