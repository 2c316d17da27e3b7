"""Inventory pages: /models/, a model, a version. Who sees what, what each page shows, list controls.

Personas (tests/conftest.py): maya (ml-engineer) and victor (validator) in credit-risk, aaron (auditor),
rita (risk officer), admin; olga (ml-engineer, fraud) is the outsider who must see nothing of credit-risk.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from monitoring.services import plans
from registry import storage, ui_lineage
from registry.models.datasets import DatasetRole
from registry.services import inventory
from tests.monitoring import factories
from tests.monitoring.conftest import execute
from tests.workflow.conftest import reviewed
from workflow.services import evidence as evidence_services

pytestmark = pytest.mark.django_db
LIST = reverse("model-list")
READERS = ["maya", "victor", "aaron", "rita", "admin_user"]


@pytest.fixture
def model(maya, credit_risk):
    return inventory.model_create(
        actor=maya,
        team=credit_risk,
        name="credit-scoring",
        title="Credit scoring",
        tier_answers=factories.LOW_RISK,
        purpose="Score retail credit applications.",
        intended_use="Pre-screening of applications under 50k.",
        limitations="Not validated for small-business lending.",
        tags={"domain": "retail"},
    )


@pytest.fixture
def dataset(maya, credit_risk):
    return factories.make_dataset(maya, credit_risk)


@pytest.fixture
def training(maya, dataset):
    return factories.make_dataset_version(
        maya, dataset, factories.credit_frame(seed=1), role=DatasetRole.TRAINING
    )


@pytest.fixture
def version(maya, model, training):
    return factories.make_version(
        maya,
        model,
        factories.skops_bytes(factories.trained_model()),
        run_id="mlflow-run-42",
        run_link="https://mlflow.example.com/#/runs/42",
        tags={"stage": "candidate"},
        parameters={"C": 1.0},
        metrics={"auc": 0.81},
        signature={"inputs": [{"name": "age", "type": "double"}, {"name": "income", "type": "double"}]},
        training_datasets=[training],
    )


@pytest.fixture
def fraud_model(olga, fraud):
    return inventory.model_create(
        actor=olga, team=fraud, name="card-fraud", title="Card fraud", tier_answers=factories.LOW_RISK
    )


def client_for(client, user):
    if user is not None:
        client.force_login(user)
    return client


def page_urls(version) -> list[str]:
    name = version.model.name
    return [
        reverse("model-detail", args=[name]),
        reverse("model-version-detail", args=[name, version.version]),
    ]


# --- permissions --------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", READERS)
def test_it_shows_every_reader_the_teams_model_in_the_list_and_its_pages(client, request, persona, version):
    client_for(client, request.getfixturevalue(persona))

    listed = client.get(LIST)
    assert listed.status_code == 200
    assert reverse("model-detail", args=["credit-scoring"]) in listed.content.decode()
    for url in page_urls(version):
        assert client.get(url).status_code == 200, url


def test_it_shows_an_outsider_none_of_credit_risks_models(client, olga, version, fraud_model):
    body = client_for(client, olga).get(LIST).content.decode()

    assert "card-fraud" in body
    assert "credit-scoring" not in body
    assert "credit-risk" not in body  # not even as a team filter choice


def test_it_answers_404_to_an_outsider_on_the_detail_pages(client, olga, version):
    client_for(client, olga)

    for url in page_urls(version):
        assert client.get(url).status_code == 404, url


def test_it_sends_anonymous_visitors_to_sign_in(client, version):
    for url in [LIST, *page_urls(version)]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next=")


def test_it_offers_starting_a_check_only_to_people_who_may_run_checks(
    client, maya, victor, aaron, rita, version
):
    for user, offered in ((maya, True), (victor, True), (aaron, False), (rita, False)):
        body = client_for(client, user).get(page_urls(version)[1]).content.decode()
        assert ('id="start-check"' in body) is offered, user.username


# --- the model page -----------------------------------------------------------------------------------


def test_it_shows_the_inventory_fields_versions_and_links_to_governance_pages(client, aaron, version):
    body = client_for(client, aaron).get(page_urls(version)[0]).content.decode()

    for text in (
        "Score retail credit applications.",
        "Pre-screening of applications under 50k.",
        "Not validated for small-business lending.",
        "Tier 3 (low)",
        "domain=retail",
        "maya",
        "Materiality",
        reverse("model-version-detail", args=["credit-scoring", 1]),
        version.artifact_sha256[:12],
        "/findings/?model=credit-scoring",
        "/approvals/?model=credit-scoring",
        "/reports/?model=credit-scoring",
    ):
        assert text in body, text


def test_it_highlights_an_overdue_review(client, maya, credit_risk):
    late = inventory.model_create(
        actor=maya, team=credit_risk, name="late-model", title="Late", tier_answers=factories.LOW_RISK
    )
    reviewed(late, on=date.today() - timedelta(days=800))
    client_for(client, maya)

    assert "review overdue" in client.get(reverse("model-detail", args=["late-model"])).content.decode()
    assert "overdue</span>" in client.get(LIST).content.decode()


def test_it_draws_the_lineage_as_an_accessible_svg_with_the_edges_as_text(client, maya, version, training):
    body = " ".join(client_for(client, maya).get(page_urls(version)[0]).content.decode().split())

    assert '<svg role="img" aria-labelledby="lineage-title lineage-desc"' in body
    assert '<title id="lineage-title">Lineage of credit-scoring</title>' in body
    assert 'marker-end="url(#lineage-arrow)"' in body
    # the model, its version and the dataset the version was trained on, linked in the list beside
    assert "applications v1</a> trained <a" in body
    assert reverse("api:dataset-version-detail", args=["applications", training.version]) in body
    assert "credit-scoring</a> has version <a" in body


def test_it_lays_out_lineage_in_columns_by_hop_and_caps_a_crowded_column():
    nodes = [{"id": "model:m", "type": "model", "model": "m"}]
    nodes += [{"id": "model:up", "type": "model", "model": "up"}]
    nodes += [
        {"id": f"model_version:m:{n}", "type": "model_version", "model": "m", "version": n}
        for n in range(1, 16)
    ]
    edges = [{"source": "model:up", "target": "model:m", "kind": "upstream_model"}]
    edges += [
        {"source": "model:m", "target": f"model_version:m:{n}", "kind": "version_of"} for n in range(1, 16)
    ]

    layout = ui_lineage.layout({"root": "model:m", "nodes": nodes, "edges": edges})

    x = {box.id: box.x for box in layout.boxes}
    assert x["model:up"] < x["model:m"] < x["model_version:m:15"]
    versions = [box for box in layout.boxes if box.id.startswith("model_version:")]
    assert [box.label for box in versions[:2]] == ["m v15", "m v14"]  # newest first
    assert len(versions) == ui_lineage.MAX_PER_COLUMN
    assert [box.short_label for box in layout.boxes if box.is_more] == ["+ 3 more"]
    assert len(layout.arrows) == 1 + ui_lineage.MAX_PER_COLUMN
    assert len(layout.edges) == 16  # the text list keeps every edge


def test_it_lists_monitoring_plans_with_their_last_alert(client, maya, rita, version, dataset, training):
    plan = plans.monitoring_plan_create(
        actor=maya,
        version=version,
        dataset=dataset,
        reference=training,
        checks=[{"kind": "drift", "config": {"columns": ["age", "income"]}}],
        crontab="0 6 * * *",
        title="Nightly drift",
    )
    factories.make_dataset_version(
        maya, dataset, factories.credit_frame(seed=9, shift=1.0), role=DatasetRole.PRODUCTION_BATCH
    )
    (run,) = plans.monitoring_plan_run(plan_id=plan.pk)
    execute(run)

    body = client_for(client, rita).get(page_urls(version)[0]).content.decode()

    assert "Nightly drift" in body
    assert "cron 0 6 * * * (UTC)" in body
    assert "Critical" in body
    assert reverse("check-detail", args=[run.pk]) in body


def test_it_escapes_what_users_typed(client, maya, credit_risk):
    inventory.model_create(
        actor=maya,
        team=credit_risk,
        name="xss",
        title="<script>alert(1)</script>",
        tier_answers=factories.LOW_RISK,
    )
    body = client_for(client, maya).get(reverse("model-detail", args=["xss"])).content.decode()

    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


# --- the version page ---------------------------------------------------------------------------------


def test_it_shows_the_artifact_training_run_datasets_checks_and_evidence(
    client, maya, victor, version, training
):
    current = factories.make_dataset_version(
        maya, training.dataset, factories.credit_frame(seed=5, shift=0.5), role=DatasetRole.PRODUCTION_BATCH
    )
    from tests.monitoring.conftest import queue

    run = execute(queue(maya, "drift", version, reference=training, current=current))
    document = evidence_services.evidence_add(
        actor=maya,
        version=version,
        evidence_type="data_review",
        title="Data review memo",
        upload=storage.upload_from_file(io.BytesIO(b"memo"), "memo.txt"),
    )

    body = client_for(client, victor).get(page_urls(version)[1]).content.decode()

    for text in (
        version.artifact_sha256,
        "model.skops",
        reverse("api:model-version-download", args=["credit-scoring", 1]),
        "mlflow-run-42",
        'href="https://mlflow.example.com/#/runs/42"',
        "stage=candidate",
        "auc",
        "<code>age</code>: double",
        training.file_sha256,
        reverse("check-detail", args=[run.pk]),
        "Drift",
        "Data review memo",
        document.sha256[:12],
        reverse("api:evidence-download", args=[document.pk]),
    ):
        assert text in body, text


# --- list controls ------------------------------------------------------------------------------------


@pytest.fixture
def inventory_of_three(maya, credit_risk, admin_user, fraud, olga):
    high = {**factories.LOW_RISK, "materiality": "high", "regulatory_exposure": "high", "reliance": "high"}
    inventory.model_create(
        actor=maya,
        team=credit_risk,
        name="alpha",
        title="Alpha pricing",
        tier_answers=high,
        tags={"domain": "retail"},
    )
    bravo = inventory.model_create(
        actor=maya,
        team=credit_risk,
        name="bravo",
        title="Bravo churn",
        tier_answers=factories.LOW_RISK,
        owner=admin_user,
    )
    reviewed(bravo, on=date.today() - timedelta(days=800))
    inventory.model_create(
        actor=admin_user,
        team=fraud,
        name="charlie",
        title="Charlie fraud",
        tier_answers=factories.LOW_RISK,
        tags={"domain": "cards"},
        owner=olga,  # the owner belongs to the owning team
    )


def names_in(response) -> list[str]:
    body = response.content.decode()
    return [name for name in ("alpha", "bravo", "charlie") if f'/models/{name}/"' in body]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["alpha", "bravo", "charlie"]),
        ({"q": "churn"}, ["bravo"]),
        ({"q": "ALPH"}, ["alpha"]),
        ({"team": "fraud"}, ["charlie"]),
        ({"tier": "1"}, ["alpha"]),
        ({"tier": "3"}, ["bravo", "charlie"]),
        ({"status": "draft"}, ["alpha", "bravo", "charlie"]),
        ({"status": "retired"}, []),
        ({"tag": "domain"}, ["alpha", "charlie"]),
        ({"tag": "domain=cards"}, ["charlie"]),
        ({"owner": "admin"}, ["bravo"]),
        ({"review_overdue": "true"}, ["bravo"]),
        ({"review_overdue": "false"}, ["alpha", "charlie"]),
    ],
)
def test_it_filters_and_searches_the_list(client, aaron, inventory_of_three, query, expected):
    response = client_for(client, aaron).get(LIST, query)

    assert response.status_code == 200
    assert names_in(response) == expected


def test_it_ignores_an_invalid_filter_value_and_says_so(client, aaron, inventory_of_three):
    response = client_for(client, aaron).get(LIST, {"tier": "9"})

    assert response.status_code == 200
    assert names_in(response) == ["alpha", "bravo", "charlie"]
    assert 'role="alert"' in response.content.decode()


def order_in(response) -> list[str]:
    body = response.content.decode()
    found = {
        name: body.index(f'/models/{name}/"')
        for name in ("alpha", "bravo", "charlie")
        if f'/models/{name}/"' in body
    }
    return sorted(found, key=found.get)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["alpha", "bravo", "charlie"]),
        ("-name", ["charlie", "bravo", "alpha"]),
        ("tier", ["alpha", "bravo", "charlie"]),
        ("-tier", ["bravo", "charlie", "alpha"]),
        ("next_review", ["bravo", "alpha", "charlie"]),
        ("-updated", ["charlie", "bravo", "alpha"]),
        ("bogus", ["alpha", "bravo", "charlie"]),
    ],
)
def test_it_sorts_the_list(client, aaron, inventory_of_three, sort, expected):
    response = client_for(client, aaron).get(LIST, {"sort": sort})

    assert order_in(response) == expected


def test_it_paginates_the_list_and_keeps_the_filters_in_the_page_links(client, aaron, inventory_of_three):
    client_for(client, aaron)

    first = client.get(LIST, {"page_size": 2, "q": "a"})
    second = client.get(LIST, {"page_size": 2, "q": "a", "page": 2})

    assert order_in(first) == ["alpha", "bravo"]
    assert order_in(second) == ["charlie"]
    assert "Page 1 of 2" in first.content.decode()
    assert "page_size=2&amp;q=a&amp;page=2" in first.content.decode()


def test_it_lists_with_the_same_number_of_queries_for_1_and_30_models(
    client, maya, credit_risk, django_assert_max_num_queries
):
    factories.make_model(maya, credit_risk, name="model-0")
    client_for(client, maya).get(LIST)  # warm the per-process caches (content types)
    with CaptureQueriesContext(connection) as one:
        assert client.get(LIST).status_code == 200
    for number in range(1, 30):
        model = factories.make_model(maya, credit_risk, name=f"model-{number}")
        if number % 3 == 0:
            factories.skops_version(maya, model)

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(LIST, {"page_size": 50})

    assert response.content.decode().count('data-label="Name"') == 30
