"""A finding managed to closure in the browser: the first line discusses and plans, the second line decides
the extension and closes. Screenshots go under var/screenshots/ (``finding-*``)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, screenshot, sign_in
from tests.factories import PASSWORD, TeamFactory, UserFactory
from tests.factories import records as rows
from workflow.models import Finding

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_finding_is_managed_to_closure(page, shared_media, tmp_path):
    """GIVEN a high finding on v1 of maya's tier-1 model, raised by victor, with a pending approval of v1
    WHEN maya comments, writes a plan with a milestone, ticks it, attaches a memo and asks for more time;
    rita approves the extension after a confirmation; maya marks it remediated; victor closes it
    THEN the page shows each step and the history lists them in order; the approval page links the finding
    while it blocks; once closed nothing more is offered and the due date is the extended one."""
    team = TeamFactory(name="credit-risk", title="Credit Risk Modelling")
    maya = UserFactory(username="maya", role="ml-engineer", teams=[team], first_name="Maya")
    victor = UserFactory(username="victor", role="validator", teams=[team], first_name="Victor")
    UserFactory(username="rita", role="risk-officer", teams=[team], first_name="Rita")
    model = rows.RegisteredModelFactory(
        name="credit-scoring", team=team, owner=maya, risk_tier=1, computed_tier=1
    )
    version = rows.ModelVersionFactory(model=model, version=1)
    approval = rows.ApprovalRequestFactory(model_version=version)
    today = timezone.now().date()
    finding = rows.FindingFactory(
        model=model,
        model_version=version,
        severity="high",
        title="PSI bins unstable for age",
        owner=maya,
        raised_by=victor,
        due_date=today + dt.timedelta(days=30),
    )
    extended = today + dt.timedelta(days=75)
    memo = tmp_path / "rebinning-memo.md"
    memo.write_text("# Rebinning\n\nQuantile bins, fixed edges.\n")
    detail = f"/findings/{finding.pk}/"

    # The approval page names the finding that blocks it.
    sign_in(page, "maya", PASSWORD)
    page.goto(f"/approvals/{approval.pk}/")
    expect(page.locator("#blocking-findings")).to_contain_text("PSI bins unstable for age")
    page.locator("#blocking-findings").get_by_role("link", name=f"Finding #{finding.pk}").click()
    expect(page.locator("#finding-blocking")).to_contain_text("Blocking")

    # First line: comment (Markdown), plan with a milestone, tick it, attach a memo, ask for more time.
    page.locator("#comment-body").fill("Rebinning **age** with quantile edges.")
    page.get_by_role("button", name="Add comment").click()
    expect(page.locator(".comment-body strong")).to_have_text("age")
    page.locator("#plan-description").fill("Replace the equal-width bins of age with fixed quantile edges.")
    page.locator("#plan-due_date").fill(str(today + dt.timedelta(days=60)))
    page.locator("#plan-milestones").fill(f"{today + dt.timedelta(days=20)} Rebin age and rerun drift")
    page.get_by_role("button", name="Save action plan").click()
    milestone = page.locator("table.milestones tbody tr").first
    expect(milestone).to_contain_text("not done")
    milestone.get_by_role("button", name="Mark done").click()
    expect(page.locator("table.milestones tbody tr").first).to_contain_text("by maya")
    page.locator("#attachment-file").set_input_files(str(memo))
    page.get_by_role("button", name="Attach file").click()
    expect(page.locator("#attachments")).to_contain_text("rebinning-memo.md")
    page.get_by_text("Request a later due date").click()
    page.locator("#extension-proposed_due_date").fill(str(extended))
    page.locator("#extension-reason").fill("The corrected bins need a full month of production batches.")
    page.get_by_role("button", name="Request extension").click()
    expect(page.locator("#extensions tbody tr").first).to_contain_text("awaiting the second line")
    screenshot(page, "finding-open")

    # Second line: approve the extension, after a confirmation page.
    sign_in(page, "rita", PASSWORD)
    page.goto(detail)
    page.get_by_role("link", name="Approve…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Approve extension")
    page.get_by_role("button", name="Approve extension").click()
    expect(page.locator("#extensions tbody tr").first).to_contain_text("rita")
    expect(page.locator("dl.kv").first).to_contain_text(extended.isoformat())

    # First line remediates; the validator closes.
    sign_in(page, "maya", PASSWORD)
    page.goto(detail)
    page.locator("#resolution-remediated").fill("Bins rebuilt; drift rerun passes.")
    page.get_by_role("button", name="Mark remediated").click()
    sign_in(page, "victor", PASSWORD)
    page.goto(detail)
    page.get_by_role("link", name="Close finding…").click()
    page.get_by_role("button", name="Close finding").click()
    expect(page.locator("#finding-status")).to_have_attribute("data-status", "closed")

    actions = page.locator("#history tbody tr").evaluate_all("rows => rows.map(row => row.dataset.action)")
    assert actions == [
        "finding.commented",
        "finding.plan_created",
        "finding.milestone_changed",
        "finding.attachment_added",
        "finding.extension_requested",
        "finding.extension_approved",
        "finding.changed",
        "finding.changed",
    ]
    assert page.get_by_role("button", name="Add comment").count() == 0
    closed = Finding.objects.get(pk=finding.pk)
    assert (closed.status, closed.due_date) == ("closed", extended)
    screenshot(page, "finding-closed")
    page.set_viewport_size(PHONE)
    screenshot(page, "finding-closed-phone")
