"""The whole approval, over the API, with the demo personas through the three-stage tier-1 policy."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from workflow.models import Signature
from workflow.services.approvals import verify_signature

pytestmark = pytest.mark.django_db


def sign(api, user, approval_id, meaning, password, decision="approve", comment="Reviewed."):
    return api.as_user(user).post(
        reverse("api:signature-list", args=[approval_id]),
        {"decision": decision, "meaning": meaning, "comment": comment, "password": password},
        format="json",
    )


def test_it_runs_a_full_tier1_approval_then_opens_the_gate(
    api, maya, victor, rita, admin_user, password, ready_version, checked_runs
):
    """GIVEN a tier-1 version with passing checks and the required evidence
    WHEN maya requests production approval and victor, rita and admin sign their stages in order
    THEN the request is approved, each signature is bound to the evidence digest and server-signed,
    and the deployment gate opens for production."""
    assert {kind: run.outcome for kind, run in checked_runs.items()}.keys() == set(checked_runs)
    assert all(run.status == "succeeded" for run in checked_runs.values()), {
        k: r.error_message for k, r in checked_runs.items()
    }
    created = api.as_user(maya).post(
        reverse("api:approval-list"),
        {
            "model": "credit-scoring",
            "version": 1,
            "environment": "production",
            "justification": "First release.",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    approval = created.json()
    assert approval["current_stage"] == "validation"
    assert [stage["key"] for stage in approval["stages"]] == ["validation", "risk", "accountable"]
    gate = (
        api.as_user(maya)
        .get(reverse("api:gate"), {"model": "credit-scoring", "version": 1, "environment": "production"})
        .json()
    )
    assert gate["allowed"] is False
    assert "no_approval" in gate["codes"]

    for user, meaning in ((victor, "review"), (rita, "approval"), (admin_user, "responsibility")):
        response = sign(api, user, approval["id"], meaning, password)
        assert response.status_code == 201, (user.username, response.json())
        assert response.json()["evidence_digest"] == approval["evidence_digest"]
        assert response.json()["printed_name"] == user.printed_name

    final = api.as_user(rita).get(reverse("api:approval-detail", args=[approval["id"]])).json()
    assert final["status"] == "approved"
    assert final["expires_at"] is not None
    assert [s["meaning"] for s in final["signatures"]] == ["review", "approval", "responsibility"]
    assert all(verify_signature(signature) for signature in Signature.objects.all())
    gate = (
        api.as_user(maya)
        .get(reverse("api:gate"), {"model": "credit-scoring", "version": 1, "environment": "production"})
        .json()
    )
    assert gate == {**gate, "allowed": True, "reasons": [], "approval": approval["id"]}
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions.count("approval.signed") == 3
    assert actions.count("approval.stage_completed") == 3
    assert actions.count("approval.approved") == 1
