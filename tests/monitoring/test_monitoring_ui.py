"""Monitoring in the UI and the API: who may handle alerts and plans, trends equal to the runs, snoozes
and escalation.

Plan runs are written by the factories as a worker would have stored them (no check is executed).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from monitoring.models import AlertState, MonitoringAlert
from tests.monitoring import factories
from workflow.models import Finding

pytestmark = pytest.mark.django_db
DAY = dt.datetime(2026, 3, 1, 6, 0, tzinfo=dt.UTC)
PSI = [{"age": 0.05, "income": 0.12}, {"age": 0.31, "income": 0.08}, {"age": 0.18, "income": 0.4}]


@pytest.fixture
def version(maya, model):
    """A version whose artifact is stored, never loaded (no check runs here): fast to register."""
    return factories.pickle_version(maya, model)


@pytest.fixture
def plan(maya, version, dataset, reference):
    return factories.make_plan(maya, version, dataset, reference)


@pytest.fixture
def runs(plan):
    """Three drift runs a day apart (the second and third raise alerts) and two performance runs."""
    drift = [
        factories.drift_run(
            plan, psi, finished_at=DAY + dt.timedelta(days=index), p_values={"age": 10.0 ** -(index * 4)}
        )
        for index, psi in enumerate(PSI)
    ]
    performance = [
        factories.performance_run(plan, roc_auc=0.74, accuracy=0.69, finished_at=DAY + dt.timedelta(hours=1)),
        factories.performance_run(
            plan, roc_auc=0.66, accuracy=0.64, finished_at=DAY + dt.timedelta(days=1, hours=1)
        ),
    ]
    return drift + performance


def _client(client, user):
    client.force_login(user)
    return client


def _status(response) -> int:
    return response.status_code


# who: maya (ML engineer, the team), victor (validator, the team), rita (risk officer), aaron (auditor),
# admin_user, olga (ML engineer of another team: sees nothing). Expected: (read pages, handle alerts, plans)
MATRIX = {
    "maya": (200, "handles", "changes"),
    "victor": (200, "handles", 403),
    "rita": (200, "handles", 403),
    "aaron": (200, 403, 403),
    "admin_user": (200, "handles", "changes"),
    "olga": (404, 404, 404),
}


@pytest.fixture
def no_drawing(monkeypatch):
    """The matrix is about who may open what: charts come out as a stub (the trend test draws them)."""
    import charts

    stub = b'<svg xmlns="http://www.w3.org/2000/svg"></svg>'
    monkeypatch.setattr(charts, "time_series_chart", lambda *args, **kwargs: stub)
    monkeypatch.setattr(charts, "distributions_chart", lambda *args, **kwargs: stub)


@pytest.mark.parametrize("persona", list(MATRIX))
def test_who_may_read_handle_alerts_and_change_plans(request, client, persona, plan, runs, no_drawing):
    user = request.getfixturevalue(persona)
    reads, handles, changes = MATRIX[persona]
    alerts = list(MonitoringAlert.objects.filter(plan=plan).order_by("pk"))
    assert len(alerts) == 3  # runs 2 and 3 of drift fail PSI; the second performance run fails ROC AUC
    first, second, third = alerts
    drift_run = runs[1]
    web = _client(client, user)

    # reading: the inbox lists only what the user may see; pages of an unseen object are 404
    inbox = web.get(reverse("monitoring-alert-list"))
    assert inbox.status_code == 200
    listed = {alert.pk for alert in inbox.context["listing"].page}
    assert listed == (set() if reads == 404 else {first.pk, second.pk, third.pk})
    for url in (
        reverse("monitoring-alert-detail", args=[first.pk]),
        reverse("monitoring-plan-detail", args=[plan.pk]),
        reverse("check-features", args=[drift_run.pk]),
        reverse("check-feature", args=[drift_run.pk, "age"]),
        reverse("api:monitoring-alert-detail", args=[first.pk]),
        reverse("api:monitoring-plan-trends", args=[plan.pk]),
    ):
        assert _status(web.get(url)) == reads, url

    # handling: the UI and the API answer alike; nothing changes on a refusal
    ui = web.post(reverse("monitoring-alert-acknowledge", args=[first.pk]))
    api = web.post(
        reverse("api:monitoring-alert-acknowledge", args=[second.pk]), content_type="application/json"
    )
    escalated = web.post(
        reverse("api:monitoring-alert-escalate", args=[third.pk]), {}, content_type="application/json"
    )
    if handles == "handles":
        assert (ui.status_code, api.status_code, escalated.status_code) == (302, 200, 200)
        assert api.json()["state"] == "acknowledged"
        assert escalated.json()["created"] is True
        states = {alert.pk: alert.state for alert in MonitoringAlert.objects.filter(plan=plan)}
        assert states == {first.pk: "acknowledged", second.pk: "acknowledged", third.pk: "escalated"}
    else:
        assert (ui.status_code, api.status_code, escalated.status_code) == (handles, handles, handles)
        assert set(MonitoringAlert.objects.filter(plan=plan).values_list("state", flat=True)) == {"open"}
        assert not Finding.objects.exists()

    # plans: the version's team's ML engineers (and admins) create, edit and delete them
    version = plan.model_version
    new_form = web.get(
        f"{reverse('monitoring-plan-new')}?model={version.model.name}&version={version.version}"
    )
    edit_form = web.get(reverse("monitoring-plan-edit", args=[plan.pk]))
    delete = web.post(reverse("monitoring-plan-delete", args=[plan.pk]))
    if changes == "changes":
        assert (new_form.status_code, edit_form.status_code, delete.status_code) == (200, 200, 302)
        plan.refresh_from_db()
        assert plan.deleted_at is not None
        assert plan.periodic_task is None
    else:
        expected_new = 404 if persona == "olga" else 403
        assert (new_form.status_code, edit_form.status_code, delete.status_code) == (
            expected_new,
            changes,
            changes,
        )
        plan.refresh_from_db()
        assert plan.deleted_at is None


def test_trend_series_equal_the_runs_results(client, rita, plan, runs):
    fairness = [
        factories.fairness_run(plan, parity_ratio=0.91, opportunity_ratio=0.88, finished_at=DAY),
        factories.fairness_run(
            plan, parity_ratio=0.77, opportunity_ratio=0.81, finished_at=DAY + dt.timedelta(days=1)
        ),
    ]
    runs = runs + fairness
    response = _client(client, rita).get(reverse("api:monitoring-plan-trends", args=[plan.pk]))
    assert response.status_code == 200
    series = {item["key"]: item for item in response.json()}
    drift, performance = runs[:3], runs[3:5]

    # every judged metric: one point per run, value, status and threshold exactly as the run stored them
    for run in runs:
        for item in run.evaluations:
            points = series[f"{run.kind}:{item['metric']}:{item['scope']}"]["points"]
            point = next(point for point in points if point["check_run"] == run.pk)
            assert (point["value"], point["status"], point["threshold"]) == (
                item["value"],
                item["status"],
                item["threshold"],
            )
    age = series["drift:psi:column 'age'"]
    assert [point["value"] for point in age["points"]] == [psi["age"] for psi in PSI]
    assert [point["check_run"] for point in age["points"]] == [run.pk for run in drift]  # oldest first
    assert age["thresholds"] == [0.1, 0.25]  # both PSI bands, as the runs applied them
    ks = series["drift:drift_test:ks:column 'age'"]
    assert [point["value"] for point in ks["points"]] == [
        run.results["metrics"]["data_drift"]["columns"][0]["test"]["score"] for run in drift
    ]
    assert ks["log_scale"] is True
    # measured without a threshold: accuracy, from the results, status info
    accuracy = series["performance:accuracy:current dataset"]
    assert [point["value"] for point in accuracy["points"]] == [
        run.results["metrics"]["performance"]["accuracy"] for run in performance
    ]
    assert {point["status"] for point in accuracy["points"]} == {"info"}
    opportunity = series["fairness:equal_opportunity_ratio:grouping sex"]
    assert [point["value"] for point in opportunity["points"]] == [
        run.results["metrics"]["fairness"]["groupings"][0]["aggregates"]["equal_opportunity_ratio"]["value"]
        for run in fairness
    ]
    assert [
        point["status"] for point in series["fairness:demographic_parity_ratio:grouping sex"]["points"]
    ] == [
        "pass",
        "fail",
    ]
    # PSI and KS per column; ROC AUC and accuracy; the parity ratio and the opportunity ratio (an undefined
    # equalized-odds difference is no point)
    assert len(series) == 2 * 2 + 2 + 2

    # the plan page draws the same series, worst first, and the charts are CSP-safe inline SVG
    page = client.get(reverse("monitoring-plan-detail", args=[plan.pk]))
    rows = page.context["rows"]
    assert {row.trend.key for row in rows} == set(series)
    assert rows[0].trend.worst == "fail"
    assert len(page.context["charts"]) == 8  # a page of charts
    html = page.content.decode()
    assert "<style" not in html
    assert html.count("<svg") >= 8
    # the feature page lists every column, with its distribution and its trend
    features = client.get(reverse("check-features", args=[drift[2].pk]))
    assert [row.column for row in features.context["rows"]] == ["income", "age"]  # most shifted first
    feature = client.get(reverse("check-feature", args=[drift[2].pk, "age"]))
    assert [row.trend.key for row in feature.context["trend_rows"]] == [
        "drift:psi:column 'age'",
        "drift:drift_test:ks:column 'age'",
    ]
    assert feature.context["chart"] is not None


def test_snooze_needs_a_reason_and_an_end_within_90_days_and_ends_by_itself(client, victor, plan, runs):
    alert = MonitoringAlert.objects.filter(plan=plan).first()
    url = reverse("api:monitoring-alert-snooze", args=[alert.pk])
    api = _client(client, victor)
    now = timezone.now()
    refused = [
        ({"reason": "", "until": (now + dt.timedelta(days=1)).isoformat()}, "reason"),
        ({"until": (now + dt.timedelta(days=1)).isoformat()}, "reason"),
        ({"reason": "waiting for the retrain", "until": (now + dt.timedelta(days=91)).isoformat()}, "until"),
        ({"reason": "waiting for the retrain", "until": (now - dt.timedelta(hours=1)).isoformat()}, "until"),
        ({"reason": "waiting for the retrain", "until": "next week"}, "until"),
    ]
    for body, field in refused:
        response = api.post(url, body, content_type="application/json")
        assert response.status_code == 400, body
        assert field in str(response.json()), response.json()
    # the page refuses the same way, next to the field
    page = api.post(
        reverse("monitoring-alert-snooze", args=[alert.pk]), {"reason": "", "until": "2026-01-01T00:00"}
    )
    assert page.status_code == 400
    assert page.context["snooze_form"].errors["reason"]
    alert.refresh_from_db()
    assert alert.state == "open"
    assert not AuditEvent.objects.filter(action="monitoring.alert_snoozed").exists()

    until = now + dt.timedelta(days=90) - dt.timedelta(minutes=1)
    response = api.post(
        url,
        {"reason": "waiting for the retrain", "until": until.isoformat()},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["state"] == "snoozed"
    event = AuditEvent.objects.get(action="monitoring.alert_snoozed")
    assert event.reason == "waiting for the retrain"
    listed = api.get(reverse("api:monitoring-alert-list"), {"state": "open"}).json()["results"]
    assert alert.pk not in {item["id"] for item in listed}

    # the snooze ends: the alert is open again without anything having run
    MonitoringAlert.objects.filter(pk=alert.pk).update(snoozed_until=now - dt.timedelta(minutes=1))
    listed = api.get(reverse("api:monitoring-alert-list"), {"state": "open"}).json()["results"]
    assert alert.pk in {item["id"] for item in listed}
    inbox = api.get(reverse("monitoring-alert-list"))
    assert alert.pk in {item.pk for item in inbox.context["listing"].page}


def test_escalating_creates_exactly_one_finding_on_the_alerts_run(client, maya, victor, plan, runs):
    alert = MonitoringAlert.objects.filter(plan=plan).order_by("pk").first()
    first = _client(client, maya).post(
        reverse("api:monitoring-alert-escalate", args=[alert.pk]),
        {"severity": "high"},
        content_type="application/json",
    )
    assert first.status_code == 200
    again = _client(client, victor).post(reverse("monitoring-alert-escalate", args=[alert.pk]), {})
    assert again.status_code == 302
    finding = Finding.objects.get()
    assert first.json() | {"alert": None} == {"alert": None, "finding": finding.pk, "created": True}
    assert (finding.check_run_id, finding.severity, finding.source, finding.raised_by) == (
        alert.check_run_id,
        "high",
        "monitoring",
        maya,
    )
    alert.refresh_from_db()
    assert (alert.state, alert.escalated_by) == (AlertState.ESCALATED, maya)
    assert (
        AuditEvent.objects.filter(action="monitoring.alert_escalated", object_id=str(alert.pk)).count() == 1
    )
    assert AuditEvent.objects.filter(action="finding.raised").count() == 1
    # the alert task's automatic path finds the finding there and raises no other
    from workflow.services.findings import finding_from_alert

    assert finding_from_alert(alert_id=alert.pk) is None
    assert Finding.objects.count() == 1
    # escalated is final: it cannot be acknowledged or snoozed any more
    refused = client.post(
        reverse("api:monitoring-alert-acknowledge", args=[alert.pk]), content_type="application/json"
    )
    assert refused.status_code == 409


def test_a_plan_is_created_and_edited_from_its_form_and_refused_field_by_field(
    client, maya, version, dataset, reference
):
    from django_celery_beat.models import PeriodicTask

    from monitoring.models import MonitoringPlan

    web = _client(client, maya)
    url = f"{reverse('monitoring-plan-new')}?model={version.model.name}&version={version.version}"
    good = {
        "title": "Nightly drift",
        "dataset": dataset.pk,
        "reference_dataset": reference.pk,
        "drift__on": "on",
        "drift__config": '{"columns": ["age", "income"]}',
        "drift__threshold_psi_fail": "0.3",
        "schedule": "crontab",
        "crontab": "0 5 * * *",
        "alert_on": "warn",
        "enabled": "on",
    }
    for change, field in (
        ({"crontab": "61 * * * *"}, "crontab"),
        ({"schedule": "interval", "interval_seconds": "30"}, "interval_seconds"),
        ({"drift__config": '{"columns": '}, "drift__config"),
        ({"drift__config": '{"columns": ["nope"]}'}, "drift__config"),  # the service's check of the columns
        ({"drift__on": ""}, "__all__"),
    ):
        refused = web.post(url, good | change)
        assert refused.status_code == 400, change
        assert field in refused.context["form"].errors, (change, refused.context["form"].errors)
    assert not MonitoringPlan.objects.exists()

    created = web.post(url, good)
    assert created.status_code == 302
    plan = MonitoringPlan.objects.get()
    assert created["Location"] == reverse("monitoring-plan-detail", args=[plan.pk])
    assert plan.checks == [
        {"kind": "drift", "config": {"columns": ["age", "income"], "thresholds": {"psi_fail": 0.3}}}
    ]
    assert (plan.crontab, plan.alert_on, plan.reference_dataset, plan.enabled) == (
        "0 5 * * *",
        "warn",
        reference,
        True,
    )
    assert PeriodicTask.objects.get(pk=plan.periodic_task_id).crontab.hour == "5"

    # the edit form shows what the plan holds; switching to an interval and pausing moves its task
    form = web.get(reverse("monitoring-plan-edit", args=[plan.pk])).context["form"]
    assert form["drift__threshold_psi_fail"].value() == 0.3
    assert form["drift__config"].value() == '{"columns": ["age", "income"]}'
    edited = web.post(
        reverse("monitoring-plan-edit", args=[plan.pk]),
        good | {"schedule": "interval", "interval_seconds": "3600", "enabled": ""},
    )
    assert edited.status_code == 302
    plan.refresh_from_db()
    task = PeriodicTask.objects.get(pk=plan.periodic_task_id)
    assert (plan.crontab, plan.interval_seconds, plan.enabled) == ("", 3600, False)
    assert (task.interval.every, task.enabled) == (3600, False)
    assert AuditEvent.objects.filter(action="monitoring_plan.changed", object_id=str(plan.pk)).count() == 1


def test_an_alert_that_already_raised_a_finding_offers_to_hand_over_to_it(client, maya, plan, runs):
    """The sweep raised the finding before anyone escalated: the page names it and offers to hand the alert
    over to it, without a severity choice (no second finding is raised)."""
    from workflow.services.findings import finding_from_alert

    alert = MonitoringAlert.objects.filter(plan=plan).order_by("pk").first()
    finding = finding_from_alert(alert_id=alert.pk)

    page = _client(client, maya).get(reverse("monitoring-alert-detail", args=[alert.pk]))

    html = page.content.decode()
    assert f"Hand over to finding #{finding.pk}" in html
    assert 'name="severity"' not in html
    handed = _client(client, maya).post(reverse("monitoring-alert-escalate", args=[alert.pk]), {})
    assert handed.status_code == 302
    alert.refresh_from_db()
    assert alert.state == AlertState.ESCALATED
    assert Finding.objects.count() == 1
