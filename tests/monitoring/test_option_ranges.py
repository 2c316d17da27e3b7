"""Every numeric check option has a declared range; outside it the request is a 400 naming the option.

Finding 2 of issue 13: ``config.options.psi_bins: 1000000000`` on POST /api/v1/checks/ was accepted and
the worker grew to 9 GB in a minute. The ranges are declared once, on each kind's ``OPTIONS``, and applied
by the API and again by the service (a monitoring plan or the UI does not pass through the API).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from audit.models import AuditEvent
from monitoring.checks import KINDS, check_options
from monitoring.models import CheckRun, MonitoringPlan
from tests.monitoring.conftest import queue
from tests.monitoring.test_checks_api import body
from tests.monitoring.test_plans import plan_body

pytestmark = pytest.mark.django_db
CHECKS = reverse("api:check-run-list")
PLANS = reverse("api:monitoring-plan-list")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "CHECKS.md"

DECLARED = [(kind, name, option) for kind, module in KINDS.items() for name, option in module.OPTIONS.items()]
NUMERIC = [(kind, name, option) for kind, name, option in DECLARED if option.numeric]


def test_it_refuses_a_billion_psi_bins_with_400_and_queues_nothing(api, maya, version, reference, current):
    request = body(version, reference, current, config={"options": {"psi_bins": 1_000_000_000}})
    response = api.as_user(maya).post(CHECKS, request, format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["error"]["fields"] == {"config.options.psi_bins": ["Must be from 2 to 1,000."]}
    assert not CheckRun.objects.exists()
    assert not AuditEvent.objects.filter(action="check.queued").exists()


def test_the_service_applies_the_same_range_without_the_api(maya, version, reference, current):
    with pytest.raises(ValidationError) as refusal:
        queue(maya, "drift", version, reference=reference, current=current, options={"psi_bins": 10**9})
    assert list(refusal.value.message_dict) == ["config.options.psi_bins"]
    assert not CheckRun.objects.exists()


def test_a_monitoring_plan_names_the_option_of_its_check(api, maya, version, dataset, reference):
    checks = [{"kind": "fairness", "config": {"options": {"bootstrap": 10**9}}}]
    response = api.as_user(maya).post(
        PLANS, plan_body(version, dataset, reference, checks=checks), format="json"
    )

    assert response.status_code == 400, response.json()
    assert list(response.json()["error"]["fields"]) == ["checks[0].config.options.bootstrap"]
    assert not MonitoringPlan.objects.exists()


def test_a_monitoring_plan_interval_has_an_upper_bound(api, maya, version, dataset, reference):
    request = plan_body(version, dataset, reference, crontab="", interval_seconds=10**12)
    response = api.as_user(maya).post(PLANS, request, format="json")

    assert response.status_code == 400, response.json()
    assert list(response.json()["error"]["fields"]) == ["interval_seconds"]


def test_drift_thresholds_per_column_and_test_are_numbers_in_range(maya, version, reference, current):
    for options, field in (
        ({"column_thresholds": {"age": "high"}}, "config.options.column_thresholds.age"),
        ({"test_thresholds": {"psi": 1e12}}, "config.options.test_thresholds.psi"),
    ):
        with pytest.raises(ValidationError) as refusal:
            queue(maya, "drift", version, reference=reference, current=current, options=options)
        assert list(refusal.value.message_dict) == [field]


@pytest.mark.parametrize(("kind", "name", "option"), NUMERIC, ids=[f"{k}.{n}" for k, n, _ in NUMERIC])
def test_each_numeric_option_accepts_its_ends_and_refuses_just_outside(kind, name, option):
    step = 1 if int in option.accepted and float not in option.accepted else option.low / 10 or 0.001
    for inside in (option.low, option.high):
        check_options(kind, {"options": {name: inside}})
    for outside in (option.low - step, option.high + step, 10**30, -(10**30)):
        with pytest.raises(ValidationError) as refusal:
            check_options(kind, {"options": {name: outside}})
        assert list(refusal.value.message_dict) == [f"config.options.{name}"]


@pytest.mark.parametrize(("kind", "name", "option"), DECLARED, ids=[f"{k}.{n}" for k, n, _ in DECLARED])
def test_each_option_refuses_the_wrong_type(kind, name, option):
    wrong = [value for value in ("text", [1], {"a": 1}, True, 1.5) if option.problem(value)]
    assert wrong, f"{kind}.{name} accepts every type"
    for value in wrong:
        with pytest.raises(ValidationError):
            check_options(kind, {"options": {name: value}})


@given(value=st.one_of(st.integers(), st.floats(allow_nan=True, allow_infinity=True)))
def test_a_numeric_option_accepts_exactly_the_finite_numbers_of_its_type_within_its_range(value):
    for kind, name, option in NUMERIC:
        typed = isinstance(value, option.accepted)
        inside = typed and value == value and option.low <= value <= option.high
        assert (option.problem(value) is None) is inside, (kind, name, value)


def test_docs_list_every_option_with_its_range():
    text = DOCS.read_text()
    for kind, name, option in DECLARED:
        row = re.search(rf"^\| `{kind}` \| `{name}` \| ([^|]+) \|", text, re.MULTILINE)
        assert row, f"docs/CHECKS.md has no row for {kind} option {name}"
        assert row.group(1).strip() == option.expected_text(), f"{kind}.{name}"
