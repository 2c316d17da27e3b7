"""A risk officer runs the portfolio in the browser: heatmap, drill-down, saved filter, export, search.

The inventory is demo-like: two teams' models in every tier and most statuses, open findings of every
severity, overdue reviews, a stale approval, and status changes made through the service (so the audit
trail feeds the status-over-time chart). Screenshots go under var/screenshots/ (``portfolio-*``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from registry.models import RegisteredModel
from registry.services import inventory
from tests.e2e.conftest import PHONE, screenshot, sign_in
from tests.factories import PASSWORD, TeamFactory, UserFactory
from tests.factories.records import (
    ApprovalRequestFactory,
    FindingFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
)
from workflow.models import ApprovalRequest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# name, team, tier, status, open findings by severity, days since registration, review overdue
BOOK = [
    ("retail-scorecard", "credit-risk", 1, "in_production", {"critical": 1, "high": 1}, 300, True),
    ("mortgage-pd", "credit-risk", 1, "in_production", {"medium": 2}, 280, False),
    ("sme-lgd", "credit-risk", 1, "in_validation", {"high": 1}, 200, False),
    ("card-limit", "credit-risk", 2, "approved", {}, 250, False),
    ("collections-priority", "credit-risk", 2, "in_production", {"low": 2}, 320, True),
    ("ifrs9-stage", "credit-risk", 2, "under_review", {"high": 2}, 340, False),
    ("early-warning", "credit-risk", 3, "in_development", {}, 90, False),
    ("pricing-elasticity", "credit-risk", 3, "draft", {}, 20, False),
    ("legacy-behaviour", "credit-risk", 3, "retired", {}, 360, False),
    ("txn-fraud", "fraud", 1, "in_production", {"critical": 1}, 310, True),
    ("ring-detection", "fraud", 2, "in_validation", {"medium": 1}, 150, False),
    ("mule-accounts", "fraud", 2, "in_production", {}, 230, False),
    ("chargeback-scorecard", "fraud", 3, "in_development", {"low": 1}, 60, False),
]
# Status changes made today through the service: the chart shows each model's earlier status before.
CHANGES = [
    ("early-warning", "in_validation", "in_development"),
    ("ifrs9-stage", "in_production", "under_review"),
]


@pytest.fixture
def book(db):
    teams = {name: TeamFactory(name=name) for name in ("credit-risk", "fraud")}
    owners = {
        "credit-risk": UserFactory(username="maya", role="ml-engineer", teams=[teams["credit-risk"]]),
        "fraud": UserFactory(username="olga", role="ml-engineer", teams=[teams["fraud"]]),
    }
    rita = UserFactory(username="rita", role="risk-officer", teams=[teams["credit-risk"]], first_name="Rita")
    today = dt.date.today()
    for name, team, tier, status, findings, age, overdue in BOOK:
        earlier = next((before for model, before, _after in CHANGES if model == name), status)
        model = RegisteredModelFactory(
            name=name,
            title=name.replace("-", " ").capitalize(),
            owner=owners[team],
            team=teams[team],
            risk_tier=tier,
            computed_tier=tier,
            status=earlier,
            next_review_due=today - dt.timedelta(days=15) if overdue else today + dt.timedelta(days=120),
        )
        RegisteredModel.objects.filter(pk=model.pk).update(
            created_at=model.created_at - dt.timedelta(days=age)
        )
        for severity, count in findings.items():
            for n in range(count):
                FindingFactory(model=model, severity=severity, title=f"{name}: {severity} issue {n + 1}")
    for name, _before, after in CHANGES:
        model = RegisteredModel.objects.get(name=name)
        if after == "under_review":
            inventory.model_status_set_by_workflow(model=model, status=after, reason="monitoring breach")
        else:
            inventory.model_change_status(
                actor=owners["credit-risk"], model=model, status=after, reason="rework"
            )
    version = ModelVersionFactory(model=RegisteredModel.objects.get(name="sme-lgd"), version=3)
    stale = ApprovalRequestFactory(model_version=version, environment="production")
    ApprovalRequest.objects.filter(pk=stale.pk).update(
        requested_at=stale.requested_at - dt.timedelta(days=21),
        stage_due_at=stale.requested_at - dt.timedelta(days=16),
    )
    return rita


def test_a_risk_officer_drills_down_saves_exports_and_searches(page, book, csp_refusals):
    """GIVEN rita, a risk officer, and a two-team inventory
    WHEN she opens the portfolio, follows the tier 1 / in production cell, saves that filter, exports it
    and searches for a scorecard from the header
    THEN every list and file holds exactly the models the cell counted, and nothing breaks the CSP."""
    sign_in(page, "rita", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Portfolio").click()
    cell = page.locator('#heatmap td[data-tier="1"][data-status="in_production"]')
    expect(cell).to_have_attribute("data-models", "3")
    expect(cell).to_have_attribute("data-open-findings", "5")
    expect(page.locator("#overdue-reviews li")).to_have_count(3)
    expect(page.locator("#overdue-approvals li")).to_have_count(1)
    expect(page.locator("#status-history")).to_be_visible()
    screenshot(page, "portfolio-desktop")

    cell.get_by_role("link").click()
    expect(page.locator("#model-table tbody tr")).to_have_count(3)
    page.get_by_label("Save this filter as").fill("Tier 1 in production")
    page.get_by_role("button", name="Save filter").click()
    expect(page.locator("#saved-filters")).to_contain_text("Tier 1 in production")
    screenshot(page, "portfolio-inventory-saved-filter")

    with page.expect_download() as download:
        page.locator("#export-csv").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert sorted(row[0] for row in rows[1:]) == ["mortgage-pd", "retail-scorecard", "txn-fraud"]

    page.get_by_role("searchbox", name="Search").fill("scorecard")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#results-models li")).to_have_count(2)
    expect(page.locator("#results-findings")).to_contain_text("retail-scorecard: critical issue 1")
    screenshot(page, "portfolio-search")

    page.set_viewport_size(PHONE)
    page.goto("/portfolio/")
    screenshot(page, "portfolio-phone")
    assert csp_refusals == []
