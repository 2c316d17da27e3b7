"""Periodic review and tier-change pages: the second line works in the browser, the first line cannot."""

# ruff: noqa: F811  (fixtures imported from the workflow tests are used as test arguments)

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from registry.models import RegisteredModel
from registry.services import inventory
from tests.factories import PASSWORD
from tests.workflow.conftest import attach_evidence, tier1_model  # noqa: F401
from workflow.models import PeriodicReview

pytestmark = pytest.mark.django_db
LOW = {"materiality": "low", "complexity": "low", "reliance": "low", "regulatory_exposure": "low"}
MODEL_PAGE = reverse("model-detail", args=["credit-scoring"])


def as_user(client, user):
    client.logout()
    client.force_login(user)
    return client


def test_a_validator_opens_evidences_and_signs_a_review_in_the_browser(client, maya, victor, tier1_model):
    from tests.monitoring import factories

    version = factories.skops_version(maya, tier1_model)
    attach_evidence(maya, version, kinds=["data_review"])
    page = as_user(client, victor).get(MODEL_PAGE).content.decode()
    assert 'id="open-review"' in page

    opened = client.post(reverse("review-open", args=["credit-scoring"]), {"scope": "Annual review"})
    review = PeriodicReview.objects.get()
    assert opened["Location"] == reverse("review-detail", args=[review.pk])
    document = version.evidence.get()
    client.post(reverse("review-attach", args=[review.pk]), {"document": document.pk})
    assert list(review.documents.all()) == [document]

    wrong = client.post(
        reverse("review-complete", args=[review.pk]),
        {"conclusion": "satisfactory", "summary": "Holds.", "password": "nope"},
    )
    assert wrong.status_code == 401
    assert "The password is not correct" in wrong.content.decode()

    signed = client.post(
        reverse("review-complete", args=[review.pk]),
        {"conclusion": "satisfactory", "summary": "Holds.", "password": PASSWORD},
    )
    assert signed.status_code == 302
    detail = client.get(signed["Location"]).content.decode()
    assert "Victor" in detail
    assert "Satisfactory: the model remains fit for use" in detail
    assert RegisteredModel.objects.get(pk=tier1_model.pk).last_reviewed_on == timezone.now().date()


def test_the_first_line_sees_no_review_form_and_cannot_open_one(client, maya, tier1_model):
    page = as_user(client, maya).get(MODEL_PAGE).content.decode()
    assert 'id="periodic-reviews"' in page
    assert 'id="open-review"' not in page
    assert client.post(reverse("review-open", args=["credit-scoring"]), {"scope": ""}).status_code == 403
    assert not PeriodicReview.objects.exists()


def test_a_review_is_a_404_for_the_outsider(client, victor, olga, tier1_model):
    review = PeriodicReview.objects.create(model=tier1_model, opened_by=victor)
    assert as_user(client, olga).get(reverse("review-detail", args=[review.pk])).status_code == 404


def test_a_risk_officer_decides_a_pending_tier_change_on_the_model_page(client, maya, rita, tier1_model):
    change = inventory.model_update(actor=maya, model=tier1_model, tier_answers=LOW).pending_tier_change
    maya_page = as_user(client, maya).get(MODEL_PAGE).content.decode()
    assert 'id="pending-tier-change"' in maya_page
    assert 'id="tier-decision"' not in maya_page  # she asked: she does not decide

    page = as_user(client, rita).get(MODEL_PAGE).content.decode()
    assert 'id="tier-decision"' in page
    url = reverse("tier-change-decide", args=[change.pk, "accept"])
    assert client.post(url, {"reason": ""}).status_code == 302
    assert RegisteredModel.objects.get(pk=tier1_model.pk).risk_tier == 1  # no reason, no decision

    client.post(url, {"reason": "Pilot only."})

    assert RegisteredModel.objects.get(pk=tier1_model.pk).risk_tier == 3
    assert client.post(f"/tier-changes/{change.pk}/maybe/", {"reason": "?"}).status_code == 404
