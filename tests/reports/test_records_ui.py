"""The reports page: list with filters, generate a report or a bundle and follow it by polling, download.

Stable hooks for browser tests: the "Generate evidence bundle" button, ``#bundle-status`` holding the
status word, and the "Download bundle" link once the bundle has been built.
"""

# ruff: noqa: F811  (fixtures imported from records_support are used as test arguments)

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from reports.models import EvidenceBundle, Report
from reports.services import reports as report_services
from tests.reports.records_support import (  # noqa: F401  (fixtures)
    finished_bundle,
    finished_report,
    quick_ready_version,
    quick_version,
    tier1_model,
)

pytestmark = pytest.mark.django_db
LIST = reverse("report-list")
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_it_lists_reports_with_filters_and_offers_bundles_to_auditors_only(
    client, maya, aaron, quick_version
):
    """GIVEN two reports of the model
    WHEN maya and aaron open /reports/ (maya filtering by model)
    THEN both see the reports and the generate form; only aaron sees the bundle form and bundles."""
    reports = [
        finished_report(quick_version, user=maya),
        finished_report(quick_version, kind="documentation", user=maya),
    ]
    bundle = finished_bundle(quick_version, user=aaron)
    client.force_login(maya)
    page = client.get(LIST, {"model": "credit-scoring", "kind": "documentation"}).content.decode()
    assert reports[1].document_id in page
    assert reports[0].document_id not in page
    assert 'id="generate-report"' in page
    assert "Generate evidence bundle" not in page
    assert bundle.bag_name not in page
    client.force_login(aaron)
    page = client.get(LIST).content.decode()
    assert ">Generate evidence bundle</button>" in page
    assert bundle.bag_name in page
    assert all(report.document_id in page for report in reports)
    assert client.get(reverse("report-list")).status_code == 200


def test_it_generates_a_report_and_polls_until_it_can_be_downloaded(client, maya, quick_ready_version):
    """GIVEN maya on the reports page
    WHEN she generates the model documentation (htmx) and the panel polls while the task renders it
    THEN the panel shows the job queued and polling, then stops polling (286) with the download link,
    and the download is the PDF, audited."""
    client.force_login(maya)
    response = client.post(
        reverse("report-new"),
        {
            "report-kind": "documentation",
            "report-model": "credit-scoring",
            "report-version": 1,
            "report-variant": "standard",
        },
        **HTMX,
    )
    assert response.status_code == 200
    panel = response.content.decode()
    report = Report.objects.get()
    assert '<strong id="report-status"' in panel
    assert ">queued</strong>" in panel
    assert f'hx-get="{reverse("report-progress", args=[report.pk])}"' in panel

    polled = client.get(reverse("report-progress", args=[report.pk]))
    assert polled.status_code == 200  # still queued: keep polling
    report_services.report_render(report_id=report.pk)
    polled = client.get(reverse("report-progress", args=[report.pk]))
    assert polled.status_code == 286  # htmx stops polling
    panel = polled.content.decode()
    assert ">succeeded</strong>" in panel
    assert "hx-get" not in panel
    assert ">Download report</a>" in panel

    download = client.get(reverse("report-download", args=[report.pk]))
    assert download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content).startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="report.downloaded", object_id=str(report.pk)).exists()


def test_it_requests_a_bundle_from_the_page(client, maya, aaron, quick_version):
    """GIVEN the bundle form
    WHEN aaron generates a bundle for a version, and maya tries to
    THEN aaron gets the polling panel with #bundle-status; a built bundle's panel stops polling with
    the "Download bundle" link; maya is refused (403)."""
    client.force_login(aaron)
    response = client.post(
        reverse("bundle-new"), {"bundle-model": "credit-scoring", "bundle-version": 1}, **HTMX
    )
    assert response.status_code == 200, response.content[:500]
    panel = response.content.decode()
    requested = EvidenceBundle.objects.get()
    assert '<strong id="bundle-status"' in panel
    assert ">queued</strong>" in panel
    assert f'hx-get="{reverse("bundle-progress", args=[requested.pk])}"' in panel

    built = finished_bundle(quick_version, user=aaron)
    polled = client.get(reverse("bundle-progress", args=[built.pk]))
    assert polled.status_code == 286
    panel = polled.content.decode()
    assert ">succeeded</strong>" in panel
    assert ">Download bundle</a>" in panel
    download = client.get(reverse("bundle-download", args=[built.pk]))
    assert download["Content-Type"] == "application/zip"

    page = client.post(reverse("bundle-new"), {"bundle-model": "credit-scoring", "bundle-version": 1})
    assert page.status_code == 302  # a plain form post goes to the bundle's page
    assert client.get(page["Location"]).status_code == 200

    client.force_login(maya)
    refused = client.post(
        reverse("bundle-new"), {"bundle-model": "credit-scoring", "bundle-version": 1}, **HTMX
    )
    assert refused.status_code == 403
    assert client.get(reverse("bundle-detail", args=[built.pk])).status_code == 404


def test_it_shows_what_was_wrong_with_a_request(client, maya, olga, quick_version):
    """GIVEN the generate form
    WHEN the subject does not fit the kind, or names a model the user cannot see
    THEN nothing is created and the reason is shown where the status would have been."""
    client.force_login(maya)
    response = client.post(
        reverse("report-new"),
        {"report-kind": "validation", "report-model": "credit-scoring", "report-variant": "standard"},
        **HTMX,
    )
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert "one model version" in response.content.decode()
    client.force_login(olga)
    response = client.post(
        reverse("report-new"),
        {
            "report-kind": "validation",
            "report-model": "credit-scoring",
            "report-version": 1,
            "report-variant": "standard",
        },
    )
    assert response.status_code == 400
    assert "No such model or version that you can see." in response.content.decode()
    assert not Report.objects.exists()
