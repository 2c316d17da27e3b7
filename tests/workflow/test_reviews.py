"""The review calendar: overdue reviews announced once per due date, by email to the owner and webhook."""

import datetime as dt

import pytest
from django.conf import settings
from django.core import mail

from tests.monitoring import factories
from tests.workflow.conftest import reviewed
from tests.workflow.helpers import events, move_model
from workflow import tasks
from workflow.models import ReviewNotice, WebhookDelivery
from workflow.services import notifications, reviews

pytestmark = pytest.mark.django_db


def backdate_review(actor, model, days: int):
    """Record the last review ``days`` ago, so the next one (12 months later) may already be due."""
    return reviewed(model, on=dt.date.today() - dt.timedelta(days=days))


def run_beat_task(capture) -> list[str]:
    with capture(execute=True):
        return tasks.mark_overdue_reviews.apply().get()


def test_it_runs_daily_from_beat():
    """GIVEN the beat schedule
    THEN the overdue-review task runs once a day."""
    entry = settings.CELERY_BEAT_SCHEDULE["governance-overdue-reviews"]

    assert entry["task"] == tasks.mark_overdue_reviews.name
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({6}, {0})


def test_it_announces_an_overdue_review_once_per_due_date(
    eager_tasks, django_capture_on_commit_callbacks, maya, admin_user, tier1_model, credit_risk
):
    """GIVEN a model whose review fell due yesterday, one not yet due and a retired overdue one
    WHEN the daily task runs three times, the last after the review date moved
    THEN the overdue model is announced (audit, email to its owner) on the first run and after the move only."""
    model = backdate_review(maya, tier1_model, days=366)
    factories.make_model(maya, credit_risk, name="not-due")
    retired = backdate_review(maya, factories.make_model(maya, credit_risk, name="old"), days=800)
    move_model(admin_user, retired, "retired")

    first = run_beat_task(django_capture_on_commit_callbacks)
    second = run_beat_task(django_capture_on_commit_callbacks)
    backdate_review(maya, model, days=380)
    third = run_beat_task(django_capture_on_commit_callbacks)

    assert (first, second, third) == (["credit-scoring"], [], ["credit-scoring"])
    assert ReviewNotice.objects.count() == 2
    assert [e.after["due_date"] for e in events("review.overdue")] == [
        n.due_date.isoformat() for n in ReviewNotice.objects.order_by("notified_at")
    ]
    assert [message.to for message in mail.outbox] == [["maya@example.com"], ["maya@example.com"]]
    assert mail.outbox[0].subject == "[Attest] review overdue: credit-scoring"
    assert f"due_date: {ReviewNotice.objects.earliest('notified_at').due_date}" in mail.outbox[0].body


def test_it_keeps_the_model_name_whole_in_the_subject(
    eager_tasks, django_capture_on_commit_callbacks, maya, credit_risk
):
    """GIVEN an overdue model whose name ends in 'v' (churn-dev)
    WHEN its review is announced
    THEN the email subject names churn-dev, not a trimmed 'churn-de'."""
    backdate_review(maya, factories.make_model(maya, credit_risk, name="churn-dev"), days=400)

    run_beat_task(django_capture_on_commit_callbacks)

    assert [message.subject for message in mail.outbox] == ["[Attest] review overdue: churn-dev"]


def test_it_announces_the_overdue_review_to_webhooks(maya, admin_user, tier1_model):
    """GIVEN an endpoint for review.overdue
    WHEN the service announces the overdue model
    THEN one delivery carries the model, its due date and owner."""
    notifications.webhook_create(
        actor=admin_user, url="https://hooks.example.com/", events=["review.overdue"]
    )
    model = backdate_review(maya, tier1_model, days=400)

    assert reviews.reviews_mark_overdue() == ["credit-scoring"]

    (delivery,) = WebhookDelivery.objects.all()
    assert delivery.payload["type"] == "review.overdue"
    assert delivery.payload["data"] == {
        "model": "credit-scoring",
        "due_date": model.next_review_due.isoformat(),
        "owner": "maya",
    }
