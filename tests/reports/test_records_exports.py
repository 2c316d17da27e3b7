"""``GET /api/v1/exports/check-results.csv``: the GRC pull feed, its cursor, its scope, its escaping."""

# ruff: noqa: F811  (fixtures imported from records_support are used as test arguments)

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from reports.evidence.csv_feed import COLUMNS
from tests.monitoring import factories
from tests.reports.records_support import (  # noqa: F401  (fixtures)
    evaluation,
    quick_version,
    stored_run,
    tier1_model,
)

pytestmark = pytest.mark.django_db
EXPORT = reverse("api:export-check-results")
FAIRNESS_CONTROLS = {"AIA-IV.3", "MEASURE 2.11", "A.5.2"}


def feed(api, user, **query) -> tuple[object, list[dict]]:
    response = api.as_user(user).get(EXPORT, query)
    assert response.status_code == 200, response.content[:500]
    text = response.content.decode("utf-8")
    return response, list(csv.DictReader(io.StringIO(text)))


def test_it_writes_one_row_per_result_and_control_with_formula_cells_escaped(api, aaron, quick_version):
    """GIVEN a fairness run whose metric and group names look like spreadsheet formulas
    WHEN the feed is pulled
    THEN every result is a row per control it evidences, text cells starting with = + - @ are prefixed
    with a quote, negative numbers stay numbers, and the page is audited."""
    run = stored_run(
        quick_version,
        "fairness",
        [
            evaluation('=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", -0.5, 0.8, "fail"),
            evaluation("disparate_impact", "@SUM(A1:A9)", 0.91, 0.8),
            evaluation("selection_rate", "-group", 0.4),
        ],
        outcome="fail",
    )
    response, rows = feed(api, aaron)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert list(rows[0]) == list(COLUMNS)
    assert {row["control"] for row in rows} == FAIRNESS_CONTROLS
    assert len(rows) == 4 * len(FAIRNESS_CONTROLS)  # the outcome row and three results, per control
    by_metric = {row["metric"]: row for row in rows}
    formula = by_metric['\'=HYPERLINK("http://evil.example","x")']
    assert formula["subject"] == "'+cmd|' /C calc'!A0"
    assert formula["value"] == "-0.5"
    assert formula["threshold"] == "0.8"
    assert formula["result"] == "fail"
    assert by_metric["disparate_impact"]["subject"] == "'@SUM(A1:A9)"
    assert by_metric["selection_rate"]["subject"] == "'-group"
    assert by_metric["outcome"]["result"] == "fail"
    first = rows[0]
    assert (first["model"], first["version"], first["check"], first["check_run"]) == (
        "credit-scoring",
        "1",
        "fairness",
        str(run.pk),
    )
    assert first["evidence_uri"] == f"http://testserver/api/v1/checks/{run.pk}/"
    assert first["sha256"] == run.result_sha256
    assert first["evaluated_at"].endswith("Z")
    event = AuditEvent.objects.filter(action="export.downloaded").latest("seq")
    assert event.after["rows"] == len(rows)
    assert event.after["runs"] == 1
    assert event.actor_username == "aaron"


def test_it_pages_by_cursor_in_commit_order_and_filters_by_updated_since(api, aaron, quick_version):
    """GIVEN three finished runs
    WHEN the feed is pulled two runs at a time, and then only what was committed since the second run
    THEN the pages follow the order the results were committed, the last page has no next link, and
    updated_since leaves the earlier runs out; a cursor the feed never gave is a 400."""
    runs = [
        stored_run(quick_version, "performance", [evaluation("roc_auc", "current", 0.8 + i / 100, 0.7)])
        for i in range(3)
    ]
    response, rows = feed(api, aaron, page_size=2)
    assert list(dict.fromkeys(row["check_run"] for row in rows)) == [str(r.pk) for r in runs[:2]]
    cursor = response["X-Next-Cursor"]
    assert f"cursor={cursor}" in response["Link"]
    assert response["Link"].endswith('rel="next"')
    response, rows = feed(api, aaron, page_size=2, cursor=cursor)
    assert list(dict.fromkeys(row["check_run"] for row in rows)) == [str(runs[2].pk)]
    assert "Link" not in response
    assert "X-Next-Cursor" not in response

    second = AuditEvent.objects.get(action="check.succeeded", object_id=str(runs[1].pk))
    _, rows = feed(api, aaron, updated_since=second.occurred_at.isoformat())
    assert {row["check_run"] for row in rows} == {str(runs[1].pk), str(runs[2].pk)}

    for query in ({"cursor": "not-a-cursor"}, {"updated_since": "2025-03-01T00:00:00"}, {"page_size": 0}):
        bad = api.as_user(aaron).get(EXPORT, query)
        assert bad.status_code == 400, query
        assert bad.json()["error"]["fields"], query


def test_it_gives_each_caller_the_rows_they_may_see(api, maya, olga, fraud, quick_version):
    """GIVEN runs of a credit-risk model and of a fraud model
    WHEN maya, olga and an anonymous caller pull the feed
    THEN each team sees its own runs only and the anonymous caller gets 401."""
    credit = stored_run(quick_version, "drift", [evaluation("psi", "column 'age'", 0.05, 0.25)])
    fraud_model = factories.make_model(olga, fraud, name="card-fraud")
    theirs = stored_run(
        factories.pickle_version(olga, fraud_model),
        "drift",
        [evaluation("psi", "column 'amount'", 0.02, 0.25)],
    )
    _, rows = feed(api, maya)
    assert {row["check_run"] for row in rows} == {str(credit.pk)}
    _, rows = feed(api, olga)
    assert {row["check_run"] for row in rows} == {str(theirs.pk)}
    assert api.as_user(None).get(EXPORT).status_code == 401
