"""Notifications and approval logistics: who is told what (and only they), the daily digest, delegating a
stage under the segregation-of-duty rules, stage due dates and reminders, and a production approval that
covers staging at the gate and on the version page."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from registry.models import RegisteredModel
from tests.factories import UserFactory, role_group
from tests.workflow.helpers import approved_request, error, events, gate, policy_version, sign
from workflow.models import Notification, NotificationKind
from workflow.selectors import approvals_overdue
from workflow.services import approval_logistics, approvals, findings, inbox

pytestmark = pytest.mark.django_db
NOTIFICATIONS = reverse("api:notification-list")


def told(kind: str) -> set[str]:
    return set(Notification.objects.filter(kind=kind).values_list("recipient__username", flat=True))


@pytest.fixture
def people(maya, victor, rita, aaron, admin_user, olga, fraud):
    """The personas, and a validator of another team who must never hear of credit-risk's approvals."""
    vera = UserFactory(username="vera", role="validator", teams=[fraud])
    return {
        "maya": maya,
        "victor": victor,
        "rita": rita,
        "aaron": aaron,
        "admin": admin_user,
        "olga": olga,
        "vera": vera,
    }


def test_each_event_notifies_exactly_the_people_it_concerns_and_each_reads_only_their_own(
    api, client, people, quick_ready_version
):
    """GIVEN a tier-1 production request by maya (requester, submitter and owner)
    WHEN it is requested, its validation is signed, and a finding is raised
    THEN 'approval waiting' reaches victor only for validation, then rita only for the risk stage; the
    finding reaches its owner; nobody else (not the requester, the auditor, the outsider, the other
    team's validator); each inbox (API and page) shows its owner's notifications only, and reading them
    is the owner's alone."""
    maya, victor, rita = people["maya"], people["victor"], people["rita"]
    request = approvals.approval_request(actor=maya, version=quick_ready_version, environment="production")
    assert told(NotificationKind.APPROVAL_WAITING) == {"victor"}

    assert sign(api, victor, request.pk, "review").status_code == 201
    waiting = Notification.objects.filter(kind=NotificationKind.APPROVAL_WAITING, recipient=rita).get()
    assert told(NotificationKind.APPROVAL_WAITING) == {"victor", "rita"}
    assert waiting.link == reverse("approval-detail", args=[request.pk])

    finding = findings.finding_raise(
        actor=rita, model=quick_ready_version.model, severity="low", title="Document the cut-off"
    )
    assert told(NotificationKind.FINDING_ASSIGNED) == {finding.owner.username} == {"maya"}

    # the API lists one's own, never another's, whatever the role (an administrator neither)
    for name, person in people.items():
        listed = api.as_user(person).get(NOTIFICATIONS).json()["results"]
        assert {item["id"] for item in listed} == set(
            Notification.objects.filter(recipient=person).values_list("pk", flat=True)
        ), name
    for name in ("victor", "admin", "aaron", "olga"):
        assert api.as_user(people[name]).get(f"{NOTIFICATIONS}{waiting.pk}/").status_code == 404, name
        assert api.as_user(people[name]).post(f"{NOTIFICATIONS}{waiting.pk}/read/").status_code == 404, name
    waiting.refresh_from_db()
    assert waiting.read_at is None

    # the page: the badge counts rita's unread, the inbox lists hers, and marking read is hers to do
    client.force_login(rita)
    page = client.get(reverse("notification-list")).content.decode()
    assert f"notification-{waiting.pk}" in page
    assert 'id="unread-count"' in page
    assert not re.search(rf'id="notification-(?!{waiting.pk}")', page)
    opened = client.post(reverse("notification-read", args=[waiting.pk]), {"open": "1"})
    assert opened.status_code == 302
    assert opened["Location"] == waiting.link
    waiting.refresh_from_db()
    assert waiting.read_at is not None
    assert api.as_user(rita).get(NOTIFICATIONS, {"unread": "true"}).json()["results"] == []
    client.force_login(maya)
    assert client.post(reverse("notification-read", args=[waiting.pk])).status_code == 404
    marked = api.as_user(maya).post(f"{NOTIFICATIONS}read-all/").json()["marked"]
    assert marked == 1 == Notification.objects.filter(recipient=maya, read_at__isnull=False).count()


def test_the_digest_goes_once_a_day_to_people_with_unread_notifications(settings, victor, rita, maya):
    """GIVEN unread notifications for victor and rita, and none for maya
    WHEN the digest runs twice in a day, then the next day
    THEN one e-mail each the first time, none the second (the command neither), and the next day one
    more for whoever still has unread ones."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    today = timezone.now().astimezone(dt.UTC).replace(hour=0, minute=30, second=0, microsecond=0)
    now = today - dt.timedelta(days=1)  # yesterday, so that the command (run now) falls on "the next day"
    inbox.notification_send(
        recipients=[victor, rita], kind=NotificationKind.REVIEW_DUE, title="Review X", link="/x/"
    )
    inbox.notification_send(recipients=[victor], kind=NotificationKind.FINDING_DUE, title="Finding Y")

    assert sorted(inbox.digests_send(now=now)) == ["rita", "victor"]
    assert sorted(message.to[0] for message in mail.outbox) == ["rita@example.com", "victor@example.com"]
    victor_mail = next(message for message in mail.outbox if message.to == ["victor@example.com"])
    assert victor_mail.subject == "[Attest] 2 unread notifications"
    assert "Review X" in victor_mail.body
    assert "Finding Y" in victor_mail.body

    assert inbox.digests_send(now=now + dt.timedelta(hours=16)) == []
    inbox.notifications_mark_read(actor=rita)
    assert inbox.digests_send(now=now + dt.timedelta(days=1)) == ["victor"]
    assert len(mail.outbox) == 3
    call_command("send_notification_digests", stdout=io.StringIO())  # today's went: nothing more
    assert len(mail.outbox) == 3
    assert len(events("notification.digest_sent")) == 3


def test_a_stage_is_delegated_only_to_someone_who_may_sign_it_and_the_delegate_signs(
    api, people, credit_risk, quick_ready_version
):
    """GIVEN a tier-1 production request; riley (validator and risk officer) signs validation
    WHEN rita hands her risk signature to: maya (the submitter, given the risk role), riley (already
    signed), victor (no risk role), herself, then rob (a risk officer who may sign)
    THEN each of the first is refused with a 400 naming the delegate and the rule, audited; rob is
    assigned and told; rita may no longer sign the stage, rob may; victor cannot delegate a signature
    that is not his."""
    maya, rita = people["maya"], people["rita"]
    riley = UserFactory(username="riley", role="validator", teams=[credit_risk])
    riley.groups.add(role_group("risk-officer"))
    rob = UserFactory(username="rob", role="risk-officer", teams=[credit_risk])
    maya.groups.add(role_group("risk-officer"))
    request = approvals.approval_request(actor=maya, version=quick_ready_version, environment="production")
    assert sign(api, riley, request.pk, "review").status_code == 201
    url = reverse("api:approval-delegate", args=[request.pk])

    def delegate(actor, to, stage="risk"):
        return api.as_user(actor).post(
            url, {"stage": stage, "delegate": to, "reason": "On leave."}, format="json"
        )

    refused = {to: delegate(rita, to) for to in ("maya", "riley", "victor", "rita")}
    codes = {to: (response.status_code, error(response)["code"]) for to, response in refused.items()}
    assert codes == {
        "maya": (400, "segregation_of_duties"),
        "riley": (400, "already_signed"),
        "victor": (400, "wrong_role"),
        "rita": (400, "self_delegation"),
    }
    assert "requester" in error(refused["maya"])["message"]
    assert "delegate" in error(refused["maya"])["fields"]
    assert delegate(people["victor"], "rob").status_code == 403  # not his signature to give
    assert len(events("approval.assignment_refused")) == 5

    assert delegate(rita, "rob").status_code == 201
    assert told(NotificationKind.APPROVAL_DELEGATED) == {"rob"}
    assert [event.after["assignee"] for event in events("approval.stage_delegated")] == ["rob"]
    assert error(sign(api, rita, request.pk, "approval"))["code"] == "stage_delegated"
    assert sign(api, rob, request.pk, "approval").status_code == 201
    request.refresh_from_db()
    assert request.current_stage_key == "accountable"

    # an administrator reassigns the accountable stage; nobody else may
    ada = UserFactory(username="ada", role="admin", teams=[credit_risk])
    reassign = reverse("api:approval-reassign", args=[request.pk])
    body = {"stage": "accountable", "assignee": "ada", "replaces": "admin", "reason": "Admin is away."}
    assert api.as_user(rita).post(reassign, body, format="json").status_code == 403
    wrong = api.as_user(people["admin"]).post(reassign, {**body, "assignee": "rob"}, format="json")
    assert (wrong.status_code, error(wrong)["code"]) == (400, "wrong_role")
    assert api.as_user(people["admin"]).post(reassign, body, format="json").status_code == 201
    assert error(sign(api, people["admin"], request.pk, "responsibility"))["code"] == "stage_delegated"
    assert sign(api, ada, request.pk, "responsibility").status_code == 201


def test_stage_due_dates_default_validate_their_range_and_remind_once_a_day(
    api, victor, maya, quick_ready_version
):
    """GIVEN the shipped tier-1 policy (no due_days: 5 days per stage)
    WHEN a request opens and the reminder job runs near and after the due date, twice each time
    THEN the open stage is due 5 days after it opened; victor is reminded once that day it is due and
    once a day once overdue; the request is listed as overdue; and a policy's due_days must be 1-90."""
    for wrong in (0, 91, "7", True):
        stages = [{**stage, "due_days": wrong} for stage in policy_version().stages]
        with pytest.raises(ValidationError) as refusal:
            policy_version(stages=stages)
        assert "stages[0].due_days" in refusal.value.message_dict

    request = approvals.approval_request(actor=maya, version=quick_ready_version, environment="production")
    assert request.stage_due_at == request.requested_at + dt.timedelta(days=5)
    body = api.as_user(victor).get(reverse("api:approval-detail", args=[request.pk])).json()
    assert body["stages"][0]["due_days"] == 5
    assert body["stage_due_at"] is not None

    today = timezone.now().astimezone(dt.UTC).date()
    findings.finding_raise(
        actor=victor,
        model=request.model_version.model,
        severity="low",
        title="Tidy",
        due_date=today + dt.timedelta(days=3),
    )
    RegisteredModel.objects.filter(pk=request.model_version.model_id).update(
        next_review_due=today + dt.timedelta(days=10)
    )
    approval_logistics.reminders_send()
    due = request.stage_due_at
    before = [due - dt.timedelta(hours=12), due - dt.timedelta(hours=11)]
    after = [due + dt.timedelta(hours=1), due + dt.timedelta(hours=2), due + dt.timedelta(hours=25)]
    for now in [*before, *before, *after, *after]:  # every run twice: the second adds nothing
        approval_logistics.reminders_send(now=now)
    days = lambda times: len({now.astimezone(dt.UTC).date() for now in times})  # noqa: E731
    assert told(NotificationKind.STAGE_DUE) == told(NotificationKind.STAGE_OVERDUE) == {"victor"}
    assert Notification.objects.filter(kind=NotificationKind.STAGE_DUE).count() == days(before)
    assert Notification.objects.filter(kind=NotificationKind.STAGE_OVERDUE).count() == days(after)
    # a finding due within a week and a review due within a month: their owner, once each
    for kind in (NotificationKind.FINDING_DUE, NotificationKind.REVIEW_DUE):
        assert list(Notification.objects.filter(kind=kind).values_list("recipient__username", flat=True)) == [
            "maya"
        ]
    assert list(approvals_overdue(user=victor, now=due + dt.timedelta(hours=1))) == [request]
    assert list(approvals_overdue(user=victor, now=due - dt.timedelta(hours=1))) == []


def test_a_production_approval_covers_staging_by_policy_and_the_version_page_shows_what_the_gate_says(
    api, client, maya, rita, quick_ready_version
):
    """GIVEN a production approval of a tier-1 version
    WHEN staging is asked before and after the policy says production covers staging
    THEN refused, then allowed on the production approval; a promotion the policy's stages do not
    support is refused; and the version page's row per environment equals the gate API's answer."""
    for wrong, field in (({"staging": ["production"]}, "staging"), ({"production": ["qa"]}, "production")):
        with pytest.raises(ValidationError) as refusal:
            policy_version(environment_promotions=wrong)
        assert f"environment_promotions.{field}" in refusal.value.message_dict

    approval = approved_request(quick_ready_version, "production", requester=maya)
    assert gate(api, maya, quick_ready_version, "staging").json()["codes"] == ["no_approval"]
    policy_version(environment_promotions={"production": ["staging"]})
    staging = gate(api, maya, quick_ready_version, "staging").json()
    assert (staging["allowed"], staging["approval"], staging["approval_environment"]) == (
        True,
        approval.pk,
        "production",
    )

    client.force_login(rita)
    page = client.get(
        reverse("model-version-detail", args=[quick_ready_version.model.name, quick_ready_version.version])
    ).content.decode()
    rows = {
        environment: (allowed == "true", int(pk) if pk else None)
        for environment, allowed, pk in re.findall(
            r'data-environment="([^"]+)" data-allowed="(true|false)" data-approval="(\d*)"', page
        )
    }
    assert set(rows) == {"staging", "production"}
    for environment, shown in rows.items():
        answer = gate(api, rita, quick_ready_version, environment).json()
        assert shown == (answer["allowed"], answer["approval"]), environment
    assert "covers staging by policy" in page
