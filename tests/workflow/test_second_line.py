"""Second-line control of governance data: what the gate and the review calendar read cannot be changed by
the party it governs (SR 11-7 / SR 26-2: the first line builds and owns, the second line validates).

Personas: maya (ML engineer, credit-risk, the model's owner and submitter), victor (validator), rita (risk
officer), admin; olga is an ML engineer of team fraud.
"""

from __future__ import annotations

import datetime as dt

import pytest
import rfc8785
from django.urls import reverse
from django.utils import timezone

from audit import keys as signing_keys
from audit.models import AuditEvent
from registry.models import RegisteredModel, TierChange
from registry.services import inventory
from tests.factories import PASSWORD
from tests.monitoring import factories
from tests.workflow.conftest import HIGH_RISK, record_run, reviewed
from tests.workflow.helpers import approved_request, error, gate, move_model, policy_version
from workflow.models import PeriodicReview
from workflow.services import findings as finding_services
from workflow.services import reviews as review_services

pytestmark = pytest.mark.django_db
MODEL = reverse("api:model-detail", args=["credit-scoring"])
REVIEWS = reverse("api:review-list")
LOW = {"materiality": "low", "complexity": "low", "reliance": "low", "regulatory_exposure": "low"}


def refused(action: str = "model.change_refused") -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def ask_gate(api, user, version) -> dict:
    response = gate(api, user, version, "production")
    assert response.status_code == 200
    return response.json()


# --- fields the first line may not set ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"last_reviewed_on": "2099-01-01"}, "last_reviewed_on"),
        ({"valid_until": "2099-01-01"}, "valid_until"),
        ({"owner": "olga"}, "owner"),
        ({"review_frequency_months": 24}, "review_frequency_months"),
    ],
)
def test_the_first_line_cannot_move_what_governs_it(api, maya, olga, tier1_model, body, field):
    """GIVEN the model's own ML engineer
    WHEN she sets its review date, its validity, an owner from another team, or a longer review interval
    THEN 400 naming the field, nothing changes, and the refusal is audited."""
    before = RegisteredModel.objects.get(pk=tier1_model.pk)

    response = api.as_user(maya).patch(MODEL, body, format="json")

    assert response.status_code == 400, response.json()
    assert list(error(response)["fields"]) == [field]
    after = RegisteredModel.objects.get(pk=tier1_model.pk)
    assert (after.last_reviewed_on, after.valid_until, after.owner_id, after.review_frequency_months) == (
        before.last_reviewed_on,
        before.valid_until,
        before.owner_id,
        before.review_frequency_months,
    )
    [event] = refused()
    assert (event.actor_id, event.object_id) == (maya.pk, str(tier1_model.pk))
    assert field in event.after["refused"]


def test_a_shorter_review_interval_and_an_owner_from_the_team_are_allowed(api, maya, victor, tier1_model):
    response = api.as_user(maya).patch(
        MODEL, {"review_frequency_months": 6, "owner": "victor"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["review_frequency_months"], response.json()["owner"]) == (6, "victor")
    assert refused() == []


def test_findings_default_to_an_owner_who_can_see_the_model(maya, victor, olga, tier1_model):
    """GIVEN a model whose owner was set outside its team before the rule existed
    WHEN a finding is raised without an owner
    THEN it goes to who registered the model, not to the outsider who cannot see it."""
    RegisteredModel.objects.filter(pk=tier1_model.pk).update(owner=olga)
    tier1_model.refresh_from_db()

    finding = finding_services.finding_raise(actor=victor, model=tier1_model, severity="low", title="Naming")

    assert finding.owner == maya


# --- periodic reviews -----------------------------------------------------------------------------------


def open_review(api, user, scope="Annual review"):
    return api.as_user(user).post(REVIEWS, {"model": "credit-scoring", "scope": scope}, format="json")


def complete(api, user, review_id, **extra):
    body = {"conclusion": "satisfactory", "summary": "Performance and stability hold.", "password": PASSWORD}
    url = reverse("api:review-complete", args=[review_id])
    return api.as_user(user).post(url, body | extra, format="json")


def test_a_validators_signed_review_sets_the_review_date_and_reopens_an_overdue_gate(
    api, maya, victor, quick_ready_version
):
    """GIVEN an approved model whose review fell overdue (the gate is closed: review_overdue)
    WHEN victor opens a periodic review, attaches the memo, concludes and signs it with his password,
    granting validity for a year
    THEN last_reviewed_on is today, valid_until is set, the gate opens, and the signed record verifies."""
    version = quick_ready_version
    approved_request(version, "production", requester=maya)
    reviewed(version.model, on=timezone.now().date() - dt.timedelta(days=400))
    assert ask_gate(api, maya, version)["codes"] == ["review_overdue"]
    review_id = open_review(api, victor).json()["id"]
    memo = version.evidence.get(evidence_type_id="conceptual_soundness_memo")
    attach = api.as_user(victor).post(
        reverse("api:review-documents", args=[review_id]), {"document": memo.pk}, format="json"
    )
    assert attach.status_code == 200, attach.json()
    valid_until = (timezone.now() + dt.timedelta(days=365)).date()

    response = complete(api, victor, review_id, valid_until=valid_until.isoformat())

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["signer"], body["auth_method"]) == ("completed", "victor", "password")
    model = RegisteredModel.objects.get(pk=version.model_id)
    assert model.last_reviewed_on == timezone.now().date()
    assert model.valid_until == valid_until
    assert ask_gate(api, maya, version)["allowed"] is True
    review = PeriodicReview.objects.get(pk=review_id)
    assert bytes(review.payload) == rfc8785.dumps(review_services.signed_fields(review))
    signing_keys.public_keys()[review.key_id].verify(
        bytes.fromhex(review.server_signature), bytes(review.payload)
    )
    assert [d["sha256"] for d in body["documents"]] == [memo.sha256]
    actions = list(AuditEvent.objects.filter(action__startswith="review.").values_list("action", flat=True))
    assert actions == ["review.opened", "review.evidence_attached", "review.completed"]
    assert AuditEvent.objects.filter(action="model.reviewed", object_id=str(model.pk)).exists()


def test_the_first_line_cannot_open_or_sign_a_review_of_its_own_model(api, maya, victor, tier1_model):
    """GIVEN maya, the model's ML engineer, and victor made its owner
    THEN maya cannot open a review (403) and victor's signature is refused for segregation of duties (403,
    audited); the review date does not move."""
    assert open_review(api, maya).status_code == 403
    inventory.model_update(actor=maya, model=tier1_model, owner=victor)
    review_id = open_review(api, victor).json()["id"]

    response = complete(api, victor, review_id)

    assert response.status_code == 403
    assert error(response)["code"] == "segregation_of_duties"
    assert RegisteredModel.objects.get(pk=tier1_model.pk).last_reviewed_on is None
    assert refused("review.signature_refused")


def test_a_wrong_password_signs_nothing(api, victor, tier1_model):
    review_id = open_review(api, victor).json()["id"]

    response = complete(api, victor, review_id, password="not my password")

    assert response.status_code == 401
    assert PeriodicReview.objects.get(pk=review_id).status == "open"
    assert RegisteredModel.objects.get(pk=tier1_model.pk).last_reviewed_on is None
    assert refused("review.signature_refused")


def test_an_unsatisfactory_review_puts_a_model_in_production_under_review(
    api, admin_user, victor, tier1_model
):
    move_model(admin_user, tier1_model, "approved", "in_production")
    review_id = open_review(api, victor).json()["id"]

    response = complete(api, victor, review_id, conclusion="unsatisfactory", summary="AUC fell below 0.6.")

    assert response.status_code == 200, response.json()
    assert RegisteredModel.objects.get(pk=tier1_model.pk).status == "under_review"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"valid_until": "2000-01-01"}, "valid_until"),
        ({"summary": "  "}, "summary"),
        ({"conclusion": "unsatisfactory", "valid_until": "2099-01-01"}, "valid_until"),
    ],
)
def test_a_review_conclusion_is_checked_before_anything_is_signed(api, victor, tier1_model, extra, field):
    review_id = open_review(api, victor).json()["id"]

    response = complete(api, victor, review_id, **extra)

    assert response.status_code == 400
    assert list(error(response)["fields"]) == [field]
    assert PeriodicReview.objects.get(pk=review_id).status == "open"


def test_one_review_is_open_at_a_time(api, victor, rita, tier1_model):
    assert open_review(api, victor).status_code == 201
    response = open_review(api, rita)
    assert response.status_code == 409


# --- tier changes ---------------------------------------------------------------------------------------


def test_answers_that_lower_the_tier_wait_for_a_risk_officer(api, maya, rita, tier1_model):
    """GIVEN a tier-1 model
    WHEN maya re-answers the questionnaire as low risk
    THEN the tier stays 1 and a pending tier change says 3; maya cannot decide it; rita accepts it with a
    reason and the tier becomes 3, each step audited."""
    response = api.as_user(maya).patch(MODEL, {"tier_answers": LOW}, format="json")

    assert response.status_code == 200
    pending = response.json()["pending_tier_change"]
    assert (pending["current_tier"], pending["proposed_tier"]) == (1, 3)
    assert RegisteredModel.objects.get(pk=tier1_model.pk).risk_tier == 1
    accept = reverse("api:tier-change-accept", args=[pending["id"]])
    assert api.as_user(maya).post(accept, {"reason": "mine"}, format="json").status_code == 403
    assert api.as_user(rita).post(accept, {}, format="json").status_code == 400

    decided = api.as_user(rita).post(accept, {"reason": "Only used for a pilot now."}, format="json")

    assert decided.status_code == 200, decided.json()
    model = RegisteredModel.objects.get(pk=tier1_model.pk)
    assert (model.risk_tier, model.tier_answers) == (3, LOW)
    assert decided.json()["status"] == "accepted"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"model.tier_change_requested", "model.tier_change_accepted"} <= actions


def test_a_rejected_tier_change_keeps_the_tier(api, maya, rita, tier1_model):
    change = inventory.model_update(actor=maya, model=tier1_model, tier_answers=LOW).pending_tier_change

    response = api.as_user(rita).post(
        reverse("api:tier-change-reject", args=[change.pk]),
        {"reason": "Still decides credit."},
        format="json",
    )

    assert response.status_code == 200
    assert RegisteredModel.objects.get(pk=tier1_model.pk).risk_tier == 1
    assert TierChange.objects.get(pk=change.pk).status == "rejected"


def test_answers_that_keep_the_tier_supersede_a_pending_lower_one(maya, tier1_model):
    change = inventory.model_update(actor=maya, model=tier1_model, tier_answers=LOW).pending_tier_change

    inventory.model_update(actor=maya, model=tier1_model, tier_answers=HIGH_RISK)

    change.refresh_from_db()
    assert change.status == "rejected"
    assert change.reason.startswith("Superseded")
    assert RegisteredModel.objects.get(pk=tier1_model.pk).risk_tier == 1


def test_answers_that_raise_the_tier_apply_at_once(maya, credit_risk):
    model = factories.make_model(maya, credit_risk, name="churn")
    assert model.risk_tier == 3

    model = inventory.model_update(actor=maya, model=model, tier_answers=HIGH_RISK)

    assert (model.risk_tier, model.pending_tier_change) == (1, None)


# --- lifecycle ------------------------------------------------------------------------------------------


def test_a_draft_models_approval_request_is_refused_naming_its_state(api, maya, credit_risk):
    model = factories.make_model(maya, credit_risk, name="draft-model")
    version = factories.skops_version(maya, model)

    response = api.as_user(maya).post(
        reverse("api:approval-list"),
        {"model": "draft-model", "version": version.version, "environment": "production"},
        format="json",
    )

    assert response.status_code == 409
    assert error(response)["code"] == "invalid_transition"
    assert error(response)["details"]["current"] == "draft"


def test_a_model_sent_back_to_development_closes_its_gated_environments(
    api, maya, admin_user, quick_ready_version
):
    version = quick_ready_version
    approved_request(version, "production", requester=maya)
    assert ask_gate(api, maya, version)["allowed"] is True

    inventory.model_change_status(actor=maya, model=version.model, status="in_development", reason="rework")

    assert ask_gate(api, maya, version)["codes"] == ["model_not_validated"]


def test_a_model_under_review_leaves_review_only_through_a_validator_or_retirement(
    api, maya, admin_user, tier1_model
):
    move_model(admin_user, tier1_model, "approved", "in_production", "under_review")
    url = reverse("api:model-change-status", args=["credit-scoring"])

    assert api.as_user(maya).post(url, {"status": "in_development"}, format="json").status_code == 403
    assert api.as_user(maya).post(url, {"status": "retired"}, format="json").status_code == 200


# --- findings scoped to the version they concern -------------------------------------------------------


def test_a_failed_check_on_v7_does_not_close_v1s_gate(api, maya, victor, quick_ready_version):
    """GIVEN v1 approved for production, then a probe version v2 whose check fails (a high finding on v2)
    THEN v1's gate stays open and v2's would be blocked; a finding on the model as a whole (no version)
    blocks both; a policy declaring check findings model-wide blocks v1 again."""
    v1 = quick_ready_version
    approved_request(v1, "production", requester=maya)
    v2 = factories.skops_version(maya, v1.model, kind="boosted")
    run = record_run(maya, v2, "performance", outcome="fail")
    finding = finding_services.finding_from_check_run(run_id=run.pk)
    assert (finding.model_version, finding.severity) == (v2, "high")

    assert ask_gate(api, maya, v1)["allowed"] is True
    assert "blocking_finding" in ask_gate(api, maya, v2)["codes"]

    policy_version(tier=1, model_wide_findings=["check"])
    assert "blocking_finding" in ask_gate(api, maya, v1)["codes"]

    policy_version(tier=1, model_wide_findings=[])
    finding_services.finding_raise(actor=victor, model=v1.model, severity="high", title="Data leakage")
    assert "blocking_finding" in ask_gate(api, maya, v1)["codes"]
