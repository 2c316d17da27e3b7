"""Managing a finding: comments, action plans and milestones, extensions decided by the second line,
attachments, the history read from the audit log, and the links to what the finding holds up."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from tests.factories import records as rows
from workflow import selectors
from workflow.models import ExtensionRequest, Finding, Notification
from workflow.services import finding_management as management

pytestmark = pytest.mark.django_db
PERSONAS = ("maya", "victor", "rita", "aaron", "admin_user", "olga")
TODAY = timezone.now().date()


@pytest.fixture
def people(maya, victor, rita, aaron, admin_user, olga):
    return {
        "maya": maya,
        "victor": victor,
        "rita": rita,
        "aaron": aaron,
        "admin_user": admin_user,
        "olga": olga,
    }


@pytest.fixture
def version(maya, credit_risk):
    """Version 1 of a tier-1 credit-risk model owned by maya (tier 1 blocks at high and above)."""
    model = rows.RegisteredModelFactory(
        name="credit-scoring", team=credit_risk, owner=maya, risk_tier=1, computed_tier=1
    )
    return rows.ModelVersionFactory(model=model, version=1)


def new_finding(version, victor, owner=None, severity="high") -> Finding:
    return rows.FindingFactory(
        model=version.model,
        model_version=version,
        severity=severity,
        owner=owner or version.model.owner,
        raised_by=victor,
        due_date=TODAY + dt.timedelta(days=30),
    )


def url(name: str, finding: Finding, *args) -> str:
    return reverse(f"api:{name}", args=[finding.pk, *args])


def finding_events(finding: Finding) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="governance.finding", object_id=str(finding.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


# --- the permission matrix ------------------------------------------------------------------------------
# Each operation: (how to prepare a fresh target, how to call it, status per persona). Prepared anew per
# persona, so that one persona's success does not change what the next one meets.


def _plan(finding, maya):
    return management.action_plan_create(
        actor=maya,
        finding=finding,
        owner=maya,
        description="Rebin the unstable features.",
        due_date=TODAY + dt.timedelta(days=20),
        milestones=[{"title": "Rebin", "due_date": TODAY + dt.timedelta(days=10)}],
    )


def _pending_extension(finding, maya):
    return management.extension_request(
        actor=maya,
        finding=finding,
        proposed_due_date=TODAY + dt.timedelta(days=60),
        reason="Data arrives late.",
    )


def _attachment(finding, maya):
    upload = SimpleUploadedFile("memo.md", b"# Rebinning memo\n")
    from registry import storage

    attachment, _ = management.finding_attachment_add(
        actor=maya, finding=finding, upload=storage.upload_from_file(upload, "memo.md")
    )
    return attachment


def _tick_target(finding, maya):
    plan = _plan(finding, maya)
    return plan, plan.milestones.get()


def _none(finding, maya):
    return None


FIRST_LINE_WRITES = {"maya": 201, "victor": 403, "rita": 403, "aaron": 403, "admin_user": 201, "olga": 404}
BOTH_LINES_WRITE = {"maya": 201, "victor": 201, "rita": 201, "aaron": 403, "admin_user": 201, "olga": 404}
EVERYONE_READS = {"maya": 200, "victor": 200, "rita": 200, "aaron": 200, "admin_user": 200, "olga": 404}
# operation: (prepare(finding, maya) -> target, call(api, finding, target), status per persona)
OPERATIONS = {
    "read the thread": (
        _none,
        lambda api, finding, _: api.get(url("finding-comment-list", finding)),
        EVERYONE_READS,
    ),
    "comment": (
        _none,
        lambda api, finding, _: api.post(
            url("finding-comment-list", finding), {"body": "**Seen.**"}, format="json"
        ),
        BOTH_LINES_WRITE,
    ),
    "write a plan": (
        _none,
        lambda api, finding, _: api.post(
            url("finding-action-plan-list", finding),
            {"owner": "maya", "description": "Rebin.", "due_date": str(TODAY + dt.timedelta(days=20))},
            format="json",
        ),
        FIRST_LINE_WRITES,
    ),
    "tick a milestone": (
        _tick_target,
        lambda api, finding, target: api.post(
            url("finding-action-plan-tick-milestone", finding, target[0].pk, target[1].pk),
            {"done": True},
            format="json",
        ),
        {**FIRST_LINE_WRITES, "maya": 200, "admin_user": 200},
    ),
    "request an extension": (
        _none,
        lambda api, finding, _: api.post(
            url("finding-extension-list", finding),
            {"proposed_due_date": str(TODAY + dt.timedelta(days=45)), "reason": "Waiting for data."},
            format="json",
        ),
        FIRST_LINE_WRITES,
    ),
    "approve an extension": (
        _pending_extension,
        lambda api, finding, extension: api.post(
            url("finding-extension-decide", finding, extension.pk), {"decision": "approve"}, format="json"
        ),
        # maya requested it and owns the finding; the auditor reads only; the outsider sees nothing
        {"maya": 403, "victor": 200, "rita": 200, "aaron": 403, "admin_user": 200, "olga": 404},
    ),
    "upload": (
        _none,
        lambda api, finding, _: api.post(
            url("finding-attachment-list", finding),
            {"file": SimpleUploadedFile("notes.txt", b"rebinning notes")},
            format="multipart",
        ),
        BOTH_LINES_WRITE,
    ),
    "download": (
        _attachment,
        lambda api, finding, attachment: api.get(url("finding-attachment-download", finding, attachment.pk)),
        EVERYONE_READS,
    ),
}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_permission_matrix_of_managing_a_finding(operation, api, people, version):
    """GIVEN a high finding on maya's credit-risk model, raised by victor and owned by maya
    WHEN each persona tries the operation (on a fresh finding each)
    THEN the first line plans and requests extensions, both lines comment and upload, only the independent
    second line decides an extension, the auditor only reads, the outsider is told nothing exists;
    a refused attempt writes no audit event; a download returns the file's bytes."""
    prepare, call, expected = OPERATIONS[operation]
    answered = {}
    for persona in PERSONAS:
        finding = new_finding(version, people["victor"])
        target = prepare(finding, people["maya"])
        before = finding_events(finding)
        response = call(api.as_user(people[persona]), finding, target)
        answered[persona] = response.status_code
        if response.status_code >= 400:
            assert "error" in response.json(), response.content
            assert finding_events(finding) == before
        elif operation == "download":
            assert b"".join(response.streaming_content) == b"# Rebinning memo\n"
        elif response.request["REQUEST_METHOD"] == "POST":
            assert len(finding_events(finding)) == len(before) + 1
    assert answered == expected


# --- the extension rule -----------------------------------------------------------------------------------


def test_an_extension_is_never_decided_by_the_requester_or_the_party_it_binds(
    api, maya, victor, rita, version
):
    """GIVEN a finding owned by victor (a validator may own one), who requests an extension
    WHEN victor approves it himself, maya (the model's owner, first line) approves it, rita rejects it
    without a reason, then approves it
    THEN 403 naming the requester, 403, 400 naming the comment, and 200: the due date moves and the
    request and decision are audited against the finding."""
    finding = new_finding(version, victor, owner=victor)
    proposed = TODAY + dt.timedelta(days=90)
    requested = api.as_user(victor).post(
        url("finding-extension-list", finding),
        {"proposed_due_date": str(proposed), "reason": "Vendor fix."},
        format="json",
    )
    assert requested.status_code == 201, requested.json()
    decide = url("finding-extension-decide", finding, requested.json()["id"])
    # the second line who may decide is told; victor (requester, owner) and maya (model owner) are not
    waiting = Notification.objects.filter(kind="extension_requested", object_id=str(finding.pk))
    assert sorted(waiting.values_list("recipient__username", flat=True)) == ["rita"]

    self_approved = api.as_user(victor).post(decide, {"decision": "approve"}, format="json")
    assert self_approved.status_code == 403
    assert "requester" in self_approved.json()["error"]["message"]
    assert api.as_user(maya).post(decide, {"decision": "approve"}, format="json").status_code == 403
    bare_reject = api.as_user(rita).post(decide, {"decision": "reject"}, format="json")
    assert (bare_reject.status_code, list(bare_reject.json()["error"]["fields"])) == (400, ["comment"])

    approved = api.as_user(rita).post(decide, {"decision": "approve", "comment": "Agreed."}, format="json")

    assert (approved.status_code, approved.json()["status"], approved.json()["decided_by"]) == (
        200,
        "approved",
        "rita",
    )
    finding.refresh_from_db()
    assert finding.due_date == proposed
    told = Notification.objects.get(kind="extension_decided", object_id=str(finding.pk))
    assert (told.recipient, "approved by rita" in told.title) == (victor, True)
    decision = AuditEvent.objects.get(action="finding.extension_approved")
    assert (decision.before["due_date"], decision.after["due_date"]) == (
        str(TODAY + dt.timedelta(days=30)),
        str(proposed),
    )
    assert finding_events(finding)[-2:] == ["finding.extension_requested", "finding.extension_approved"]
    again = api.as_user(rita).post(decide, {"decision": "reject", "comment": "No."}, format="json")
    assert again.status_code == 409


def test_bad_input_is_a_4xx_naming_the_field_and_writes_nothing(api, maya, victor, version):
    """GIVEN an open finding due in 30 days
    WHEN maya sends a plan whose milestone falls after the plan, a plan for an unknown owner, an extension
    to an earlier date, a second extension while one is pending, and an empty comment
    THEN 400 naming milestones.0.due_date, owner, proposed_due_date; 409; 400 naming body; only the
    first extension is recorded."""
    finding = new_finding(version, victor)
    api.as_user(maya)
    late_milestone = api.post(
        url("finding-action-plan-list", finding),
        {
            "owner": "maya",
            "description": "Rebin.",
            "due_date": str(TODAY + dt.timedelta(days=10)),
            "milestones": [{"title": "Rebin", "due_date": str(TODAY + dt.timedelta(days=11))}],
        },
        format="json",
    )
    unknown_owner = api.post(
        url("finding-action-plan-list", finding),
        {"owner": "nobody", "description": "Rebin.", "due_date": str(TODAY + dt.timedelta(days=10))},
        format="json",
    )
    earlier = api.post(
        url("finding-extension-list", finding),
        {"proposed_due_date": str(TODAY + dt.timedelta(days=5)), "reason": "x"},
        format="json",
    )
    first = api.post(
        url("finding-extension-list", finding),
        {"proposed_due_date": str(TODAY + dt.timedelta(days=50)), "reason": "Data late."},
        format="json",
    )
    second = api.post(
        url("finding-extension-list", finding),
        {"proposed_due_date": str(TODAY + dt.timedelta(days=70)), "reason": "Still late."},
        format="json",
    )
    empty = api.post(url("finding-comment-list", finding), {"body": "   "}, format="json")

    def fields(response):
        return (response.status_code, list(response.json()["error"]["fields"]))

    assert fields(late_milestone) == (400, ["milestones.0.due_date"])
    assert fields(unknown_owner) == (400, ["owner"])
    assert fields(earlier) == (400, ["proposed_due_date"])
    assert first.status_code == 201
    assert second.status_code == 409
    assert fields(empty) == (400, ["body"])
    assert ExtensionRequest.objects.filter(finding=finding).count() == 1
    assert finding_events(finding) == ["finding.extension_requested"]


def test_every_change_is_in_the_history_and_the_links_name_what_the_finding_holds_up(
    client, api, maya, victor, rita, aaron, version
):
    """GIVEN a high finding on v1 of a tier-1 model with a pending production approval of v1
    WHEN maya comments, plans, ticks a milestone, attaches a file and gets an extension approved by rita,
    then remediates it and victor closes it
    THEN the finding's history lists each change once, in order; the auditor's page shows it all without
    a single form; the approval page links the finding while it is open; nothing more is added once closed."""
    from workflow.services import findings as finding_services

    approval = rows.ApprovalRequestFactory(model_version=version)
    finding = new_finding(version, victor)
    links = selectors.finding_links(user=maya, finding=finding)
    assert (links["blocking"], [v.version for v in links["versions"]], links["approvals"]) == (
        True,
        [1],
        [approval],
    )
    assert selectors.approval_blocking_findings(user=maya, request=approval) == [finding]

    management.finding_comment_add(
        actor=maya, finding=finding, body="Working on it: see [memo](https://example.com)."
    )
    plan = _plan(finding, maya)
    management.milestone_set_done(actor=maya, milestone=plan.milestones.get(), done=True)
    management.milestone_set_done(
        actor=maya, milestone=plan.milestones.get(), done=True
    )  # no change: no event
    _attachment(finding, maya)
    extension = _pending_extension(finding, maya)
    management.extension_decide(actor=rita, extension=extension, approve=True)
    finding_services.finding_change_status(
        actor=maya, finding=finding, status="remediated", resolution="Rebinned."
    )
    finding_services.finding_change_status(actor=victor, finding=finding, status="closed")

    assert [entry["action"] for entry in _page_history(client, aaron, finding)] == [
        "finding.commented",
        "finding.plan_created",
        "finding.milestone_changed",
        "finding.attachment_added",
        "finding.extension_requested",
        "finding.extension_approved",
        "finding.changed",
        "finding.changed",
    ]
    page = client.get(reverse("finding-detail", args=[finding.pk]))
    html = page.content.decode()
    assert 'href="https://example.com" rel="noopener noreferrer nofollow">memo</a>' in html
    assert "memo.md" in html
    assert "Mark done" not in html
    assert "Add comment" not in html
    assert selectors.approval_blocking_findings(user=maya, request=approval) == []
    refused = api.as_user(maya).post(url("finding-comment-list", finding), {"body": "late"}, format="json")
    assert refused.status_code == 409


def _page_history(client, user, finding):
    client.force_login(user)
    response = client.get(reverse("finding-detail", args=[finding.pk]))
    assert response.status_code == 200
    return response.context["history"]


def test_the_pages_refuse_what_the_services_refuse(client, maya, victor, aaron, olga, version):
    """GIVEN an open finding with maya's pending extension
    WHEN the auditor posts a comment, the outsider opens the finding, maya opens the approval of her own
    extension and victor rejects it on the confirmation page without, then with, a reason
    THEN 403 with the refusal said, 404, 403, 400 naming the comment, then a redirect and the rejection
    recorded; once past its due date the page marks the finding overdue."""
    finding = new_finding(version, victor)
    extension = _pending_extension(finding, maya)
    decide = reverse("finding-extension-decide", args=[finding.pk, extension.pk, "reject"])

    client.force_login(aaron)
    refused = client.post(reverse("finding-comment-add", args=[finding.pk]), {"body": "Looks fine."})
    assert refused.status_code == 403
    assert "first and second line" in refused.content.decode()
    client.force_login(olga)
    assert client.get(reverse("finding-detail", args=[finding.pk])).status_code == 404
    client.force_login(maya)
    assert client.get(decide).status_code == 403
    client.force_login(victor)
    assert client.get(decide).status_code == 200
    bare = client.post(decide, {"decision": "reject", "comment": ""})
    assert (bare.status_code, list(bare.context["form"].errors)) == (400, ["comment"])
    rejected = client.post(decide, {"decision": "reject", "comment": "Fix it on time."})
    assert rejected.status_code == 302
    extension.refresh_from_db()
    assert (extension.status, extension.decided_by) == ("rejected", victor)
    assert finding_events(finding)[-1] == "finding.extension_rejected"
    Finding.objects.filter(pk=finding.pk).update(due_date=TODAY - dt.timedelta(days=1))
    overdue = client.get(reverse("finding-detail", args=[finding.pk]))
    assert overdue.context["overdue"] is True
    assert '<span class="badge bad">overdue</span>' in overdue.content.decode()
