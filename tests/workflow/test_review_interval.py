"""The review calendar follows the tier's policy: a model is reviewed at least as often as its policy asks
(tier 1 every 12 months by default, tier 3 every 36), more often when its own frequency says so."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import User
from registry.services import inventory
from tests.monitoring import factories
from tests.workflow.conftest import reviewed as record_review
from tests.workflow.helpers import events, move_model, policy_version
from workflow.services import reviews

pytestmark = pytest.mark.django_db
LAST_REVIEW = dt.date(2026, 1, 15)


def reviewed(actor, model, **fields):
    """Set ``fields`` (a longer own interval is a second-line change: an administrator makes it) and record
    a periodic review completed on LAST_REVIEW."""
    if fields:
        editor = User.objects.filter(is_superuser=True).first() or actor
        model = inventory.model_update(actor=editor, model=model, **fields)
    return record_review(model, on=LAST_REVIEW)


def test_the_policy_shortens_a_longer_own_frequency(maya, admin_user, tier1_model):
    """GIVEN a tier-1 model (policy: every 12 months) whose own frequency says every 24 months
    THEN its next review falls due 12 months after the last one."""
    model = reviewed(maya, tier1_model, review_frequency_months=24)

    assert model.next_review_due == dt.date(2027, 1, 15)


def test_a_shorter_own_frequency_stands(maya, tier1_model):
    """GIVEN a tier-1 model reviewed every 6 months by its own schedule
    THEN its next review falls due 6 months after the last one."""
    model = reviewed(maya, tier1_model, review_frequency_months=6)

    assert model.next_review_due == dt.date(2026, 7, 15)


def test_a_new_policy_interval_reschedules_the_tier_s_models_with_an_audit_event(
    maya, admin_user, tier1_model, credit_risk
):
    """GIVEN a tier-1 model, a retired tier-1 model and a tier-3 model, all last reviewed on 2026-01-15
    WHEN a new tier-1 policy version asks for a review every 6 months
    THEN only the live tier-1 model moves to 2026-07-15, with a model.review_rescheduled event naming the
    policy version; the overdue task then announces it once that date has passed."""
    model = reviewed(maya, tier1_model)
    retired = move_model(
        admin_user,
        reviewed(maya, factories.make_model(maya, credit_risk, name="old-scorecard")),
        "retired",
    )
    retired.__class__.objects.filter(pk=retired.pk).update(risk_tier=1)
    tier3 = reviewed(maya, factories.make_model(maya, credit_risk, name="churn"))
    tier3_due = tier3.next_review_due

    policy = policy_version(tier=1, review_frequency_months=6)

    model.refresh_from_db()
    retired.refresh_from_db()
    tier3.refresh_from_db()
    assert model.next_review_due == dt.date(2026, 7, 15)
    assert retired.next_review_due == dt.date(2027, 1, 15)
    assert tier3.next_review_due == tier3_due == dt.date(2027, 1, 15)  # own 12 months, policy 36
    [event] = events("model.review_rescheduled")
    assert (event.object_id, event.before, event.after) == (
        str(model.pk),
        {"next_review_due": "2027-01-15"},
        {"next_review_due": "2026-07-15"},
    )
    assert f"policy v{policy.version}" in event.reason
    assert reviews.reviews_mark_overdue(today=dt.date(2026, 7, 16)) == ["credit-scoring"]


def test_a_policy_version_that_keeps_the_interval_moves_nothing(maya, tier1_model):
    """GIVEN a reviewed tier-1 model
    WHEN a new tier-1 policy version changes something else (approval validity)
    THEN no review date moves and no reschedule event is written."""
    reviewed(maya, tier1_model)

    policy_version(tier=1, approval_valid_months=6)

    tier1_model.refresh_from_db()
    assert tier1_model.next_review_due == dt.date(2027, 1, 15)
    assert events("model.review_rescheduled") == []


def test_a_never_reviewed_model_counts_from_its_registration(maya, tier1_model):
    """GIVEN a tier-1 model registered eleven months ago and never reviewed (due one month from now)
    WHEN its description is edited, then the tier-1 policy asks for a review every 6 months
    THEN the edit leaves the date alone and the policy brings it forward to registration + 6 months
    (it does not restart the count from today)."""
    registered = timezone.now() - dt.timedelta(days=335)
    tier1_model.__class__.objects.filter(pk=tier1_model.pk).update(created_at=registered)
    tier1_model.refresh_from_db()
    model = inventory.model_update(actor=maya, model=tier1_model, description="Scores retail applicants.")
    first_due = inventory._add_months(registered.date(), 12)
    assert model.next_review_due == first_due

    policy_version(tier=1, review_frequency_months=6)

    model.refresh_from_db()
    assert model.next_review_due == inventory._add_months(registered.date(), 6)
    assert model.next_review_due < timezone.localdate()
