"""An ML engineer's first day in the browser: register a model, upload a dataset and a version, add evidence.

Everything happens through what maya sees and clicks; a real worker profiles the dataset. Screenshots go
under var/screenshots/ (``first-line-*``).
"""

from __future__ import annotations

import hashlib
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, screenshot, sign_in
from tests.factories import PASSWORD, TeamFactory, UserFactory
from tests.monitoring import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# Bytes per second the browser may send while the progress bar is watched (Chromium's network emulation).
SLOW_UPLOAD = 256 * 1024


@pytest.fixture
def team(shared_media):
    return TeamFactory(name="credit-risk", title="Credit Risk Modelling")


@pytest.fixture
def maya(team):
    return UserFactory(username="maya", role="ml-engineer", teams=[team], first_name="Maya")


def throttle_uploads(page, bytes_per_second: int) -> None:
    session = page.context.new_cdp_session(page)
    session.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": bytes_per_second},
    )


def test_it_registers_a_model_and_uploads_a_dataset_and_a_version(page, maya, celery_worker):
    """GIVEN maya, an ML engineer of credit-risk, and a worker
    WHEN she registers a model through the questionnaire, uploads a training dataset (watching the progress
    bar), uploads a skops artifact trained on it (after fixing a refused field) and adds a memo
    THEN the model page lists the version and its lineage, and the version page its dataset and evidence."""
    sign_in(page, "maya", PASSWORD)

    # Register a model; the tier follows the answers as they are given.
    page.goto("/models/")
    page.get_by_role("link", name="Register a model").click()
    page.locator("#id_name").fill("credit-scoring")
    page.locator("#id_title").fill("Retail credit scoring")
    page.locator("#id_purpose").fill("Score retail credit applications.")
    page.locator("#id_intended_use").fill("Pre-screening of applications under 50k.")
    page.locator("#id_eu_ai_act_category").select_option("high_risk")
    page.locator("#id_favourable_label").fill("1")
    page.locator("#id_prohibited_features").fill("sex")
    preview = page.locator("#tier-preview")
    expect(preview).to_contain_text("0 of 4 answered")
    for factor, answer in (
        ("materiality", "high"),
        ("complexity", "low"),
        ("reliance", "medium"),
        ("regulatory_exposure", "high"),
    ):
        page.locator(f"input[name=tier_{factor}][value={answer}]").check()
    expect(preview).to_contain_text("Tier 2 (medium)")
    expect(preview).to_contain_text("score 9")
    page.locator("input[name=tier_reliance][value=high]").check()
    expect(preview).to_contain_text("Tier 1 (high)")
    screenshot(page, "first-line-register")
    page.get_by_role("button", name="Register model").click()
    expect(page.get_by_role("status")).to_contain_text("Registered credit-scoring: Tier 1 (high)")
    expect(page.locator("h1")).to_contain_text("Retail credit scoring")

    # A dataset and its first version, slowly enough to watch the progress bar move.
    page.goto("/datasets/")
    page.get_by_role("link", name="Register a dataset").click()
    page.locator("#id_name").fill("applications")
    page.locator("#id_title").fill("Credit applications")
    page.get_by_role("button", name="Register dataset").click()
    expect(page.get_by_role("status")).to_contain_text("Registered the dataset applications")
    rows = factories.csv_bytes(factories.credit_frame(rows=40_000, seed=1))
    page.locator("#id_file").set_input_files(
        files=[{"name": "applications.csv", "mimeType": "text/csv", "buffer": rows}]
    )
    page.locator("#id_role").select_option("training")
    page.locator("#id_target_column").fill("label")
    page.locator("#id_prediction_column").fill("score")
    page.locator("#id_sensitive_columns").fill("sex, region")
    page.locator("#id_favourable_label").fill("1")
    throttle_uploads(page, SLOW_UPLOAD)
    page.get_by_role("button", name="Upload dataset version").click()
    progress = page.locator(".upload-progress")
    expect(progress).to_be_visible()
    expect(progress).to_contain_text("sent (")
    screenshot(page, "first-line-dataset-progress", full_page=False)
    throttle_uploads(page, -1)
    expect(page.get_by_role("status")).to_contain_text("Uploaded applications v1", timeout=60_000)
    row = page.locator("#v1")
    expect(row).to_contain_text("target label")
    expect(row).to_contain_text("sex, region")
    expect(row.locator("#profile-1")).to_contain_text("Succeeded", timeout=120_000)  # polled until done
    screenshot(page, "first-line-dataset")

    # A version: a refused field first (the chosen file stays chosen), then the upload.
    page.goto("/models/credit-scoring/")
    page.get_by_role("link", name="Upload a version").click()
    artifact = factories.skops_bytes(factories.trained_model())
    page.locator("#id_artifact").set_input_files(
        files=[{"name": "model.skops", "mimeType": "application/octet-stream", "buffer": artifact}]
    )
    page.locator("#id_framework").fill("sklearn")
    page.locator("#id_source_commit").fill("4f2a9c1")
    page.locator("#id_parameters").fill("C=1.0\nsolver")
    page.locator("#id_metrics").fill("auc=0.81")
    page.get_by_role("group", name="Trained on").get_by_label("applications v1 · Training").check()
    page.get_by_role("button", name="Upload version").click()
    expect(page.locator("#id_parameters_error")).to_contain_text("Line 2: write key=value")
    screenshot(page, "first-line-version-error")
    page.locator("#id_parameters").fill("C=1.0\nsolver=lbfgs")
    page.get_by_role("button", name="Upload version").click()
    expect(page.get_by_role("status")).to_contain_text("Uploaded credit-scoring v1: model.skops")
    expect(page).to_have_url(re.compile(r"/models/credit-scoring/versions/1/$"))
    expect(page.locator("#dataset-table")).to_contain_text("applications v1")
    expect(page.locator("#artifact-sha256")).to_have_text(hashlib.sha256(artifact).hexdigest())

    # Evidence from the version page.
    evidence = page.locator("#evidence-form")
    evidence.locator("#id_evidence_type").select_option("data_review")
    evidence.locator("#id_title").fill("Data review memo")
    evidence.locator("#id_file").set_input_files(
        files=[
            {"name": "memo.md", "mimeType": "text/markdown", "buffer": b"# Data review\n\nNo leakage found."}
        ]
    )
    evidence.get_by_role("button", name="Add document").click()
    expect(page.get_by_role("status")).to_contain_text("Added 'Data review memo' to credit-scoring v1")
    expect(page.locator("#evidence-table")).to_contain_text("Data review memo")
    screenshot(page, "first-line-version")

    # The model page shows the version and what it was trained on.
    page.goto("/models/credit-scoring/")
    expect(page.locator("#version-table")).to_contain_text("model.skops")
    expect(page.locator(".lineage-list")).to_contain_text("applications v1")
    screenshot(page, "first-line-model")


def test_it_fits_the_forms_on_a_phone(page, maya, team):
    """GIVEN a phone-sized window WHEN maya opens the registration and upload forms THEN nothing overflows."""
    factories.make_model(maya, team, name="churn")
    dataset = factories.make_dataset(maya, team)
    factories.make_dataset_version(maya, dataset, factories.credit_frame(seed=2), role="training")
    sign_in(page, "maya", PASSWORD)
    page.set_viewport_size(PHONE)

    for path, name in (
        ("/models/new/", "first-line-register-phone"),
        ("/models/churn/versions/new/", "first-line-version-phone"),
        ("/models/churn/edit/", "first-line-edit-phone"),
        ("/datasets/applications/versions/new/", "first-line-dataset-version-phone"),
        ("/datasets/applications/", "first-line-dataset-phone"),
    ):
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width)
        screenshot(page, name)
    page.set_viewport_size(DESKTOP)
