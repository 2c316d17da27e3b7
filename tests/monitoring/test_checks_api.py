"""/api/v1/checks/: the permission matrix, 202 on create, 400 naming the field, filters, query count."""

import pytest
from django.urls import reverse

from monitoring.models import CheckRun
from tests.monitoring import factories
from tests.monitoring.conftest import execute, queue

pytestmark = pytest.mark.django_db
LIST = reverse("api:check-run-list")


def body(version, reference, current, **extra):
    return {
        "kind": "drift",
        "model": version.model.name,
        "version": version.version,
        "reference_dataset": f"{reference.dataset.name}:{reference.version}",
        "current_dataset": f"{current.dataset.name}:{current.version}",
        **extra,
    }


@pytest.mark.parametrize("persona", ["maya", "victor", "admin_user"])
def test_it_queues_a_check_for_the_team_and_answers_202(api, request, persona, version, reference, current):
    user = request.getfixturevalue(persona)
    response = api.as_user(user).post(LIST, body(version, reference, current), format="json")

    assert response.status_code == 202, response.json()
    run = response.json()
    assert run["status"] == "queued"
    assert run["progress"] == {}
    assert run["reference_dataset"]["sha256"] == reference.file_sha256
    assert run["thresholds"]["psi_fail"]["value"] == 0.25
    assert response["Location"] == reverse("api:check-run-detail", args=[run["id"]])
    assert CheckRun.objects.get().requested_by == user


@pytest.mark.parametrize("persona", ["aaron", "rita"])
def test_it_refuses_readers_with_403(api, request, persona, version, reference, current):
    response = api.as_user(request.getfixturevalue(persona)).post(
        LIST, body(version, reference, current), format="json"
    )

    assert response.status_code == 403
    assert not CheckRun.objects.exists()


def test_it_answers_an_outsider_as_if_the_model_did_not_exist(api, olga, version, reference, current):
    response = api.as_user(olga).post(LIST, body(version, reference, current), format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["model"]


def test_it_refuses_anonymous_with_401(api, version, reference, current):
    assert api.as_user(None).post(LIST, body(version, reference, current), format="json").status_code == 401
    assert api.as_user(None).get(LIST).status_code == 401


def test_it_shows_runs_to_the_team_and_readers_and_hides_them_from_outsiders(
    api, maya, victor, aaron, rita, olga, version, reference, current
):
    run = execute(queue(maya, "drift", version, reference=reference, current=current))
    detail = reverse("api:check-run-detail", args=[run.pk])

    for reader in (maya, victor, aaron, rita):
        response = api.as_user(reader).get(detail)
        assert response.status_code == 200, reader.username
        assert response.json()["result_sha256"] == run.result_sha256
        assert [r["id"] for r in api.get(LIST).json()["results"]] == [run.pk]
    assert api.as_user(olga).get(detail).status_code == 404
    assert api.as_user(olga).get(LIST).json()["results"] == []


def test_it_returns_progress_results_and_evaluations_on_the_detail(api, maya, version, reference, current):
    run = execute(queue(maya, "drift", version, reference=reference, current=current))

    payload = api.as_user(maya).get(reverse("api:check-run-detail", args=[run.pk])).json()

    assert payload["status"] == "succeeded"
    assert payload["progress"]["stage"] == "done"
    assert payload["outcome"] == "fail"
    assert payload["results"]["metrics"]["data_drift"]["kind"] == "data_drift"
    assert payload["charts"]["psi_bars"]
    assert payload["evaluations"][0]["explanation"]
    assert payload["library_versions"]["numpy"]
    assert payload["error"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"config": {"columns": ["age", "salary"]}}, "config.columns"),
        ({"config": {"thresholds": {"psi_warm": 0.2}}}, "config.thresholds.psi_warm"),
        ({"config": {"colums": ["age"]}}, "config.colums"),
        ({"config": {"options": {"psi_bins": "ten"}}}, "config.options.psi_bins"),
        ({"reference_dataset": ""}, "reference_dataset"),
        ({"current_dataset": "applications:99"}, "current_dataset"),
        ({"current_dataset": "applications:x"}, "current_dataset"),
        ({"kind": "vibes"}, "kind"),
    ],
)
def test_it_answers_400_naming_the_field_at_fault(api, maya, version, reference, current, change, field):
    response = api.as_user(maya).post(LIST, body(version, reference, current) | change, format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"], response.json()
    assert not CheckRun.objects.exists()


def test_it_names_the_missing_target_for_a_fairness_check(api, maya, version, dataset):
    frame = factories.credit_frame(seed=30)
    current = factories.make_dataset_version(maya, dataset, frame, target_column="")
    payload = {
        "kind": "fairness",
        "model": version.model.name,
        "version": 1,
        "current_dataset": f"{dataset.name}:{current.version}",
    }

    response = api.as_user(maya).post(LIST, payload, format="json")

    assert response.status_code == 400
    assert "config.target" in response.json()["error"]["fields"]


def test_it_filters_runs(api, maya, version, reference, current):
    drift = queue(maya, "drift", version, reference=reference, current=current)
    quality = queue(maya, "data_quality", version, reference=reference, current=current)
    client = api.as_user(maya)

    def ids(**query):
        return [r["id"] for r in client.get(LIST, query).json()["results"]]

    assert ids(kind="drift") == [drift.pk]
    assert ids(model=version.model.name, version=1) == [quality.pk, drift.pk]
    assert ids(model="other") == []
    assert ids(status="queued") == [quality.pk, drift.pk]
    assert ids(outcome="pass") == []
    assert client.get(LIST, {"status": "nonsense"}).status_code == 400


def test_it_lists_with_a_constant_number_of_queries(
    api, maya, version, reference, current, django_assert_max_num_queries
):
    for _ in range(12):
        queue(maya, "drift", version, reference=reference, current=current)
    client = api.as_user(maya)
    with django_assert_max_num_queries(8):
        response = client.get(LIST, {"page_size": 50})
    assert response.json()["count"] == 12
