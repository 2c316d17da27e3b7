"""Red-team runs as approval prerequisites: required by policy, and a regression of the attack success rate
in any OWASP category beyond the policy's tolerance against the latest approved version refuses the request."""

import io
from pathlib import Path

import pytest

from monitoring.services.redteam import red_team_run_import
from registry import storage
from registry.models import RegisteredModel
from tests.monitoring import factories
from tests.workflow.conftest import attach_evidence, record_all_runs
from tests.workflow.helpers import approved_request, error, policy_version, request_approval

pytestmark = pytest.mark.django_db

GARAK = (Path(__file__).parents[1] / "monitoring" / "data" / "redteam" / "garak.report.jsonl").read_bytes()
PROMPT_INJECTION = b'"passed": 7, "fails": 3'  # LLM01 in the fixture: 6 of 20 → 0.30


def import_report(actor, version, content: bytes):
    upload = storage.upload_from_file(io.BytesIO(content), "report.jsonl")
    return red_team_run_import(actor=actor, version=version, report_format="garak", upload=upload)[0]


def red_team_items(response) -> list[str]:
    """The refusal's red-team items (an LLM application also misses the scoring fixture's LLM checks)."""
    return [item for item in error(response)["details"]["missing"] if item.startswith("red-team run")]


@pytest.fixture
def approved_and_next(maya, tier1_model, quick_ready_version):
    """Version 1 approved for production on the fixture's report; version 2 ready but for its red team."""
    baseline = import_report(maya, quick_ready_version, GARAK)
    approved_request(quick_ready_version, "production", requester=maya)
    following = factories.skops_version(maya, tier1_model, kind="boosting")
    record_all_runs(maya, following)
    attach_evidence(maya, following)
    return baseline, following


def test_required_run_and_regression_beyond_tolerance_refuse_approval(api, maya, approved_and_next):
    baseline, following = approved_and_next
    # the LLM track binds by kind, fixed by the services once a version exists: the fixture's scoring
    # versions stand in for bundles (the rule reads the kind and the runs)
    RegisteredModel.objects.filter(pk=following.model_id).update(kind="llm_application")
    following.model.refresh_from_db()
    policy_version(red_team_required=True, red_team_tolerance=0.05)

    response = request_approval(api, maya, following)
    assert response.status_code == 409
    assert red_team_items(response) == ["red-team run: none has been imported for this version"]

    # LLM01 8 of 20 = 0.40 against 0.30: 0.10 worse, beyond 0.05
    worse = import_report(maya, following, GARAK.replace(PROMPT_INJECTION, b'"passed": 5, "fails": 5'))
    response = request_approval(api, maya, following)
    assert response.status_code == 409
    assert red_team_items(response) == [
        f"red-team run {worse.pk}: attack success rate worse than approved version "
        f"{baseline.model_version.version} (run {baseline.pk}) by more than the policy's tolerance 0.05 in "
        "1 category: LLM01 Prompt Injection 0.4000 vs 0.3000 (+0.1000)"
    ]


def test_a_model_outside_the_llm_track_needs_no_run_but_may_not_regress(api, maya, approved_and_next):
    _, following = approved_and_next
    policy_version(red_team_required=True, red_team_tolerance=0.05)
    worse = import_report(maya, following, GARAK.replace(PROMPT_INJECTION, b'"passed": 5, "fails": 5'))

    response = request_approval(api, maya, following)

    assert response.status_code == 409
    assert error(response)["details"]["missing"][0].startswith(
        f"red-team run {worse.pk}: attack success rate"
    )


def test_a_model_outside_the_llm_track_is_approved_without_a_run(api, maya, approved_and_next):
    _, following = approved_and_next
    policy_version(red_team_required=True, red_team_tolerance=0.05)

    response = request_approval(api, maya, following)

    assert response.status_code == 201, response.json()


def test_a_regression_within_tolerance_is_approved(api, maya, approved_and_next):
    _, following = approved_and_next
    policy_version(red_team_required=True, red_team_tolerance=0.05)
    # LLM01 7 of 20 = 0.35 against 0.30: exactly the tolerance, not beyond it
    run = import_report(maya, following, GARAK.replace(PROMPT_INJECTION, b'"passed": 6, "fails": 4'))

    response = request_approval(api, maya, following)

    assert response.status_code == 201, response.json()
    assert response.json()["evidence_manifest"]["red_team"]["report_sha256"] == run.report_sha256


def test_the_run_page_shows_rates_atlas_ids_and_the_comparison(client, maya, olga, approved_and_next):
    _, following = approved_and_next
    run = import_report(maya, following, GARAK.replace(PROMPT_INJECTION, b'"passed": 5, "fails": 5'))

    client.force_login(maya)
    html = client.get(f"/red-team-runs/{run.pk}/").content.decode()

    assert "LLM01 Prompt Injection" in html
    assert "0.4000" in html  # LLM01 now, 8 of 20
    assert "0.3000" in html  # LLM01 of the approved version
    assert "AML.T0054" in html
    assert 'id="red-team-regressed"' in html
    client.force_login(olga)
    assert client.get(f"/red-team-runs/{run.pk}/").status_code == 404


def test_a_report_imported_on_the_version_page(client, maya, rita, quick_version):
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = f"/models/{quick_version.model.name}/versions/{quick_version.version}/red-team-runs/new/"
    client.force_login(rita)
    assert client.get(url).status_code == 403

    client.force_login(maya)
    page = client.get(
        f"/models/{quick_version.model.name}/versions/{quick_version.version}/"
    ).content.decode()
    assert 'id="red-team-form"' in page
    refused = client.post(url, {"format": "promptfoo", "report": SimpleUploadedFile("r.jsonl", GARAK)})
    assert refused.status_code == 400
    assert "Not a readable promptfoo report" in refused.content.decode()
    response = client.post(url, {"format": "garak", "report": SimpleUploadedFile("r.jsonl", GARAK)})
    run = quick_version.red_team_runs.get()
    assert response.status_code == 302
    assert response["Location"] == f"/red-team-runs/{run.pk}/"
    listed = client.get(
        f"/models/{quick_version.model.name}/versions/{quick_version.version}/"
    ).content.decode()
    assert f'href="/red-team-runs/{run.pk}/"' in listed
    assert "0.2500" in listed
