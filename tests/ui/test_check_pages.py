"""Check pages: /checks/, /checks/new/, /checks/<id>/ and its polled progress partial.

Runs are queued through the service and, where a test needs results, executed in-process as a worker
would (tests/monitoring/conftest.py's ``execute``); nothing waits on a clock.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from monitoring.models import CheckRun
from registry.models.datasets import DatasetRole
from tests.monitoring import factories
from tests.monitoring.conftest import execute, queue

pytestmark = pytest.mark.django_db
LIST = reverse("check-list")
NEW = reverse("check-new")
READERS = ["maya", "victor", "aaron", "rita", "admin_user"]


@pytest.fixture
def model(maya, credit_risk):
    return factories.make_model(maya, credit_risk)


@pytest.fixture
def dataset(maya, credit_risk):
    return factories.make_dataset(maya, credit_risk)


@pytest.fixture
def training(maya, dataset):
    return factories.make_dataset_version(
        maya, dataset, factories.credit_frame(seed=2), role=DatasetRole.TRAINING
    )


@pytest.fixture
def current(maya, dataset, training):
    frame = factories.credit_frame(seed=3, shift=0.5)
    return factories.make_dataset_version(maya, dataset, frame, role=DatasetRole.PRODUCTION_BATCH)


@pytest.fixture
def version(maya, model, training):
    return factories.make_version(
        maya, model, factories.skops_bytes(factories.trained_model()), training_datasets=[training]
    )


@pytest.fixture
def drift_run(maya, version, training, current):
    return execute(queue(maya, "drift", version, reference=training, current=current))


def client_for(client, user):
    if user is not None:
        client.force_login(user)
    return client


def new_url(version, kind: str = "") -> str:
    url = f"{NEW}?model={version.model.name}&version={version.version}"
    return f"{url}&kind={kind}" if kind else url


def detail(run) -> str:
    return reverse("check-detail", args=[run.pk])


def progress(run) -> str:
    return reverse("check-progress", args=[run.pk])


def flat(response) -> str:
    return " ".join(response.content.decode().split())


# --- permissions --------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", READERS)
def test_it_shows_runs_to_the_team_and_to_readers(client, request, persona, drift_run):
    client_for(client, request.getfixturevalue(persona))

    assert detail(drift_run) in client.get(LIST).content.decode()
    assert client.get(detail(drift_run)).status_code == 200
    assert client.get(progress(drift_run)).status_code == 286


def test_it_hides_runs_from_an_outsider(client, olga, drift_run):
    client_for(client, olga)

    assert detail(drift_run) not in client.get(LIST).content.decode()
    assert client.get(detail(drift_run)).status_code == 404
    assert client.get(progress(drift_run)).status_code == 404


def test_it_sends_anonymous_visitors_to_sign_in(client, drift_run, version):
    for url in (LIST, detail(drift_run), progress(drift_run), new_url(version)):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("persona", ["aaron", "rita"])
def test_it_refuses_readers_the_form_and_the_post_with_403(
    client, request, persona, version, training, current
):
    client_for(client, request.getfixturevalue(persona))

    assert client.get(new_url(version)).status_code == 403
    response = client.post(
        new_url(version),
        {"kind": "drift", "reference_dataset": training.pk, "current_dataset": current.pk},
    )
    assert response.status_code == 403
    assert not CheckRun.objects.exists()
    assert 'id="start-check"' not in client.get(LIST).content.decode()


def test_it_answers_404_to_an_outsider_asking_for_another_teams_version(client, olga, version):
    assert client_for(client, olga).get(new_url(version)).status_code == 404


# --- starting a check ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["maya", "victor"])
def test_it_starts_a_drift_check_and_redirects_to_the_run(
    client, request, persona, version, training, current
):
    user = request.getfixturevalue(persona)
    response = client_for(client, user).post(
        new_url(version, "drift"),
        {
            "kind": "drift",
            "reference_dataset": training.pk,
            "current_dataset": current.pk,
            "threshold_psi_fail": "0.3",
        },
    )

    run = CheckRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail(run)
    assert (run.kind, run.requested_by, run.reference_dataset, run.current_dataset) == (
        "drift",
        user,
        training,
        current,
    )
    assert run.thresholds["psi_fail"] == {"value": 0.3, "source": "request", "binding": False}


def test_it_prefills_the_training_data_as_reference_and_the_newest_batch_as_current(
    client, maya, version, training, current
):
    body = flat(client_for(client, maya).get(new_url(version)))

    assert f'<option value="{training.pk}" selected>' in body
    assert f'<option value="{current.pk}" selected>' in body
    assert ">Start check</button>" in body
    assert '<label for="id_reference_dataset">Reference dataset</label>' in body


def test_it_asks_each_kind_for_its_own_inputs(client, maya, version, current):
    client_for(client, maya)

    fairness = flat(client.get(new_url(version, "fairness")))
    performance = flat(client.get(new_url(version, "performance")))

    assert 'name="sensitive_columns"' in fairness
    assert 'value="sex"' in fairness  # the current dataset's declared sensitive column
    assert 'name="reference_dataset"' not in fairness
    assert 'name="threshold_demographic_parity_ratio_min"' in fairness
    assert 'name="threshold_roc_auc_min"' in performance
    assert 'name="sensitive_columns"' not in performance


def test_it_starts_a_fairness_check_on_the_chosen_sensitive_columns(client, maya, version, current):
    response = client_for(client, maya).post(
        new_url(version, "fairness"),
        {"kind": "fairness", "current_dataset": current.pk, "sensitive_columns": "sex, region"},
    )

    run = CheckRun.objects.get()
    assert response.status_code == 302
    assert run.config["sensitive_columns"] == ["sex", "region"]


def test_it_passes_the_task_and_the_positive_label_of_a_performance_check(client, maya, version, current):
    client_for(client, maya)
    url = new_url(version, "performance")

    client.post(
        url, {"kind": "performance", "current_dataset": current.pk, "positive_label": "1", "task": "binary"}
    )
    client.post(
        url, {"kind": "performance", "current_dataset": current.pk, "positive_label": "bad", "task": "binary"}
    )

    first, second = CheckRun.objects.order_by("pk")
    assert (first.config["task"], first.config["positive_label"]) == ("binary", 1)
    assert second.config["positive_label"] == "bad"


def test_it_shows_the_services_error_next_to_the_field(client, maya, version, current):
    response = client_for(client, maya).post(
        new_url(version, "drift"), {"kind": "drift", "current_dataset": current.pk}
    )

    assert response.status_code == 200
    body = flat(response)
    assert 'id="id_reference_dataset_error"' in body
    assert "A drift check needs a reference dataset." in body
    assert 'aria-invalid="true"' in body
    assert not CheckRun.objects.exists()


def test_it_shows_an_unknown_column_as_an_error_of_that_field(client, maya, version, current):
    response = client_for(client, maya).post(
        new_url(version, "fairness"),
        {"kind": "fairness", "current_dataset": current.pk, "sensitive_columns": "postcode"},
    )

    assert response.status_code == 200
    body = flat(response)
    assert 'id="id_sensitive_columns_error"' in body
    assert "no column &#x27;postcode&#x27;" in body
    assert not CheckRun.objects.exists()


def test_it_refuses_a_threshold_that_is_not_a_number(client, maya, version, training, current):
    response = client_for(client, maya).post(
        new_url(version, "drift"),
        {
            "kind": "drift",
            "reference_dataset": training.pk,
            "current_dataset": current.pk,
            "threshold_psi_warn": "high",
        },
    )

    assert response.status_code == 200
    assert 'id="id_threshold_psi_warn_error"' in flat(response)
    assert not CheckRun.objects.exists()


def test_it_refuses_a_dataset_the_user_cannot_see(client, maya, olga, fraud, version, training):
    hidden = factories.make_dataset_version(
        olga, factories.make_dataset(olga, fraud, name="fraud-batches"), factories.credit_frame(seed=4)
    )
    response = client_for(client, maya).post(
        new_url(version, "drift"),
        {"kind": "drift", "reference_dataset": training.pk, "current_dataset": hidden.pk},
    )

    assert response.status_code == 200
    assert 'id="id_current_dataset_error"' in flat(response)
    assert not CheckRun.objects.exists()


def test_it_asks_which_model_when_none_is_given(client, maya):
    response = client_for(client, maya).get(NEW)

    assert response.status_code == 200
    assert '<label for="id_model">Model name</label>' in response.content.decode()


# --- the run page and its progress --------------------------------------------------------------------


def test_it_polls_the_progress_of_a_queued_run(client, maya, version, training, current):
    run = queue(maya, "drift", version, reference=training, current=current)
    client_for(client, maya)

    page = flat(client.get(detail(run)))
    partial = client.get(progress(run), headers={"HX-Request": "true"})

    assert f'hx-get="{progress(run)}" hx-trigger="every 1s"' in page
    assert '<strong id="run-status" class="badge warn">queued</strong>' in page
    assert 'aria-live="polite"' in page
    assert 'role="progressbar"' in page
    assert partial.status_code == 200
    assert 'hx-trigger="every 1s"' in partial.content.decode()
    assert 'hx-swap-oob="innerHTML"' in partial.content.decode()


def test_it_stops_polling_with_286_and_the_results_once_the_run_finished(client, maya, drift_run):
    response = client_for(client, maya).get(progress(drift_run), headers={"HX-Request": "true"})

    body = flat(response)
    assert response.status_code == 286
    assert "hx-trigger" not in body
    assert '<strong id="run-status" class="badge ok">succeeded</strong>' in body
    assert '<div id="run-results" hx-swap-oob="innerHTML">' in body
    assert "PSI per feature" in body


def test_it_shows_drift_results_with_thresholds_charts_and_provenance(client, aaron, drift_run):
    body = flat(client_for(client, aaron).get(detail(drift_run)))

    assert "hx-trigger" not in body
    assert 'id="run-outcome" class="badge' in body
    assert escape(drift_run.outcome_reason) in body
    assert "psi_fail" in body
    assert "default: PSI bands" in body  # the threshold's source
    assert '<svg role="img" aria-label="PSI per feature"' in body
    assert '<svg role="img" aria-label="Reference and current distributions"' in body
    assert "<?xml" not in body
    assert drift_run.result_sha256 in body
    assert drift_run.current_sha256 in body
    assert "numpy" in body  # library versions
    assert '<details id="raw-results">' in body


def test_it_shows_fairness_groups_and_a_selection_rate_chart(client, maya, version, current):
    run = execute(queue(maya, "fairness", version, current=current))

    body = flat(client_for(client, maya).get(detail(run)))

    assert run.status == "succeeded", run.error_message
    assert '<svg role="img" aria-label="Selection rate by sex"' in body
    assert "Disparate impact" in body


def test_it_shows_performance_charts(client, maya, version, current):
    run = execute(queue(maya, "performance", version, current=current))

    body = flat(client_for(client, maya).get(detail(run)))

    assert run.status == "succeeded", run.error_message
    for title in ("Confusion matrix", "ROC curve", "Calibration"):
        assert f'<svg role="img" aria-label="{title}"' in body


def test_it_shows_data_quality_issues_in_a_table(client, maya, version, training, dataset):
    frame = factories.credit_frame(seed=6)
    frame.loc[:150, "age"] = None
    batch = factories.make_dataset_version(maya, dataset, frame, role=DatasetRole.PRODUCTION_BATCH)
    run = execute(queue(maya, "data_quality", version, reference=training, current=batch))

    body = flat(client_for(client, maya).get(detail(run)))

    assert run.status == "succeeded", run.error_message
    assert '<table class="responsive" id="quality-issues">' in body
    assert "age" in body


def test_it_shows_shap_charts_for_an_explainability_run(client, maya, version, current):
    run = execute(queue(maya, "explainability", version, current=current, options={"max_rows": 50}))

    body = flat(client_for(client, maya).get(detail(run)))

    assert run.status == "succeeded", run.error_message
    assert '<svg role="img" aria-label="Mean |SHAP| per feature"' in body
    assert '<svg role="img" aria-label="SHAP values per row"' in body


def test_it_shows_why_a_run_failed(client, maya, version, dataset):
    frame = factories.credit_frame(seed=7).astype({"label": "float"})
    frame.loc[3, "label"] = None
    batch = factories.make_dataset_version(maya, dataset, frame, role=DatasetRole.PRODUCTION_BATCH)
    run = execute(queue(maya, "fairness", version, current=batch))

    response = client_for(client, maya).get(detail(run))

    body = flat(response)
    assert run.status == "failed"
    assert '<strong id="run-status" class="badge fail">failed</strong>' in body
    assert run.error_type in body
    assert "missing values" in body


# --- the list -----------------------------------------------------------------------------------------


@pytest.fixture
def three_runs(maya, version, training, current):
    drift = execute(queue(maya, "drift", version, reference=training, current=current))
    fairness = execute(queue(maya, "fairness", version, current=current))
    queued = queue(maya, "drift", version, reference=training, current=current, columns=["age"])
    return drift, fairness, queued


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, [2, 1, 0]),
        ({"kind": "fairness"}, [1]),
        ({"kind": "drift"}, [2, 0]),
        ({"status": "queued"}, [2]),
        ({"status": "succeeded"}, [1, 0]),
        ({"model": "credit-scoring", "version": "1"}, [2, 1, 0]),
        ({"model": "other"}, []),
    ],
)
def test_it_filters_the_list(client, aaron, three_runs, query, expected):
    body = client_for(client, aaron).get(LIST, query).content.decode()

    shown = [index for index, run in enumerate(three_runs) if f'href="{detail(run)}"' in body]
    assert sorted(shown, reverse=True) == expected
    newest_first = sorted(shown, key=lambda index: body.index(f'href="{detail(three_runs[index])}"'))
    assert newest_first == expected


def test_it_filters_by_outcome(client, aaron, three_runs):
    drift, fairness, _ = three_runs
    body = client_for(client, aaron).get(LIST, {"outcome": drift.outcome}).content.decode()

    assert f'href="{detail(drift)}"' in body
    assert (f'href="{detail(fairness)}"' in body) is (fairness.outcome == drift.outcome)


def test_it_paginates_the_list(client, aaron, three_runs):
    client_for(client, aaron)

    first = client.get(LIST, {"page_size": 2}).content.decode()
    second = client.get(LIST, {"page_size": 2, "page": 2}).content.decode()

    assert "Page 1 of 2" in first
    assert f'href="{detail(three_runs[0])}"' in second
    assert f'href="{detail(three_runs[0])}"' not in first


def test_it_lists_runs_with_the_same_number_of_queries_for_1_and_30(
    client, maya, version, training, current, django_assert_max_num_queries
):
    queue(maya, "drift", version, reference=training, current=current)
    client_for(client, maya).get(LIST)
    with CaptureQueriesContext(connection) as one:
        client.get(LIST)
    for _ in range(29):
        queue(maya, "fairness", version, current=current)

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(LIST, {"page_size": 50})

    assert response.content.decode().count('data-label="Run"') == 30
