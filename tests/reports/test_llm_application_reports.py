"""The validation report and the Annex IV document of an LLM application: the bundle's components and
digests, judged evaluations with judge provenance and kappa, red-team results by OWASP category with ATLAS
techniques, and production telemetry, read back from the PDFs and compared with what the API shows."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from monitoring.models import TelemetryBucket
from registry.models import ModelVersion
from reports.models import Report
from reports.rendering.common import number, percent
from reports.rendering.documentation import build_documentation_pdf
from reports.rendering.validation import build_validation_pdf
from reports.services.assemble import common
from reports.services.assemble import documentation as documentation_data
from reports.services.assemble import validation as validation_data
from tests.factories import records as rows
from tests.registry.conftest import make_model
from tests.registry.test_llm_bundles import BUNDLE
from tests.reports.conftest import pdf_text
from workflow.services.controls import control_coverage

pytestmark = pytest.mark.django_db
DATA = Path(__file__).parent.parent / "monitoring" / "data"


def flat(pdf: bytes) -> str:
    """The PDF's text with every whitespace run (line breaks in table cells included) removed."""
    return "".join(pdf_text(pdf).split())


def squeeze(text: str) -> str:
    return "".join(str(text).split())


@pytest.fixture
def application(api, maya, victor, credit_risk):
    """A loan assistant with one bundle version, a judged evaluation with human labels, a garak run and
    two telemetry buckets, all made through the API (the telemetry buckets as the intake stores them)."""
    make_model(maya, credit_risk, name="loan-assistant", kind="llm_application")
    created = api.as_user(maya).post(
        reverse("api:model-bundle", args=["loan-assistant"]),
        {"bundle": copy.deepcopy(BUNDLE), "description": "first"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    version = ModelVersion.objects.get(model__name="loan-assistant", version=1)
    args = ["loan-assistant", 1]
    judged = api.as_user(victor).post(
        reverse("api:judged-evaluation-list", args=args),
        {
            "format": "deepeval",
            "file": SimpleUploadedFile(
                "results.json", (DATA / "judged/deepeval.latest_test_run.json").read_bytes()
            ),
            "labels": SimpleUploadedFile("labels.csv", (DATA / "judged/deepeval.labels.csv").read_bytes()),
            "judge_model": "gpt-4o-judge",
            "judge_prompt_version": "rel-2",
        },
        format="multipart",
    )
    assert judged.status_code == 201, judged.json()
    red = api.as_user(victor).post(
        reverse("api:red-team-run-list", args=args),
        {
            "format": "garak",
            "report": SimpleUploadedFile("garak.jsonl", (DATA / "redteam/garak.report.jsonl").read_bytes()),
        },
        format="multipart",
    )
    assert red.status_code == 201, red.json()
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    for minute, (calls, blocked, flagged, refusals) in enumerate([(40, 2, 3, 1), (60, 1, 0, 4)]):
        TelemetryBucket.objects.create(
            model_version=version,
            start=start + dt.timedelta(minutes=minute),
            width_seconds=60,
            calls=calls,
            blocked=blocked,
            flagged=flagged,
            refusals=refusals,
            input_tokens=1000 * (minute + 1),
            output_tokens=300,
            latency_counts=[calls],
            latency_sum=calls * 0.5,
        )
    return version, created.json(), judged.json(), red.json()


def test_both_documents_show_the_bundle_judged_metrics_red_team_and_telemetry_as_the_api_does(
    api, maya, application
):
    version, bundle_body, judged_body, red_body = application
    report = Report.objects.create(
        kind="validation", model=version.model, model_version=version, generated_at=timezone.now()
    )

    validation = validation_data.validation_input(report)
    documentation = documentation_data.documentation_input(report)
    texts = {
        "validation": flat(build_validation_pdf(validation).pdf),
        "annex iv": flat(build_documentation_pdf(documentation).pdf),
    }

    assert validation.llm_application == documentation.llm_application  # one assembly, both documents
    stored = bundle_body["bundle"]
    judged_metrics = judged_body["results"]["metrics"] if "results" in judged_body else None
    assert judged_metrics, judged_body
    # the bundle digest the approvals sign and every component digest, as the API returned them
    expected = [stored["digest"], *stored["component_digests"], *stored["component_digests"].values()]
    # the foundation model, a tool, the user template's declared variables
    expected += ["gpt-4o2024-08-06", "rate-lookup", "question,context"]
    # judged evaluation: judge provenance and kappa beside the mean score, numbers as stored
    expected += ["gpt-4o-judge", "rel-2"]
    expected += [
        squeeze(
            f"{metric['metric']} {metric['items']} {number(metric['mean_score'])} "
            f"{percent(metric['pass_rate'])} {number(metric['kappa'])}"
        )
        for metric in judged_metrics
    ]
    # red-team run: the overall rate and each OWASP category with its ATLAS techniques
    expected.append(squeeze(f"{red_body['failures']} of {red_body['attempts']} attacks succeeded"))
    expected += [
        squeeze(
            f"{category['id']} {category['name']} {category['attempts']} {category['failures']} "
            f"{percent(category['asr'])} {', '.join(category['atlas']) or '—'}"
        )
        for category in red_body["results"]["categories"]
    ]
    # telemetry: 100 calls in 2 buckets, 3 blocked (3.0 %), 3 flagged, 5 refusals (5.0 %), tokens in/out
    expected += [squeeze("100 calls in 2 buckets"), squeeze("3 (3.0 %)"), squeeze("5 (5.0 %)"), "3000/600"]
    assert any(metric["kappa"] is not None for metric in judged_metrics)  # kappa is shown, not just "—"
    for name, text in texts.items():
        assert [item for item in expected if item not in text] == [], name
    # a scoring model's sections are left out rather than printed as "no evidence" where none could be
    absent = ["Noperformanceevidence", "Nofairnessevidence", "Noexplainabilityevidence", "Nodriftevidence"]
    assert [item for item in absent if item in texts["validation"]] == []
    # the evidence index names the bundle (no 0-byte artifact to download), with the digest approvals sign
    (first, *_) = validation.evidence
    assert (first.kind, first.sha256, first.size) == ("bundle", stored["digest"], None)
    assert first.uri == reverse("api:model-version-detail", args=["loan-assistant", 1])
    assert "/versions/1/download/" not in texts["validation"]

    # control coverage: NIST AI 600-1 and EU AI Act controls judged on the same records
    controls = {(c.framework, c.control_id): c for c in validation.controls}
    assert controls[("nist-ai-600-1", "MS-2.7")].status == "satisfied"
    assert f"red-team run {red_body['id']}" in controls[("nist-ai-600-1", "MS-2.7")].evidence
    assert controls[("nist-ai-600-1", "MS-2.13")].status == "satisfied"
    assert controls[("nist-ai-600-1", "MG-4.1")].evidence == ["missing: a telemetry monitor on the version"]
    assert "missing: a passing 'llm_evaluation' check" in controls[("eu-ai-act", "Art. 15")].evidence
    assert squeeze("MS-2.7") in texts["validation"]
    # Annex IV: the judged evaluation and red-team run supply 2(g); the red-team run is context for 2(h)
    assert documentation.state("2g").status == "supplied"
    assert "judged evaluations in the signed evidence" in documentation.state("2g").present
    assert documentation.state("2h").status == "partial"
    assert documentation.state("9").status == "missing"  # no monitoring plan nor telemetry monitor


def test_llm_controls_apply_only_to_llm_applications(credit_risk, maya):
    """An ordinary model's coverage is what it was: no control naming model_kinds is listed for it."""
    version = rows.ModelVersionFactory(model=rows.RegisteredModelFactory(team=credit_risk, owner=maya))

    frameworks = {item["framework"] for item in control_coverage(version)}

    assert "sr-11-7" in frameworks
    assert frameworks.isdisjoint({"nist-ai-600-1", "eu-ai-act"})
    # nor in its OSCAL assessment's reviewed controls; an LLM application's lists them
    assert {ref.framework for ref in common.control_refs(model_kind="ml_model")}.isdisjoint({"nist-ai-600-1"})
    assert "MS-2.3" in {ref.control_id for ref in common.control_refs(model_kind="llm_application")}
