"""Who may do what with reports, bundles, the CSV feed and connectors, endpoint by endpoint.

Personas (tests/conftest.py): maya owns the model (credit-risk ML engineer), victor is her colleague
(credit-risk validator), olga the outsider (fraud team), aaron the auditor, rita the risk officer;
``None`` is an anonymous caller. An object outside the caller's scope is a 404, never a 403, so its
existence does not leak; a role that may not act on a visible object gets 403.
"""

# ruff: noqa: F811  (fixtures imported from records_support are used as test arguments)

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Grant
from accounts.services import grants
from reports.models import EvidenceBundle, GrcConnector, Report
from reports.services import connectors
from tests.factories import UserFactory
from tests.reports.records_support import (  # noqa: F401  (fixtures)
    finished_bundle,
    finished_report,
    quick_version,
    tier1_model,
)

pytestmark = pytest.mark.django_db
PERSONAS = ("maya", "victor", "olga", "aaron", "rita", None)


@pytest.fixture
def records(quick_version, maya, aaron):
    return {
        "validation": finished_report(quick_version, user=maya),
        "audit": finished_report(quick_version, kind="audit_evidence", user=aaron),
        "bundle": finished_bundle(quick_version, user=aaron),
    }


def as_persona(api, request, persona):
    return api.as_user(request.getfixturevalue(persona) if persona else None)


def codes(api, request, call) -> dict:
    return {persona: call(as_persona(api, request, persona)).status_code for persona in PERSONAS}


def everyone(owner, colleague, outsider, auditor, risk, anonymous=401) -> dict:
    return dict(zip(PERSONAS, (owner, colleague, outsider, auditor, risk, anonymous), strict=True))


def test_it_scopes_reading_a_version_report(api, request, records):
    report = records["validation"]
    detail = reverse("api:report-detail", args=[report.pk])
    download = reverse("api:report-download", args=[report.pk])
    assert codes(api, request, lambda client: client.get(detail)) == everyone(200, 200, 404, 200, 200)
    assert codes(api, request, lambda client: client.get(download)) == everyone(200, 200, 404, 200, 200)


def test_it_shows_audit_evidence_reports_to_the_roles_that_audit_only(api, request, records):
    report = records["audit"]
    detail = reverse("api:report-detail", args=[report.pk])
    download = reverse("api:report-download", args=[report.pk])
    assert codes(api, request, lambda client: client.get(detail)) == everyone(404, 404, 404, 200, 200)
    assert codes(api, request, lambda client: client.get(download)) == everyone(404, 404, 404, 200, 200)


def test_it_lists_what_each_persona_may_see(api, request, records):
    expected = {
        "maya": {records["validation"].pk},
        "victor": {records["validation"].pk},
        "olga": set(),
        "aaron": {records["validation"].pk, records["audit"].pk},
        "rita": {records["validation"].pk, records["audit"].pk},
    }
    for persona, ids in expected.items():
        response = as_persona(api, request, persona).get(reverse("api:report-list"))
        assert {item["id"] for item in response.json()["results"]} == ids, persona
    assert api.as_user(None).get(reverse("api:report-list")).status_code == 401


def test_it_lets_readers_of_a_version_request_its_reports(api, request, quick_version):
    body = {"kind": "validation", "model": "credit-scoring", "version": 1}
    post = lambda client: client.post(reverse("api:report-list"), body, format="json")  # noqa: E731
    assert codes(api, request, post) == everyone(202, 202, 404, 202, 202)
    assert Report.objects.filter(kind="validation").count() == 4


def test_it_lets_only_the_roles_that_audit_request_audit_evidence(api, request, quick_version):
    by_model = {"kind": "audit_evidence", "model": "credit-scoring"}
    by_range = {
        "kind": "audit_evidence",
        "period_start": "2025-03-01T00:00:00Z",
        "period_end": "2025-04-01T00:00:00Z",
    }
    for body, outsider in ((by_model, 404), (by_range, 403)):
        post = lambda client, body=body: client.post(reverse("api:report-list"), body, format="json")  # noqa: E731
        assert codes(api, request, post) == everyone(403, 403, outsider, 202, 202), body


def test_it_keeps_evidence_bundles_for_the_roles_that_audit(api, request, records, quick_version):
    bundle = records["bundle"]
    detail = reverse("api:evidence-bundle-detail", args=[bundle.pk])
    download = reverse("api:evidence-bundle-download", args=[bundle.pk])
    assert codes(api, request, lambda client: client.get(detail)) == everyone(404, 404, 404, 200, 200)
    assert codes(api, request, lambda client: client.get(download)) == everyone(404, 404, 404, 200, 200)
    listed = {
        persona: len(
            as_persona(api, request, persona).get(reverse("api:evidence-bundle-list")).json()["results"]
        )
        for persona in PERSONAS[:-1]
    }
    assert listed == {"maya": 0, "victor": 0, "olga": 0, "aaron": 1, "rita": 1}
    body = {"model": "credit-scoring", "version": 1}
    post = lambda client: client.post(reverse("api:evidence-bundle-list"), body, format="json")  # noqa: E731
    assert codes(api, request, post) == everyone(403, 403, 404, 202, 202)
    assert EvidenceBundle.objects.count() == 3


def test_it_serves_the_csv_feed_to_every_signed_in_role(api, request, quick_version):
    export = reverse("api:export-check-results")
    assert codes(api, request, lambda client: client.get(export)) == everyone(200, 200, 200, 200, 200)


def test_it_keeps_connectors_for_administrators(api, request, admin_user, records):
    connector = connectors.connector_create(
        actor=admin_user, name="grc", kind="webhook", url="https://grc.example/hook", events=[]
    )
    listing = reverse("api:grc-connector-list")
    detail = reverse("api:grc-connector-detail", args=[connector.pk])
    log = reverse("api:grc-connector-deliveries", args=[connector.pk])
    push = reverse("api:grc-connector-deliver", args=[connector.pk])
    calls = [
        lambda client: client.get(listing),
        lambda client: client.post(
            listing, {"name": "x", "kind": "webhook", "url": "https://x.example"}, format="json"
        ),
        lambda client: client.get(detail),
        lambda client: client.patch(detail, {"is_active": False}, format="json"),
        lambda client: client.get(log),
        lambda client: client.post(push, {"report": records["validation"].pk}, format="json"),
    ]
    for call in calls:
        assert codes(api, request, call) == everyone(403, 403, 403, 403, 403)
    admin = api.as_user(admin_user)
    assert [admin.get(url).status_code for url in (listing, detail, log)] == [200, 200, 200]
    assert admin.post(push, {"report": records["validation"].pk}, format="json").status_code == 202
    assert GrcConnector.objects.get().is_active


def test_it_lists_reports_in_a_constant_number_of_queries(api, aaron, maya, quick_version):
    finished_report(quick_version, user=maya)
    client = api.as_user(aaron)
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("api:report-list")).status_code == 200
    for _ in range(4):
        finished_report(quick_version, user=maya)
    with CaptureQueriesContext(connection) as five:
        assert len(client.get(reverse("api:report-list")).json()["results"]) == 5
    assert len(five.captured_queries) == len(one.captured_queries)


def test_it_answers_409_for_a_report_without_a_file(api, maya, quick_version):
    report = Report.objects.create(
        kind="validation", model=quick_version.model, model_version=quick_version, requested_by=maya
    )
    response = api.as_user(maya).get(reverse("api:report-download", args=[report.pk]))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_ready"


# --- a grantee: gita (ML engineer, team fraud) with a view grant on credit-scoring -----------------------


@pytest.fixture
def gita(fraud, admin_user, quick_version):
    gita = UserFactory(username="gita", role="ml-engineer", teams=[fraud])
    grants.grant_create(
        actor=admin_user, subject=gita, obj=quick_version.model, level="view", reason="Reads the reports."
    )
    return gita


def test_a_grantee_reads_and_requests_the_model_s_reports_but_not_audit_records(
    api, gita, records, quick_version
):
    client = api.as_user(gita)
    validation, audit, bundle = records["validation"], records["audit"], records["bundle"]
    assert [item["id"] for item in client.get(reverse("api:report-list")).json()["results"]] == [
        validation.pk
    ]
    assert client.get(reverse("api:report-download", args=[validation.pk])).status_code == 200
    assert client.get(reverse("api:report-detail", args=[audit.pk])).status_code == 404
    assert client.get(reverse("api:evidence-bundle-detail", args=[bundle.pk])).status_code == 404

    body = {"kind": "validation", "model": "credit-scoring", "version": 1}
    assert client.post(reverse("api:report-list"), body, format="json").status_code == 202
    bundle_body = {"model": "credit-scoring", "version": 1}
    assert client.post(reverse("api:evidence-bundle-list"), bundle_body, format="json").status_code == 403


def test_revoking_the_grant_hides_the_reports_at_once(api, gita, admin_user, records):
    detail = reverse("api:report-detail", args=[records["validation"].pk])
    assert api.as_user(gita).get(detail).status_code == 200
    grants.grant_revoke(actor=admin_user, grant=Grant.objects.get(user=gita), reason="Done.")
    assert api.as_user(gita).get(detail).status_code == 404
