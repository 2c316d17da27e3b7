"""Email about approvals and findings: who hears of each event (sent by a Celery task after commit)."""

import pytest
from django.core import mail

from tests.factories import PASSWORD
from tests.workflow.helpers import TO_PRODUCTION, make_alert, move_model
from workflow.services import approvals as approval_services
from workflow.services import findings as finding_services
from workflow.services.approvals import SignatureInput

pytestmark = pytest.mark.django_db


def recipients() -> list[list[str]]:
    return [sorted(message.to) for message in mail.outbox]


def signing(meaning: str, decision: str = "approve") -> SignatureInput:
    return SignatureInput(decision=decision, meaning=meaning, comment="Checked.", password=PASSWORD)


def test_it_tells_the_team_s_signers_of_a_request_and_the_requester_of_each_step(
    eager_tasks,
    django_capture_on_commit_callbacks,
    maya,
    victor,
    rita,
    aaron,
    admin_user,
    quick_ready_version,
):
    """GIVEN a credit-risk team with a validator, a risk officer, an auditor and an administrator
    WHEN maya requests production approval and the three stages are signed
    THEN the validator and risk officer hear of the request; maya hears of each signature and of the
    approval; the auditor hears of nothing."""
    with django_capture_on_commit_callbacks(execute=True):
        request = approval_services.approval_request(
            actor=maya, version=quick_ready_version, environment="production"
        )
    assert recipients() == [["rita@example.com", "victor@example.com"]]
    assert mail.outbox[0].subject == "[Attest] approval requested: credit-scoring v1"

    for signer, meaning in ((victor, "review"), (rita, "approval"), (admin_user, "responsibility")):
        with django_capture_on_commit_callbacks(execute=True):
            approval_services.approval_sign(actor=signer, request=request, signing=signing(meaning))

    assert recipients()[1:] == [["maya@example.com"]] * 4
    assert [message.subject for message in mail.outbox[-2:]] == [
        "[Attest] approval signed: credit-scoring v1",
        "[Attest] approval approved: credit-scoring v1",
    ]
    assert not any("aaron@example.com" in message.to for message in mail.outbox)


def test_it_tells_the_requester_of_a_rejection(
    eager_tasks,
    django_capture_on_commit_callbacks,
    maya,
    victor,
    quick_ready_version,
):
    """GIVEN a pending request
    WHEN victor rejects it
    THEN maya is emailed about the signature and the rejection, with the reason."""
    request = approval_services.approval_request(
        actor=maya, version=quick_ready_version, environment="staging"
    )

    with django_capture_on_commit_callbacks(execute=True):
        approval_services.approval_sign(actor=victor, request=request, signing=signing("review", "reject"))

    assert recipients() == [["maya@example.com"], ["maya@example.com"]]
    assert mail.outbox[1].subject == "[Attest] approval rejected: credit-scoring v1"
    assert "status: rejected" in mail.outbox[1].body


def test_it_tells_the_owner_of_a_finding(
    eager_tasks,
    django_capture_on_commit_callbacks,
    maya,
    victor,
    quick_version,
):
    """GIVEN a model owned by maya
    WHEN victor raises a finding
    THEN maya is emailed."""
    with django_capture_on_commit_callbacks(execute=True):
        finding_services.finding_raise(actor=victor, model=quick_version.model, severity="high", title="Leak")

    assert recipients() == [["maya@example.com"]]
    assert "title: Leak" in mail.outbox[0].body


def test_it_tells_the_owner_and_the_team_s_risk_officers_that_the_gate_closed(
    eager_tasks, django_capture_on_commit_callbacks, maya, rita, admin_user, credit_risk, quick_version
):
    """GIVEN a tier-1 model in production
    WHEN a critical monitoring alert puts it under review
    THEN maya (owner) hears of the finding; maya and rita (risk officer) hear that the gate closed."""
    move_model(admin_user, quick_version.model, *TO_PRODUCTION)
    alert = make_alert(maya, quick_version, credit_risk)

    with django_capture_on_commit_callbacks(execute=True):
        finding_services.finding_from_alert(alert_id=alert.pk)

    assert {message.subject: sorted(message.to) for message in mail.outbox} == {
        "[Attest] finding raised: credit-scoring v1": ["maya@example.com"],
        "[Attest] gate closed: credit-scoring": ["maya@example.com", "rita@example.com"],
    }
