"""Portfolio views: the heatmap and counts, inventory export (CSV, XLSX), global search, saved filters.

One inventory for every test: four credit-risk models (one titled as a spreadsheet formula) and two fraud
models, with open and closed findings, a stale pending approval and datasets. Each number the pages show is
checked against the records, per persona: rita (risk officer), aaron (auditor) and admin see everything;
maya and victor their team credit-risk; olga (fraud) must see nothing of credit-risk.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from audit.models import AuditEvent
from registry.models import RegisteredModel, SavedFilter
from registry.services import inventory
from tests.factories.records import (
    ApprovalRequestFactory,
    DatasetFactory,
    FindingFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
)
from workflow import portfolio_selectors

pytestmark = pytest.mark.django_db

FORMULA_TITLE = '=HYPERLINK("http://evil.example","click")'
ALL = {"cr-scorecard", "cr-pd", "cr-lgd", "cr-old", "fr-txn", "fr-ring"}
CREDIT = {"cr-scorecard", "cr-pd", "cr-lgd", "cr-old"}
FRAUD = {"fr-txn", "fr-ring"}
VISIBLE = {"rita": ALL, "aaron": ALL, "admin_user": ALL, "maya": CREDIT, "victor": CREDIT, "olga": FRAUD}


@pytest.fixture
def book(maya, olga, credit_risk, fraud):
    """The inventory; returns the models by name."""
    past = timezone.now().date() - dt.timedelta(days=10)

    def model(name, owner, team, tier, status, **fields):
        return RegisteredModelFactory(
            name=name, owner=owner, team=team, risk_tier=tier, computed_tier=tier, status=status, **fields
        )

    models = {
        "cr-scorecard": model(
            "cr-scorecard", maya, credit_risk, 1, "in_production", title=FORMULA_TITLE, next_review_due=past
        ),
        "cr-pd": model("cr-pd", maya, credit_risk, 1, "in_production", is_third_party=True, vendor="@Vendor"),
        "cr-lgd": model("cr-lgd", maya, credit_risk, 2, "in_validation"),
        "cr-old": model("cr-old", maya, credit_risk, 3, "retired", next_review_due=past),
        "fr-txn": model("fr-txn", olga, fraud, 1, "in_production", next_review_due=past),
        "fr-ring": model("fr-ring", olga, fraud, 2, "draft"),
    }
    FindingFactory(model=models["cr-scorecard"], severity="critical", title="Scorecard drifts")
    FindingFactory(model=models["cr-scorecard"], severity="high")
    FindingFactory(model=models["cr-scorecard"], severity="low", status="closed")
    FindingFactory(model=models["cr-pd"], severity="medium")
    FindingFactory(model=models["fr-txn"], severity="high", title="Scorecard of fraud rings")
    version = ModelVersionFactory(model=models["cr-scorecard"], version=1, description="scorecard retrain")
    stale = ApprovalRequestFactory(model_version=version, environment="production", justification="scorecard")
    ApprovalRequest = type(stale)
    ApprovalRequest.objects.filter(pk=stale.pk).update(stage_due_at=timezone.now() - dt.timedelta(days=30))
    fraud_version = ModelVersionFactory(model=models["fr-txn"], version=1)
    ApprovalRequestFactory(model_version=fraud_version, environment="production")  # recent: not overdue
    DatasetFactory(name="scorecard-bureau", team=credit_risk, owner=maya)
    DatasetFactory(name="fraud-scorecard-txns", team=fraud, owner=olga)
    return models


def _cells(html: str) -> dict[tuple[int, str], tuple[int, int]]:
    pattern = r'data-tier="(\d)" data-status="(\w+)" data-models="(\d+)" data-open-findings="(\d+)"'
    return {(int(t), s): (int(m), int(f)) for t, s, m, f in re.findall(pattern, html)}


def _list_names(html: str) -> list[str]:
    return re.findall(r'<td data-label="Name"><a href="/models/([\w-]+)/">', html)


def _csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


@pytest.mark.parametrize("persona", sorted(VISIBLE))
def test_every_number_counts_only_the_models_the_persona_may_see(client, book, persona, request):
    """Permission matrix: heatmap, totals, overdue lists, export and search, each against the records."""
    user = request.getfixturevalue(persona)
    visible = VISIBLE[persona]
    client.force_login(user)
    response = client.get(reverse("portfolio"))
    assert response.status_code == 200
    html = response.content.decode()

    models = RegisteredModel.objects.filter(name__in=visible)
    expected = Counter((m.risk_tier, m.status) for m in models)
    findings = Counter(
        (f.model.risk_tier, f.model.status)
        for m in models
        for f in m.findings.filter(status="open").select_related("model")
    )
    cells = _cells(html)
    assert len(cells) == 21  # 3 tiers x 7 statuses, zeros included
    assert {key: value for key, value in cells.items() if value != (0, 0)} == {
        key: (expected[key], findings[key]) for key in expected
    }
    overdue = re.findall(r'id="overdue-reviews">(.*?)</ul>', html, re.S)
    shown_overdue = set(re.findall(r'href="/models/([\w-]+)/"', overdue[0])) if overdue else set()
    assert shown_overdue == visible & {"cr-scorecard", "fr-txn"}  # cr-old is retired: not reviewed
    stale = re.findall(r'id="overdue-approvals">(.*?)</ul>', html, re.S)
    assert bool(stale) == ("cr-scorecard" in visible)
    assert ("fr-txn v1" in (stale[0] if stale else "")) is False  # recent requests are not overdue

    exported = _csv_rows(client.get(reverse("model-export", args=["csv"])).content)
    assert {row[0] for row in exported[1:]} == visible

    found = client.get(reverse("search"), {"q": "scorecard"}).content.decode()
    names = set(re.findall(r'href="/models/([\w-]+)/"', found))
    assert names == visible & {"cr-scorecard"}
    assert ("fraud-scorecard-txns" in found) == ("fr-txn" in visible)
    assert ("scorecard-bureau" in found) == ("cr-scorecard" in visible)
    assert ("Scorecard drifts" in found) == ("cr-scorecard" in visible)


@pytest.mark.parametrize(
    "url",
    [
        "/portfolio/",
        "/search/?q=cr",
        "/models/export.csv",
        "/models/export.xlsx",
        "/models/saved-filters/1/delete/",
    ],
)
def test_anonymous_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_a_heatmap_cell_links_to_exactly_the_models_it_counts(client, rita, book):
    client.force_login(rita)
    html = client.get(reverse("portfolio")).content.decode()
    assert _cells(html)[(1, "in_production")] == (3, 4)
    link = re.search(r'<a href="(/models/\?tier=1&amp;status=in_production)"', html).group(1)
    listed = _list_names(client.get(link.replace("&amp;", "&")).content.decode())
    assert sorted(listed) == ["cr-pd", "cr-scorecard", "fr-txn"]
    assert 'class="heat-4"' in html  # critical 8 + high 4 + medium 2 + high 4 = 18: the heaviest band

    # the page costs the same number of queries with twice the models, findings and stale approvals
    with CaptureQueriesContext(connection) as before:
        client.get(reverse("portfolio"))
    for n in range(6):
        more = RegisteredModelFactory(
            owner=rita, team=book["cr-pd"].team, risk_tier=1 + n % 3, computed_tier=1
        )
        FindingFactory(model=more, severity="high")
        stale = ApprovalRequestFactory(model_version=ModelVersionFactory(model=more, version=1))
        type(stale).objects.filter(pk=stale.pk).update(stage_due_at=timezone.now() - dt.timedelta(days=40))
    with CaptureQueriesContext(connection) as after:
        client.get(reverse("portfolio"))
    assert len(after) == len(before)


def test_the_export_holds_the_filtered_list_in_its_order_formula_cells_escaped(client, rita, book):
    client.force_login(rita)
    query = {"tier": "1", "sort": "-name"}
    listed = _list_names(client.get(reverse("model-list"), query).content.decode())
    assert listed == ["fr-txn", "cr-scorecard", "cr-pd"]

    response = client.get(reverse("model-export", args=["csv"]), query)
    assert response["Content-Disposition"].startswith('attachment; filename="inventory-')
    rows = _csv_rows(response.content)
    header, body = rows[0], rows[1:]
    assert header[:6] == ["Name", "Title", "Owner", "Team", "Risk tier", "Status"]
    assert [row[0] for row in body] == listed
    by_name = {row[0]: dict(zip(header, row, strict=True)) for row in body}
    assert by_name["cr-scorecard"]["Title"] == "'" + FORMULA_TITLE
    assert by_name["cr-pd"]["Vendor"] == "'@Vendor"
    assert by_name["cr-scorecard"]["Open findings"] == "2"  # the closed one is not counted
    assert by_name["cr-scorecard"]["Latest version"] == "1"
    assert by_name["cr-scorecard"]["Review overdue"] == "yes"
    assert by_name["cr-pd"]["Third party / vendor"] == "yes"

    xlsx = client.get(reverse("model-export", args=["xlsx"]), query)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    cells = list(sheet.iter_rows(min_row=2))
    assert [row[0].value for row in cells] == listed
    title = next(row[1] for row in cells if row[0].value == "cr-scorecard")
    assert title.value == "'" + FORMULA_TITLE
    assert title.data_type == "s"
    due = next(row[9] for row in cells if row[0].value == "cr-scorecard")
    assert due.value.date() == book["cr-scorecard"].next_review_due  # a real date cell

    events = AuditEvent.objects.filter(action="export.downloaded", actor_pk=rita.pk).order_by("seq")
    assert [(e.after["export"], e.after["filters"], e.after["rows"]) for e in events] == [
        ("inventory.csv", query, 3),
        ("inventory.xlsx", query, 3),
    ]


def test_an_invalid_filter_is_refused_rather_than_exporting_everything(client, rita, book):
    client.force_login(rita)
    response = client.get(reverse("model-export", args=["csv"]), {"tier": "9"})
    assert response.status_code == 400
    assert b"tier" in response.content
    assert client.get("/models/export.pdf").status_code == 404
    assert not AuditEvent.objects.filter(action="export.downloaded").exists()


def test_saved_filters_belong_to_their_owner_alone(client, maya, victor, book):
    client.force_login(maya)
    response = client.post(
        reverse("saved-filter-create"),
        {"name": " Tier 1  in production ", "query": "tier=1&status=in_production&page=3&evil=x"},
    )
    assert response.status_code == 302
    saved = SavedFilter.objects.get(owner=maya)
    assert (saved.name, saved.query) == ("Tier 1 in production", "tier=1&status=in_production")
    again = client.post(reverse("saved-filter-create"), {"name": "Tier 1 in production", "query": "tier=2"})
    assert again.status_code == 302
    assert SavedFilter.objects.count() == 1
    assert "Tier 1 in production" in client.get(reverse("model-list")).content.decode()

    delete_url = reverse("saved-filter-delete", args=[saved.pk])
    client.force_login(victor)
    assert "Tier 1 in production" not in client.get(reverse("model-list")).content.decode()
    assert client.get(delete_url).status_code == 404
    assert client.post(delete_url).status_code == 404
    assert SavedFilter.objects.filter(pk=saved.pk).exists()

    client.force_login(maya)
    confirm = client.get(delete_url)
    assert confirm.status_code == 200
    assert b"Delete saved filter" in confirm.content
    assert SavedFilter.objects.filter(pk=saved.pk).exists()  # asking is not deleting
    assert client.post(delete_url).status_code == 302
    assert not SavedFilter.objects.filter(pk=saved.pk).exists()
    actions = list(
        AuditEvent.objects.filter(actor_pk=maya.pk, action__startswith="saved_filter.").values_list(
            "action", flat=True
        )
    )
    assert actions == ["saved_filter.created", "saved_filter.deleted"]


def test_search_says_so_when_nothing_matches_and_refuses_one_letter(client, olga, book):
    client.force_login(olga)
    empty = client.get(reverse("search"), {"q": "cr-pd"})
    assert empty.status_code == 200
    assert b'id="no-results"' in empty.content
    assert client.get(reverse("search"), {"q": "c"}).status_code == 400


def test_models_by_status_over_time_replays_the_audited_status_changes(maya, rita, book):
    RegisteredModel.objects.filter(name__in=ALL).update(created_at=timezone.now() - dt.timedelta(days=70))
    inventory.model_change_status(actor=maya, model=book["cr-lgd"], status="in_development", reason="rework")
    months, series = portfolio_selectors.status_history(user=rita)
    assert len(months) == 12
    current = Counter(RegisteredModel.objects.values_list("status", flat=True))
    assert {status: counts[-1] for status, counts in series.items() if counts[-1]} == dict(current)
    assert series["in_validation"][-2] == 1
    assert series["in_development"][-2] == 0
    assert series["in_development"][-1] == 1
    assert sum(counts[0] for counts in series.values()) == 0  # a year ago none existed yet


def test_the_api_exports_the_same_filtered_rows_scoped_and_refuses_bad_filters(api, olga, rita, book):
    api.as_user(rita)
    response = api.get("/api/v1/exports/inventory.csv", {"tier": "1", "ordering": "-name"})
    assert response.status_code == 200
    assert [row[0] for row in _csv_rows(response.content)[1:]] == ["fr-txn", "cr-scorecard", "cr-pd"]
    sheet = load_workbook(io.BytesIO(api.get("/api/v1/exports/inventory.xlsx", {"tier": "1"}).content)).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in rows] == ["cr-pd", "cr-scorecard", "fr-txn"]  # by name, as the list
    assert rows[1][1] == "'" + FORMULA_TITLE

    api.as_user(olga)
    names = [row[0] for row in _csv_rows(api.get("/api/v1/exports/inventory.csv").content)[1:]]
    assert sorted(names) == sorted(FRAUD)
    for query, field in (
        ({"tier": "9"}, "tier"),
        ({"teir": "1"}, "teir"),
        ({"eu_ai_act_category": ""}, "eu_ai_act_category"),  # not "any": refused
        ({"format": "pdf"}, "format"),
    ):
        refused = api.get("/api/v1/exports/inventory.xlsx", query)
        assert refused.status_code == 400
        assert field in refused.json()["error"]["fields"]
    exported = AuditEvent.objects.filter(action="export.downloaded").order_by("seq")
    assert [(e.actor_username, e.after["export"], e.after["rows"]) for e in exported] == [
        ("rita", "inventory.csv", 3),
        ("rita", "inventory.xlsx", 3),
        ("olga", "inventory.csv", 2),
    ]
