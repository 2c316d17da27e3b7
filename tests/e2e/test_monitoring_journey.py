"""A validator's morning with the alert inbox: acknowledge one alert, snooze another with a reason, read
the plan's trends. The plan's runs are written by the factories (no check runs). Screenshots go under
var/screenshots/ (``monitoring-*``)."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from monitoring.models import MonitoringAlert
from registry.models.datasets import DatasetRole
from tests.e2e.conftest import PHONE, screenshot, sign_in
from tests.factories import PASSWORD, TeamFactory, UserFactory
from tests.monitoring import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DAY = dt.datetime(2026, 3, 1, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def alerts(shared_media):
    team = TeamFactory(name="credit-risk", title="Credit Risk Modelling")
    maya = UserFactory(username="maya", role="ml-engineer", teams=[team])
    UserFactory(username="victor", role="validator", teams=[team], first_name="Victor")
    model = factories.make_model(maya, team)
    version = factories.pickle_version(maya, model)
    dataset = factories.make_dataset(maya, team)
    reference = factories.make_dataset_version(
        maya, dataset, factories.credit_frame(seed=2), role=DatasetRole.REFERENCE
    )
    plan = factories.make_plan(maya, version, dataset, reference, title="Daily drift of credit-scoring")
    for index, psi in enumerate(
        ({"age": 0.04, "income": 0.09}, {"age": 0.29, "income": 0.12}, {"age": 0.22, "income": 0.41})
    ):
        factories.drift_run(
            plan, psi, finished_at=DAY + dt.timedelta(days=index), p_values={"age": 10.0 ** -(3 * index)}
        )
    return list(MonitoringAlert.objects.filter(plan=plan).order_by("pk"))


def test_a_validator_acknowledges_one_alert_and_snoozes_another(page, alerts, csp_refusals):
    first, second = alerts
    sign_in(page, "victor", PASSWORD)

    page.get_by_role("link", name="Monitoring").click()
    rows = page.locator("#alert-table tbody tr")
    expect(rows).to_have_count(2)
    page.locator(f"#alert-{first.pk}").get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status")).to_contain_text(f"Alert #{first.pk} acknowledged.")
    expect(rows).to_have_count(1)  # the inbox shows open alerts

    page.locator(f"#alert-{second.pk}").get_by_role("link", name="Open").click()
    page.get_by_role("button", name="Snooze").click()  # no reason: refused next to the field
    expect(page.locator("#snooze-form .error")).to_contain_text("required")
    page.get_by_label("Reason").fill("Income shift expected after the March campaign; re-check next week.")
    page.get_by_role("button", name="Snooze").click()
    expect(page.get_by_role("status")).to_contain_text(f"Alert #{second.pk} snoozed until")
    expect(page.locator("#alert-state")).to_contain_text("Snoozed")
    screenshot(page, "monitoring-alert-snoozed")

    page.goto("/monitoring/?state=")
    expect(page.locator(f"#alert-{first.pk}")).to_contain_text("Acknowledged")
    expect(page.locator(f"#alert-{second.pk}")).to_contain_text("Snoozed")
    screenshot(page, "monitoring-inbox")
    page.set_viewport_size(PHONE)
    screenshot(page, "monitoring-inbox-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("link", name="Daily drift of credit-scoring").first.click()
    expect(page.locator(".trend-table tbody tr")).to_have_count(4)
    expect(page.locator("figure.chart svg")).to_have_count(4)
    screenshot(page, "monitoring-plan-trends")

    assert csp_refusals == []  # inline SVG charts without a <style> element, no inline script
    states = dict(MonitoringAlert.objects.values_list("pk", "state"))
    assert states == {first.pk: "acknowledged", second.pk: "snoozed"}
