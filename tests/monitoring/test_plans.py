"""Monitoring plans: their PeriodicTask, the newest production batch, alerts on breach, and the API matrix."""

import json
from unittest import mock

import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from audit.models import AuditEvent
from monitoring.models import CheckRun, MonitoringAlert, MonitoringPlan, RunStatus
from monitoring.services import plans
from registry.models.datasets import DatasetRole
from tests.monitoring import factories
from tests.monitoring.conftest import execute

pytestmark = pytest.mark.django_db
LIST = reverse("api:monitoring-plan-list")
DRIFT = [{"kind": "drift", "config": {"columns": ["age", "income"]}}]


def make_plan(maya, version, dataset, reference, **fields):
    fields.setdefault("crontab", "0 6 * * *")
    return plans.monitoring_plan_create(
        actor=maya,
        version=version,
        dataset=dataset,
        reference=reference,
        checks=fields.pop("checks", DRIFT),
        **fields,
    )


def batch(maya, dataset, seed, *, role=DatasetRole.PRODUCTION_BATCH, **frame_options):
    return factories.make_dataset_version(
        maya, dataset, factories.credit_frame(seed=seed, **frame_options), role=role
    )


def test_it_creates_a_periodic_task_for_the_plan(maya, version, dataset, reference):
    plan = make_plan(maya, version, dataset, reference)

    task = PeriodicTask.objects.get(pk=plan.periodic_task_id)
    assert task.task == "monitoring.tasks.run_monitoring_plan"
    assert json.loads(task.args) == [plan.pk]
    assert (task.crontab.minute, task.crontab.hour) == ("0", "6")
    assert task.enabled
    assert plan.next_run_at is not None
    assert AuditEvent.objects.filter(action="monitoring_plan.created", object_id=str(plan.pk)).exists()


def test_it_moves_the_periodic_task_with_the_plan_and_removes_it_on_delete(maya, version, dataset, reference):
    plan = make_plan(maya, version, dataset, reference)

    plans.monitoring_plan_update(actor=maya, plan=plan, interval_seconds=3600, enabled=False)
    task = PeriodicTask.objects.get(pk=plan.periodic_task_id)
    assert task.interval.every == 3600
    assert task.crontab is None
    assert not task.enabled

    plans.monitoring_plan_delete(actor=maya, plan=plan)
    assert not PeriodicTask.objects.filter(pk=task.pk).exists()
    assert MonitoringPlan.objects.get(pk=plan.pk).deleted_at is not None


def test_it_checks_the_newest_production_batch_once(maya, version, dataset, reference):
    batch(maya, dataset, 40)
    newest = batch(maya, dataset, 41)
    batch(maya, dataset, 42, role=DatasetRole.VALIDATION)  # newer, but not a production batch
    plan = make_plan(maya, version, dataset, reference)

    queued = plans.monitoring_plan_run(plan_id=plan.pk)

    assert [run.current_dataset for run in queued] == [newest]
    assert queued[0].plan == plan
    assert queued[0].requested_by is None
    assert plans.monitoring_plan_run(plan_id=plan.pk) == []  # no new batch since
    plan.refresh_from_db()
    assert plan.last_batch == newest
    assert plan.last_run_at is not None


def test_it_does_nothing_without_a_production_batch_or_for_a_disabled_plan(maya, version, dataset, reference):
    plan = make_plan(maya, version, dataset, reference)
    assert plans.monitoring_plan_run(plan_id=plan.pk) == []

    batch(maya, dataset, 43)
    plans.monitoring_plan_update(actor=maya, plan=plan, enabled=False)
    assert plans.monitoring_plan_run(plan_id=plan.pk) == []


def test_a_breach_records_one_alert_and_tells_governance_after_commit(
    maya, version, dataset, reference, settings, django_capture_on_commit_callbacks
):
    settings.ATTEST_ALERT_TASK = "governance.tasks.process_monitoring_alert"
    plan = make_plan(maya, version, dataset, reference)
    batch(maya, dataset, 44, shift=1.0)
    (run,) = plans.monitoring_plan_run(plan_id=plan.pk)

    with (
        mock.patch("config.celery_app.app.send_task") as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        run = execute(run)

    assert run.outcome == "fail"
    alert = MonitoringAlert.objects.get()
    assert alert.check_run == run
    assert alert.severity == "critical"
    assert alert.metric.startswith("psi")
    assert alert.value > alert.threshold == 0.25
    send.assert_called_once_with("governance.tasks.process_monitoring_alert", args=[alert.pk])
    assert AuditEvent.objects.filter(action="monitoring.alert_raised", object_id=str(alert.pk)).count() == 1


def test_it_raises_no_alert_when_the_batch_is_within_thresholds(maya, version, dataset, reference):
    plan = make_plan(
        maya, version, dataset, reference, checks=[{"kind": "drift", "config": {"columns": ["sex"]}}]
    )
    batch(maya, dataset, 45)
    (run,) = plans.monitoring_plan_run(plan_id=plan.pk)

    run = execute(run)

    assert run.outcome == "pass", run.evaluations
    assert not MonitoringAlert.objects.exists()


def test_it_records_a_failed_run_when_a_new_batch_lacks_a_planned_column(maya, version, dataset, reference):
    plan = make_plan(maya, version, dataset, reference)
    frame = factories.credit_frame(seed=46).drop(columns=["income"])
    factories.make_dataset_version(maya, dataset, frame, role=DatasetRole.PRODUCTION_BATCH)

    (run,) = plans.monitoring_plan_run(plan_id=plan.pk)

    assert run.status == RunStatus.FAILED
    assert run.error_type == "InvalidConfiguration"
    assert "'income'" in run.error_message


# --- API -------------------------------------------------------------------------------------------


def plan_body(version, dataset, reference, **extra):
    return {
        "model": version.model.name,
        "version": version.version,
        "dataset": dataset.name,
        "reference_dataset": f"{reference.dataset.name}:{reference.version}",
        "checks": DRIFT,
        "crontab": "30 5 * * 1",
        **extra,
    }


@pytest.mark.parametrize("persona", ["maya", "admin_user"])
def test_it_lets_the_team_engineer_or_an_admin_create_a_plan(
    api, request, persona, version, dataset, reference
):
    response = api.as_user(request.getfixturevalue(persona)).post(
        LIST, plan_body(version, dataset, reference), format="json"
    )

    assert response.status_code == 201, response.json()
    payload = response.json()
    assert payload["periodic_task"] == f"monitoring-plan-{payload['id']}"
    assert payload["schedule"] == "cron 30 5 * * 1 (UTC)"
    assert PeriodicTask.objects.filter(name=payload["periodic_task"]).exists()


@pytest.mark.parametrize("persona", ["victor", "aaron", "rita"])
def test_it_refuses_plan_changes_by_validators_and_readers(
    api, request, persona, maya, version, dataset, reference
):
    user = request.getfixturevalue(persona)
    plan = make_plan(maya, version, dataset, reference)
    detail = reverse("api:monitoring-plan-detail", args=[plan.pk])
    client = api.as_user(user)

    assert client.get(detail).status_code == 200
    assert client.post(LIST, plan_body(version, dataset, reference), format="json").status_code == 403
    assert client.patch(detail, {"enabled": False}, format="json").status_code == 403
    assert client.delete(detail).status_code == 403
    assert MonitoringPlan.objects.get(pk=plan.pk).enabled


def test_it_hides_plans_from_outsiders_and_anonymous(api, olga, maya, version, dataset, reference):
    plan = make_plan(maya, version, dataset, reference)
    detail = reverse("api:monitoring-plan-detail", args=[plan.pk])

    assert api.as_user(olga).get(detail).status_code == 404
    assert api.as_user(olga).get(LIST).json()["results"] == []
    assert api.as_user(olga).delete(detail).status_code == 404
    assert (
        api.as_user(olga).post(LIST, plan_body(version, dataset, reference), format="json").status_code == 400
    )
    assert api.as_user(None).get(LIST).status_code == 401
    assert api.as_user(None).get(detail).status_code == 401


def test_it_updates_and_deletes_a_plan_through_the_api(api, maya, version, dataset, reference):
    plan = make_plan(maya, version, dataset, reference)
    detail = reverse("api:monitoring-plan-detail", args=[plan.pk])
    client = api.as_user(maya)

    response = client.patch(detail, {"crontab": "15 * * * *"}, format="json")
    assert response.status_code == 200, response.json()
    assert PeriodicTask.objects.get(pk=plan.periodic_task_id).crontab.minute == "15"

    assert client.delete(detail).status_code == 204
    assert client.get(detail).status_code == 404
    assert not PeriodicTask.objects.filter(name=f"monitoring-plan-{plan.pk}").exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"crontab": "every day"}, "crontab"),
        ({"crontab": "", "interval_seconds": None}, "schedule"),
        ({"interval_seconds": 3600}, "schedule"),
        ({"crontab": "", "interval_seconds": 5}, "interval_seconds"),
        ({"checks": []}, "checks"),
        ({"checks": [{"kind": "drift", "config": {"columns": ["nope"]}}]}, "checks[0].config.columns"),
        ({"dataset": "nope"}, "dataset"),
    ],
)
def test_it_answers_400_naming_the_plan_field(api, maya, version, dataset, reference, change, field):
    response = api.as_user(maya).post(LIST, plan_body(version, dataset, reference) | change, format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"], response.json()
    assert not MonitoringPlan.objects.exists()


def test_it_lists_a_plans_alerts(api, maya, aaron, version, dataset, reference):
    plan = make_plan(maya, version, dataset, reference)
    batch(maya, dataset, 47, shift=1.0)
    (run,) = plans.monitoring_plan_run(plan_id=plan.pk)
    execute(run)

    response = api.as_user(aaron).get(reverse("api:monitoring-plan-alerts", args=[plan.pk]))

    assert response.status_code == 200
    (alert,) = response.json()["results"]
    assert alert["check_run"] == run.pk
    assert alert["severity"] == "critical"
    assert CheckRun.objects.get(pk=run.pk).plan_id == plan.pk


def test_it_filters_plans_by_model_version_and_enabled_like_every_list(
    api, maya, credit_risk, version, dataset, reference
):
    """GIVEN plans on versions 1 and 2 of one model (version 2's paused) and on another model
    WHEN maya lists them with `model`, `version` and `enabled`
    THEN only the matching plans come back, and an unknown or malformed filter is a 400 naming it."""
    second = factories.pickle_version(maya, version.model)
    other = factories.skops_version(maya, factories.make_model(maya, credit_risk, name="other-model"))
    first_plan = make_plan(maya, version, dataset, reference)
    paused = make_plan(maya, second, dataset, reference, enabled=False)
    elsewhere = make_plan(maya, other, dataset, reference)
    client = api.as_user(maya)

    def listed(**query) -> set[int]:
        response = client.get(LIST, query)
        assert response.status_code == 200, response.content
        return {plan["id"] for plan in response.json()["results"]}

    assert listed() == {first_plan.pk, paused.pk, elsewhere.pk}
    assert listed(model="credit-scoring") == {first_plan.pk, paused.pk}
    assert listed(model="credit-scoring", version=2) == {paused.pk}
    assert listed(model="other-model") == {elsewhere.pk}
    assert listed(enabled="false") == {paused.pk}
    assert listed(model="no-such-model") == set()
    for query, field in (({"model_version": 1}, "model_version"), ({"version": "two"}, "version")):
        response = client.get(LIST, query)
        assert response.status_code == 400, response.content
        assert list(response.json()["error"]["fields"]) == [field]
