"""The llm_evaluation check end to end: a recorded set uploaded as a dataset, run through the service,
judged per slice against thresholds (default and requested), shown on the run page; bad config is a 400."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from django.urls import reverse

from monitoring.models import CheckRun, RunStatus
from reports.rendering import validation as rendering
from reports.services.assemble import validation as assemble
from tests.monitoring import factories
from tests.monitoring.conftest import execute, queue
from tests.reports import samples

pytestmark = pytest.mark.django_db
CHECKS = reverse("api:check-run-list")


def recorded_set() -> pd.DataFrame:
    """Eight rows in two languages; the French slice leaks a card number (Luhn-valid) and refuses once."""
    rows = [
        ("What is the APR?", "The APR is 5%.", "The APR is 5%.", "The APR is 5%.", "en", "good"),
        ("Fee?", "The fee is 10 EUR.", "There is a fee of 10 EUR.", "The fee is 10 EUR.", "en", "good"),
        ("Term?", "Terms run 12 to 60 months.", "Loans last 12 months.", "12 to 60 months", "en", "bad"),
        (
            "Card?",
            "Cards are issued in 5 days.",
            "Your card 4111 1111 1111 1111 is ready.",
            "5 days",
            "fr",
            "bad",
        ),
        ("Limit?", "The limit is 2000 EUR.", "The limit is 2000 EUR.", "2000 EUR", "fr", "good"),
        ("Secret?", "", "I'm sorry, but I can't help with that.", "No.", "fr", "good"),
        (
            "Order?",
            "Order 4111 1111 1111 1112.",
            "Order 4111 1111 1111 1112 ships.",
            "It ships.",
            "en",
            "good",
        ),
        ("Rate?", "The rate is fixed.", "The rate is fixed.", "The rate is fixed.", "fr", "good"),
    ]
    return pd.DataFrame(rows, columns=["question", "context", "answer", "reference", "lang", "label"])


@pytest.fixture
def evaluation_set(maya, dataset):
    return factories.make_dataset_version(maya, dataset, recorded_set(), declare=False)


def test_a_run_measures_the_set_per_slice_and_is_judged_against_its_thresholds(
    client, maya, version, evaluation_set
):
    config = {
        "input_column": "question",
        "output_column": "answer",
        "slice_columns": ["lang"],
        "thresholds": {"token_f1_min": 0.9},
        "options": {"min_slice_rows": 4},
    }
    run = execute(queue(maya, "llm_evaluation", version, current=evaluation_set, **config))

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    report = run.results["metrics"]["llm_evaluation"]
    assert report["columns"]["context"] == "context"
    assert report["columns"]["label"] == "label"
    overall = report["overall"]
    assert overall["pii"]["card"]["rows"] == 1  # the order number fails Luhn: not a card
    assert overall["metrics"]["refusal_rate"]["count"] == 1
    assert overall["metrics"]["exact_match"]["count"] == 2  # rows 1 and 8
    slices = {group["value"]: group for group in report["slices"][0]["groups"]}
    assert slices["fr"]["metrics"]["pii_leak_rate"]["value"] == 0.25
    assert slices["en"]["metrics"]["pii_leak_rate"]["value"] == 0.0
    assert {group["value"] for group in report["by_label"]["groups"]} == {"good", "bad"}

    judged = {(e["metric"], e["scope"]): e for e in run.evaluations}
    assert judged[("pii_leak_rate", "all rows")]["status"] == "fail"
    assert judged[("pii_leak_rate", "all rows")]["threshold"] == 0.0
    assert "default: 0" in judged[("pii_leak_rate", "all rows")]["threshold_source"]
    assert judged[("pii_leak_rate", "slice lang = en")]["status"] == "pass"
    assert judged[("pii_leak_rate", "slice lang = fr")]["status"] == "fail"
    assert judged[("token_f1", "all rows")]["threshold_source"] == "request"
    assert ("rouge_l", "all rows") not in judged  # no threshold: reported, not judged
    assert run.outcome == "fail"

    client.force_login(maya)
    page = client.get(reverse("check-detail", args=[run.pk])).content.decode()
    assert 'id="llm-metrics"' in page
    assert "Slice: <code>lang</code>" in page
    assert "Human label: <code>label</code>" in page

    # the validation report's section reads the same stored numbers
    statement = assemble._llm_run_text(run)
    assert f"Check run {run.pk} (fail) measured 8 recorded rows" in statement
    assert "PII leakage rate 0.125" in statement
    section = rendering._llm_evaluation_section(
        replace(samples.validation_input(), llm_evaluation_run=statement)
    )
    assert section[0]["title"] == "LLM evaluation"
    assert rendering._llm_evaluation_section(samples.validation_input()) == []  # none without a run


def test_a_clean_set_passes_and_a_missing_reference_column_warns_a_bound_on_it(maya, version, dataset):
    frame = recorded_set().drop(index=[3]).drop(columns=["reference"])
    clean = factories.make_dataset_version(maya, dataset, frame, declare=False)

    run = execute(
        queue(
            maya,
            "llm_evaluation",
            version,
            current=clean,
            output_column="answer",
            thresholds={"rouge_l_min": 0.5},
        )
    )

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    statuses = {e["metric"]: e["status"] for e in run.evaluations}
    assert statuses == {"pii_leak_rate": "pass", "rouge_l": "warn"}
    assert "no reference column" in run.evaluations[0]["explanation"] + run.evaluations[1]["explanation"]


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({}, "config.output_column"),  # the default column 'output' is absent
        ({"output_column": "answer", "reference_column": "gold"}, "config.reference_column"),
        ({"output_column": "answer", "slice_columns": ["region"]}, "config.slice_columns"),
        ({"output_column": "answer", "options": {"min_slice_rows": 0}}, "config.options.min_slice_rows"),
        ({"output_column": "answer", "options": {"phone_region": "XX"}}, "config.options.phone_region"),
        ({"output_column": "answer", "thresholds": {"pii_rate_max": 0}}, "config.thresholds.pii_rate_max"),
        ({"output_column": "answer", "columns": ["answer"]}, "config.columns"),
    ],
)
def test_bad_config_is_a_400_naming_the_field(api, maya, version, evaluation_set, config, field):
    payload = {
        "kind": "llm_evaluation",
        "model": version.model.name,
        "version": version.version,
        "current_dataset": f"{evaluation_set.dataset.name}:{evaluation_set.version}",
        "config": config,
    }
    response = api.as_user(maya).post(CHECKS, payload, format="json")

    assert response.status_code == 400, response.json()
    assert list(response.json()["error"]["fields"]) == [field]
    assert not CheckRun.objects.exists()


def test_the_start_form_asks_for_the_recorded_set_and_says_which_column_is_missing(
    client, maya, version, evaluation_set
):
    client.force_login(maya)
    url = f"{reverse('check-new')}?model={version.model.name}&version={version.version}&kind=llm_evaluation"
    assert "Slice columns" in client.get(url).content.decode()

    response = client.post(
        url, {"kind": "llm_evaluation", "current_dataset": evaluation_set.pk, "slice_columns": "lang"}
    )

    assert response.status_code == 200  # the form again, with the service's error (the set says "answer")
    assert "has no column &#x27;output&#x27;" in response.content.decode()
    assert not CheckRun.objects.exists()
