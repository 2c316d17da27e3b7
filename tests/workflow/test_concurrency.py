"""Races on one approval request, each signer in a thread with its own database connection."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.urls import reverse

from audit.models import AuditEvent
from tests.conftest import PersonaClient
from tests.factories import PASSWORD, UserFactory
from tests.workflow.helpers import policy_version, request_approval, sign
from workflow import tasks
from workflow.models import ApprovalRequest, Signature, WebhookDelivery
from workflow.services import notifications

pytestmark = pytest.mark.django_db(transaction=True)
SAME_SIGNER_ATTEMPTS = 20


@pytest.fixture
def two_person_stages(db):
    """A tier-1 policy whose validation and risk stages each need two distinct signers."""
    return policy_version(
        stages=[
            {
                "key": "validation",
                "title": "Validation",
                "role": "validator",
                "quorum": 2,
                "meaning": "review",
            },
            {
                "key": "risk",
                "title": "Risk approval",
                "role": "risk-officer",
                "quorum": 2,
                "meaning": "approval",
            },
        ],
        gated_environments={"production": ["validation", "risk"]},
    )


@pytest.fixture
def queued(monkeypatch):
    """What would be sent to the broker after commit: webhook delivery ids and email events."""
    sent: dict[str, list] = {"webhooks": [], "emails": []}
    lock = threading.Lock()

    def remember(kind):
        def delay(*args):
            with lock:
                sent[kind].append(args)

        return delay

    monkeypatch.setattr(tasks.deliver_webhook, "delay", remember("webhooks"))
    monkeypatch.setattr(tasks.send_notification_email, "delay", remember("emails"))
    return sent


def race(attempts: list[tuple]) -> list:
    """Run ``call(client)`` for each (user, call) in its own thread, all released at once by a barrier.

    Each thread signs in and uses its own connection, which it closes before the test's flush.
    """
    barrier = threading.Barrier(len(attempts))
    results: list = [None] * len(attempts)

    def attempt(index: int, user, call) -> None:
        try:
            client = PersonaClient().as_user(user)
            barrier.wait()
            results[index] = call(client)
        except Exception as exc:  # reported by the test, not lost in the thread
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i, *pair)) for i, pair in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def signing(approval_id: int, meaning: str):
    url = reverse("api:signature-list", args=[approval_id])
    body = {"decision": "approve", "meaning": meaning, "comment": "Reviewed.", "password": PASSWORD}
    return lambda client: client.post(url, body, format="json")


def outcome(response) -> tuple[int, str]:
    assert not isinstance(response, Exception), repr(response)
    return response.status_code, response.json().get("error", {}).get("code", "")


def request_events(action: str, approval_id: int):
    return AuditEvent.objects.filter(
        action=action, object_type="governance.approvalrequest", object_id=str(approval_id)
    )


def test_it_keeps_one_signature_from_twenty_simultaneous_attempts_by_one_signer(
    api, maya, victor, two_person_stages, quick_ready_version, queued
):
    """GIVEN a request whose validation stage needs two validators
    WHEN victor submits 20 signatures at the same moment
    THEN exactly one is stored; the other 19 are refused as already signed, each audited."""
    approval_id = request_approval(api, maya, quick_ready_version).json()["id"]

    results = race([(victor, signing(approval_id, "review"))] * SAME_SIGNER_ATTEMPTS)

    outcomes = sorted(outcome(response) for response in results)
    assert outcomes == [(201, "")] + [(403, "already_signed")] * (SAME_SIGNER_ATTEMPTS - 1)
    assert Signature.objects.filter(request_id=approval_id).count() == 1
    assert request_events("approval.signature_refused", approval_id).count() == SAME_SIGNER_ATTEMPTS - 1
    request = ApprovalRequest.objects.get(pk=approval_id)
    assert (request.status, request.current_stage_key) == ("pending", "validation")


def test_it_approves_exactly_once_when_the_last_signers_race(
    api, maya, victor, rita, admin_user, credit_risk, two_person_stages, quick_ready_version, queued
):
    """GIVEN a request past validation, whose final stage needs two of three eligible risk officers
    WHEN the three sign at the same moment
    THEN two signatures are stored, the third is refused as closed; the request turns approved once:
    one approval.approved event, one webhook delivery for it, and one queued send."""
    endpoint = notifications.webhook_create(
        actor=admin_user, url="https://hooks.example.com/approvals", events=["approval.approved"]
    )
    approval_id = request_approval(api, maya, quick_ready_version).json()["id"]
    vera = UserFactory(username="vera", role="validator", teams=[credit_risk])
    for validator in (victor, vera):
        assert sign(api, validator, approval_id, "review").status_code == 201
    officers = [rita] + [UserFactory(username=name, role="risk-officer") for name in ("rob", "ruth")]

    results = race([(officer, signing(approval_id, "approval")) for officer in officers])

    assert sorted(outcome(response) for response in results) == [
        (201, ""),
        (201, ""),
        (409, "request_closed"),
    ]
    request = ApprovalRequest.objects.get(pk=approval_id)
    assert request.status == "approved"
    assert Signature.objects.filter(request=request, stage_key="risk").count() == 2
    assert request_events("approval.approved", approval_id).count() == 1
    assert request_events("approval.stage_completed", approval_id).count() == 2
    (delivery,) = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert delivery.event_type == "approval.approved"
    assert queued["webhooks"] == [(delivery.pk,)]
    assert [args[0] for args in queued["emails"]].count("approval.approved") == 1
