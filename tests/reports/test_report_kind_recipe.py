"""Adding a report kind is one declaration (docs/ARCHITECTURE.md, "Add a report kind").

A toy kind, declared in this test only, is requested, checked against its declared subject, rendered by its
own assembler and builder and listed with its title, with no other edit and no migration.
"""

# ruff: noqa: F811  (fixtures imported from records_support are used as test arguments)

from __future__ import annotations

import hashlib

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from reports import kinds
from reports.forms import ReportForm
from reports.kinds import ReportKindSpec
from reports.models import Report
from reports.rendering.common import RenderedReport
from reports.services import reports as report_services
from tests.reports.records_support import quick_version, tier1_model  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.7\n% a toy report\n"


def card_input(report: Report) -> tuple[dict, dict]:
    data = {"version": str(report.model_version)}
    return data, {"card_of": data["version"]}


def build_card(data: dict) -> RenderedReport:
    return RenderedReport(
        kind="model_card",
        subject=data["version"],
        title=f"Model card: {data['version']}",
        generated_at=timezone.now(),
        generated_by="test",
        variant=None,
        pdf=PDF,
        pdf_sha256=hashlib.sha256(PDF).hexdigest(),
        page_count=1,
        inputs_digest=hashlib.sha256(repr(data).encode()).hexdigest(),
        text_digest=hashlib.sha256(PDF).hexdigest(),
    )


CARD = ReportKindSpec(name="model_card", label="Model card", assemble=card_input, build=build_card)


@pytest.fixture
def card(monkeypatch):
    monkeypatch.setitem(kinds.KINDS, CARD.name, CARD)
    return CARD


def test_a_declared_kind_is_requested_rendered_and_listed(card, api, maya, quick_version):
    report = report_services.report_request(actor=maya, kind="model_card", version=quick_version)
    report = report_services.report_render(report_id=report.pk)

    assert report.status == "succeeded", report.error
    assert report.summary == {"card_of": str(quick_version)}
    assert report.title == f"Model card: {quick_version}"
    assert report.sha256 == hashlib.sha256(PDF).hexdigest()
    assert str(report).startswith("model card #")
    listed = api.as_user(maya).get(reverse("api:report-list"), {"kind": "model_card"})
    assert listed.status_code == 200, listed.json()
    assert [item["id"] for item in listed.json()["results"]] == [report.pk]
    assert ("model_card", "Model card") in ReportForm().fields["kind"].choices


def test_a_declared_kind_is_held_to_its_subject(card, maya, quick_version):
    with pytest.raises(ValidationError) as refusal:
        report_services.report_request(actor=maya, kind="model_card", model=quick_version.model)
    assert list(refusal.value.message_dict) == ["version"]

    with pytest.raises(ValidationError) as refusal:
        report_services.report_request(
            actor=maya, kind="model_card", version=quick_version, variant="pdf/a-3b"
        )
    assert refusal.value.message_dict["variant"] == ["Only the validation report has a pdf/a-3b variant."]


def test_an_undeclared_kind_is_refused_naming_the_declared_ones(maya, quick_version):
    with pytest.raises(ValidationError) as refusal:
        report_services.report_request(actor=maya, kind="model_card", version=quick_version)
    assert refusal.value.message_dict["kind"] == [f"One of {', '.join(kinds.names())}."]
    assert "model_card" not in kinds.names()


def test_the_kind_column_keeps_no_choices_so_a_new_kind_needs_no_migration():
    assert Report._meta.get_field("kind").choices is None
