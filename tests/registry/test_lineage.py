"""Lineage: the graph endpoint over three levels, and OpenLineage RunEvents from openlineage-python."""

import json
import uuid
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.generated import (
    data_quality_metrics_input_dataset,
    dataset_version_dataset,
    output_statistics_output_dataset,
)
from openlineage.client.serde import Serde

from accounts.services.accounts import token_create
from audit.models import AuditEvent
from registry.models import LineageEdge, LineageEvent, LineageRun
from tests.registry.conftest import make_dataset, make_dataset_version, make_model, make_version

PRODUCER = "https://github.com/example/credit-pipeline"
JOB_NAMESPACE = "credit-risk-ci"


def lineage_url(model: str, version: int, depth: int) -> str:
    return reverse("api:model-version-lineage", args=[model, version]) + f"?depth={depth}"


def node_ids(body) -> set[str]:
    return {node["id"] for node in body["nodes"]}


@pytest.fixture
def three_levels(maya, credit_risk, dataset, model):
    """bureau-score (model) → credit-scoring; german-credit:1 → v1 → v2 → v3 (parent chain)."""
    upstream = make_model(maya, credit_risk, name="bureau-score")
    from registry.services.inventory import model_update

    model_update(actor=maya, model=model, upstream=[upstream])
    training = make_dataset_version(maya, dataset, role="training")
    v1 = make_version(maya, model, content=b"v1", training_datasets=[training])
    v2 = make_version(maya, model, content=b"v2", parent=v1)
    return make_version(maya, model, content=b"v3", parent=v2)


@pytest.mark.django_db
def test_it_walks_three_levels_upstream(api, maya, three_levels):
    one = api.as_user(maya).get(lineage_url("credit-scoring", 3, 1)).json()
    assert node_ids(one) == {
        "model_version:credit-scoring:3",
        "model_version:credit-scoring:2",
        "model:credit-scoring",
    }
    three = api.as_user(maya).get(lineage_url("credit-scoring", 3, 3)).json()
    assert node_ids(three) == {
        "model_version:credit-scoring:3",
        "model_version:credit-scoring:2",
        "model_version:credit-scoring:1",
        "model:credit-scoring",
        "model:bureau-score",
        "dataset_version:german-credit:1",
    }
    edges = {(e["source"], e["target"], e["kind"]) for e in three["edges"]}
    assert ("dataset_version:german-credit:1", "model_version:credit-scoring:1", "trained_on") in edges
    assert ("model_version:credit-scoring:1", "model_version:credit-scoring:2", "parent") in edges
    assert ("model:bureau-score", "model:credit-scoring", "upstream_model") in edges


@pytest.mark.django_db
def test_it_walks_downstream_too(api, maya, three_levels):
    body = api.as_user(maya).get(lineage_url("credit-scoring", 1, 2)).json()
    assert {"model_version:credit-scoring:2", "model_version:credit-scoring:3"} <= node_ids(body)
    dataset_url = reverse("api:dataset-version-lineage", args=["german-credit", 1]) + "?depth=1"
    body = api.as_user(maya).get(dataset_url).json()
    assert node_ids(body) == {"dataset_version:german-credit:1", "model_version:credit-scoring:1"}


@pytest.mark.django_db
def test_it_refuses_a_depth_out_of_range(api, maya, three_levels):
    for depth in (0, 11):
        assert api.as_user(maya).get(lineage_url("credit-scoring", 3, depth)).status_code == 400


@pytest.mark.django_db
def test_it_hides_nodes_the_user_may_not_see(api, maya, olga, fraud, credit_risk, model):
    from registry.services.inventory import model_update

    hidden = make_model(olga, fraud, name="card-fraud")
    model_update(actor=maya, model=model, upstream=[])
    LineageEdge.objects.create(kind="upstream_model", src_model=hidden, dst_model=model)
    make_version(maya, model)
    body = api.as_user(maya).get(lineage_url("credit-scoring", 1, 3)).json()
    assert "model:card-fraud" not in node_ids(body)
    assert api.as_user(olga).get(lineage_url("credit-scoring", 1, 3)).status_code == 404


# --- OpenLineage ---------------------------------------------------------------------------------


def run_events(run_id: str) -> tuple[RunEvent, RunEvent]:
    """A START and a COMPLETE of a training job reading german-credit and writing scored-applicants."""
    job = Job(namespace=JOB_NAMESPACE, name="train-credit-scoring")
    metrics = data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet(
        columnMetrics={"age": data_quality_metrics_input_dataset.ColumnMetrics(nullCount=0, min=19, max=75)},
        rowCount=3,
    )
    version_facet = dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="1")
    inputs = [
        InputDataset(
            namespace="attest",
            name="german-credit",
            facets={"version": version_facet},
            inputFacets={"dataQualityMetrics": metrics},
        ),
        InputDataset(namespace="s3://elsewhere", name="unknown-table"),
    ]
    statistics = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=3, size=120)
    outputs = [
        OutputDataset(
            namespace="attest", name="scored-applicants", outputFacets={"outputStatistics": statistics}
        )
    ]
    start = RunEvent(
        eventType=RunState.START,
        eventTime=datetime(2026, 1, 5, 9, 0, tzinfo=UTC).isoformat(),
        run=Run(runId=run_id),
        job=job,
        producer=PRODUCER,
        inputs=inputs,
    )
    complete = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=datetime(2026, 1, 5, 9, 30, tzinfo=UTC).isoformat(),
        run=Run(runId=run_id),
        job=job,
        producer=PRODUCER,
        inputs=inputs,
        outputs=outputs,
    )
    return start, complete


@pytest.fixture
def lineage_setup(maya, credit_risk, dataset, model):
    from registry.services.inventory import model_update

    model_update(actor=maya, model=model, lineage_namespace=JOB_NAMESPACE, lineage_job="train-credit-scoring")
    make_dataset_version(maya, dataset, role="training")
    scored = make_dataset(maya, credit_risk, name="scored-applicants")
    make_dataset_version(maya, scored, content=b"id,score\n1,0.5\n")
    run_id = str(uuid.uuid4())
    make_version(maya, model, content=b"trained by the run", run_id=run_id)
    return run_id


@pytest.mark.django_db
def test_it_takes_a_start_and_complete_pair_with_facets(api, maya, lineage_setup):
    run_id = lineage_setup
    _, secret = token_create(actor=maya, name="ci")
    client = api.with_token(secret)
    url = reverse("api:openlineage")
    for event in run_events(run_id):
        response = client.post(url, data=Serde.to_json(event), content_type="application/json")
        assert response.status_code == 201, response.json()
    run = LineageRun.objects.get(run_id=run_id)
    assert (run.state, run.model.name, run.model_version.version) == ("COMPLETE", "credit-scoring", 1)
    assert run.started_at < run.ended_at
    complete = LineageEvent.objects.get(event_type="COMPLETE")
    assert complete.payload["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 3
    assert complete.payload["inputs"][0]["inputFacets"]["dataQualityMetrics"]["rowCount"] == 3
    assert complete.resolution["inputs"] == ["german-credit:1"]
    assert complete.resolution["outputs"] == ["scored-applicants:1"]
    assert complete.resolution["unresolved"] == ["input s3://elsewhere/unknown-table"]
    edges = {(e.kind, e.origin) for e in LineageEdge.objects.filter(run=run)}
    assert edges == {("consumed", "openlineage"), ("produced", "openlineage")}
    assert AuditEvent.objects.filter(action="lineage.event_received").count() == 2
    graph = api.as_user(maya).get(lineage_url("credit-scoring", 1, 1)).json()
    assert "dataset_version:scored-applicants:1" in node_ids(graph)


@pytest.mark.django_db
def test_it_stores_a_retried_event_once(api, maya, lineage_setup):
    start, _ = run_events(lineage_setup)
    client = api.as_user(maya)
    body = Serde.to_json(start)
    first = client.post("/api/v1/lineage", data=body, content_type="application/json")
    again = client.post("/api/v1/lineage/", data=body, content_type="application/json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert LineageEvent.objects.count() == 1


@pytest.mark.django_db
def test_it_refuses_malformed_events_and_readers(api, maya, aaron, lineage_setup):
    url = reverse("api:openlineage")
    start, _ = run_events(lineage_setup)
    assert (
        api.as_user(None).post(url, data=Serde.to_json(start), content_type="application/json").status_code
        == 401
    )
    assert (
        api.as_user(aaron).post(url, data=Serde.to_json(start), content_type="application/json").status_code
        == 403
    )
    broken = json.loads(Serde.to_json(start)) | {"eventTime": "yesterday", "run": {}}
    response = api.as_user(maya).post(url, data=json.dumps(broken), content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"eventTime", "run.runId"}


@pytest.mark.django_db(transaction=True)
def test_it_accepts_events_from_the_openlineage_http_transport(live_server, maya, lineage_setup):
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

    _, secret = token_create(actor=maya, name="openlineage")
    config = HttpConfig(url=live_server.url, auth=ApiKeyTokenProvider({"apiKey": secret}), retry={"total": 0})
    client = OpenLineageClient(transport=HttpTransport(config))
    for event in run_events(lineage_setup):
        client.emit(event)
    run = LineageRun.objects.get(run_id=lineage_setup)
    assert run.state == "COMPLETE"
    assert run.events.count() == 2
    assert {event.received_by.username for event in run.events.all()} == {"maya"}
