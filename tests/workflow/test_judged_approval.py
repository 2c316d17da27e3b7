"""Judged metrics as approval prerequisites: the policy's lowest mean score per metric, and the judge's
least Cohen's kappa against people."""

import io
from pathlib import Path

import pytest

from monitoring.services.judged import judged_evaluation_import
from registry import storage
from registry.models import RegisteredModel
from tests.workflow.helpers import error, policy_version, request_approval

pytestmark = pytest.mark.django_db
DATA = Path(__file__).parents[1] / "monitoring" / "data" / "judged"


def import_deepeval(actor, version, *, with_labels: bool):
    def upload(name):
        return storage.upload_from_file(io.BytesIO((DATA / name).read_bytes()), name)

    return judged_evaluation_import(
        actor=actor,
        version=version,
        file_format="deepeval",
        upload=upload("deepeval.latest_test_run.json"),
        labels=upload("deepeval.labels.csv") if with_labels else None,
    )[0]


def as_llm_application(version):
    """The LLM track binds by the model's kind, which the services fix once a version exists: the fixture's
    scoring version stands in for a bundle here (what the rule reads is the kind and the evidence)."""
    RegisteredModel.objects.filter(pk=version.model_id).update(kind="llm_application")
    version.model.refresh_from_db()


def test_a_model_outside_the_llm_track_is_held_only_to_the_metrics_it_has(api, maya, quick_ready_version):
    policy_version(judged_metric_minimums={"Answer Relevancy": 0.8, "Toxicity": 0.9})
    import_deepeval(maya, quick_ready_version, with_labels=False)  # Answer Relevancy 0.75, no Toxicity

    response = request_approval(api, maya, quick_ready_version)

    assert response.status_code == 409
    assert [item.split(":", 1)[1] for item in error(response)["details"]["missing"]] == [
        " mean score 0.7500 is below the policy's 0.8"
    ]
    policy_version(judged_metric_minimums={"Answer Relevancy": 0.7, "Toxicity": 0.9})
    assert request_approval(api, maya, quick_ready_version).status_code == 201


def test_the_llm_track_requires_every_metric_the_policy_names(api, maya, quick_ready_version):
    as_llm_application(quick_ready_version)
    policy_version(judged_metric_minimums={"Answer Relevancy": 0.8, "Toxicity": 0.9})

    response = request_approval(api, maya, quick_ready_version)

    assert response.status_code == 409
    missing = error(response)["details"]["missing"]
    assert [item for item in missing if item.startswith("judged metric")] == [
        "judged metric 'Answer Relevancy': no imported evaluation of this version has it",
        "judged metric 'Toxicity': no imported evaluation of this version has it",
    ]


def test_minimum_score_and_judge_agreement(api, maya, quick_ready_version):
    unlabelled = import_deepeval(maya, quick_ready_version, with_labels=False)
    policy_version(judged_metric_minimums={"Answer Relevancy": 0.8}, judge_kappa_minimum=0.6)
    response = request_approval(api, maya, quick_ready_version)
    assert error(response)["details"]["missing"] == [
        f"judged metric 'Answer Relevancy' (evaluation {unlabelled.pk}): mean score 0.7500 is below the policy's 0.8",
        f"judged metric 'Answer Relevancy' (evaluation {unlabelled.pk}): no human-labelled sample to measure the "
        "judge's agreement",
    ]

    labelled = import_deepeval(maya, quick_ready_version, with_labels=True)
    policy_version(judged_metric_minimums={"Answer Relevancy": 0.7}, judge_kappa_minimum=0.6)
    response = request_approval(api, maya, quick_ready_version)
    assert error(response)["details"]["missing"] == [
        f"judged metric 'Answer Relevancy' (evaluation {labelled.pk}): the judge's Cohen's kappa against 4 human "
        "labels is 0.5000, below the policy's 0.6"
    ]

    policy_version(judged_metric_minimums={"Answer Relevancy": 0.7}, judge_kappa_minimum=0.5)
    response = request_approval(api, maya, quick_ready_version)
    assert response.status_code == 201, response.json()
    pinned = response.json()["evidence_manifest"]["judged_evaluations"]
    assert [item["id"] for item in pinned] == [unlabelled.pk, labelled.pk]


def test_the_version_page_shows_scores_beside_the_judge_and_its_agreement(client, maya, quick_version):
    labelled = import_deepeval(maya, quick_version, with_labels=True)
    client.force_login(maya)

    html = client.get(
        f"/models/{quick_version.model.name}/versions/{quick_version.version}/"
    ).content.decode()

    assert "Answer Relevancy" in html
    assert "0.7500" in html  # mean score and pass rate
    assert "kappa 0.5000 on 4 labels (0.7500 agree)" in html
    assert "gpt-4.1" in html
    assert f"#{labelled.pk} deepeval" in html
