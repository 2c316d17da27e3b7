"""An ML engineer reads a version's production telemetry and sets its monitor in the browser; the page
holds no inline style (strict CSP) and reflows at phone width. Screenshots: var/screenshots/telemetry-*."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from playwright.sync_api import expect

from accounts.models import User
from monitoring import otlp
from monitoring.models import TelemetryMonitor
from monitoring.services.telemetry import telemetry_ingest
from tests.e2e.conftest import PHONE, screenshot, sign_in
from tests.factories import PASSWORD, TeamFactory, UserFactory
from tests.factories.records import ModelVersionFactory, RegisteredModelFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def records(minute: int, calls: int, blocked: int) -> list[dict]:
    at = str(int((T0 + dt.timedelta(minutes=minute)).timestamp()) * 1_000_000_000)
    return [
        {
            "timeUnixNano": at,
            "attributes": [
                {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "120"}},
                {"key": "gen_ai.client.operation.duration", "value": {"doubleValue": 0.2 + minute / 4}},
                {
                    "key": "attest.guardrail.action",
                    "value": {"stringValue": "block" if i < blocked else "pass"},
                },
            ],
        }
        for i in range(calls)
    ]


@pytest.fixture
def telemetry(shared_media):
    team = TeamFactory(name="credit-risk", title="Credit Risk Modelling")
    maya = UserFactory(username="maya", role="ml-engineer", teams=[team])
    model = RegisteredModelFactory(name="loan-assistant", owner=maya, team=team)
    ModelVersionFactory(model=model, version=1)
    logs = [records(minute, 20 + 3 * minute, minute) for minute in range(6)]
    body = {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [
                        {"key": "attest.model", "value": {"stringValue": "loan-assistant"}},
                        {"key": "attest.model.version", "value": {"intValue": "1"}},
                    ]
                },
                "scopeLogs": [{"logRecords": [record for minute in logs for record in minute]}],
            }
        ]
    }
    telemetry_ingest(actor=maya, batch=otlp.read_logs(json.dumps(body).encode(), json_encoding=True))
    return maya


def test_an_engineer_reads_the_series_and_sets_the_monitor(page, telemetry, csp_refusals):
    sign_in(page, "maya", PASSWORD)
    page.goto("/models/loan-assistant/versions/1/")
    page.locator("#telemetry-link").click()
    expect(page.get_by_role("heading", name="Production telemetry of loan-assistant v1")).to_be_visible()
    expect(page.locator("#bucket-table tbody tr")).to_have_count(6)
    expect(page.locator(".chart svg")).to_have_count(5)
    page.get_by_text("Set up a monitor").click()
    page.get_by_label("Bucket (seconds)").fill("70")  # within the field's range, but not dividing a day
    page.get_by_label("Maximum block rate (0 to 1)").fill("0.1")
    page.get_by_role("button", name="Save monitor").click()
    expect(page.locator("#field-bucket_seconds")).to_contain_text("dividing a day")
    assert not TelemetryMonitor.objects.exists()
    page.get_by_label("Bucket (seconds)").fill("60")
    page.get_by_role("button", name="Save monitor").click()
    expect(page.locator("#monitor-settings")).to_contain_text("0.1")
    monitor = TelemetryMonitor.objects.get()
    assert monitor.max_block_rate == 0.1
    assert monitor.created_by == User.objects.get(username="maya")
    screenshot(page, "telemetry-version")
    page.set_viewport_size(PHONE)
    screenshot(page, "telemetry-version-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1
    assert csp_refusals == []
