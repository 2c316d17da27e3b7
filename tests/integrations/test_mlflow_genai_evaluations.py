"""MLflow GenAI evaluations brought in by the MLflow import, against a real ``mlflow server``: a
``mlflow.genai.evaluate`` run of an imported version's logged model becomes a judged evaluation of that
version, with the judge named by MLflow's assessments, the scorer's digest as its prompt version, the mean
equal to the ``<scorer>/mean`` MLflow logged, and Cohen's kappa against the people's feedback on the same
traces equal to scikit-learn's; read once; the policy's judged-metric minimums then see it."""

from __future__ import annotations

import json

import pytest
from sklearn.metrics import cohen_kappa_score

from audit.models import AuditEvent
from integrations.models import MlflowEvaluationLink, MlflowVersionLink
from integrations.services import mlflow_evaluations
from monitoring import judged
from monitoring.models import JudgedEvaluation
from registry import storage
from tests.integrations.test_mlflow_import import counts, sync
from workflow.services import judged as judged_rules

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def evaluated(mlflow_server, registry, maya, mlflow_model_name):
    """An imported version, then an evaluation of its logged model in MLflow, then the next poll."""
    mlflow_server.populate("sklearn", mlflow_model_name)
    sync(registry, maya)
    made = mlflow_server.populate("genai-eval", mlflow_model_name, "1", timeout=240)
    job = sync(registry, maya)
    return made, job


def metric(evaluation: JudgedEvaluation, name: str) -> dict:
    return next(row for row in evaluation.results["metrics"] if row["metric"] == name)


def test_an_evaluation_run_becomes_a_judged_evaluation_of_the_version_it_evaluated_once(
    evaluated, registry, maya
):
    made, job = evaluated

    assert counts(job)["evaluations_imported"] == 1, job.result
    link = MlflowEvaluationLink.objects.get(run_id=made["run_id"])
    version = MlflowVersionLink.objects.get(mlflow_version=1, run_id__gt="").version
    assert link.version == version
    evaluation = link.evaluation
    assert (evaluation.model_version, evaluation.format) == (version, "mlflow")
    assert link.run_link.endswith(f"/runs/{made['run_id']}")
    # the means are MLflow's own aggregate metrics on the run
    for name in ("correctness", "groundedness"):
        row = metric(evaluation, name)
        assert row["mean_score"] == pytest.approx(made["metrics"][f"{name}/mean"]), name
        assert row["items"] == len(made["traces"])
        assert row["judge_models"] == [made["judge"]]
        assert row["judge_prompt_versions"][0].startswith("sha256:")  # the scorer definition's digest
    # judge against people on the traces both judged: scikit-learn's kappa on the client's own reading
    pairs = [
        (trace["judge_correctness"] == "yes", trace["human_correctness"] == "yes")
        for trace in made["traces"].values()
        if trace["human_correctness"] is not None
    ]
    correctness = metric(evaluation, "correctness")
    assert correctness["human_labelled"] == len(pairs) == 8
    assert correctness["kappa"] == pytest.approx(
        cohen_kappa_score([a for a, _ in pairs], [b for _, b in pairs])
    )
    assert metric(evaluation, "groundedness")["human_labelled"] == 0
    event = AuditEvent.objects.get(action="mlflow.evaluation_imported")
    assert (event.after["run_id"], event.after["judged_evaluation"]) == (made["run_id"], evaluation.pk)
    assert event.after["traces"] == len(made["traces"])
    # what was read is kept by its SHA-256 and reads back to the same results
    with storage.open_blob(evaluation.file_key) as stored:
        raw = stored.read()
    assert json.loads(raw)["run"]["info"]["run_id"] == made["run_id"]
    assert judged.parse("mlflow", raw) == evaluation.results

    # the next poll reads no run twice
    evaluations = JudgedEvaluation.objects.count()

    again = sync(registry, maya)

    assert "evaluations_imported" not in counts(again), again.result
    assert JudgedEvaluation.objects.count() == evaluations
    assert MlflowEvaluationLink.objects.filter(run_id=made["run_id"]).count() == 1
    # and the policy's judged-metric minimums see the imported scores
    version = MlflowEvaluationLink.objects.get(run_id=made["run_id"]).version
    correctness = made["metrics"]["correctness/mean"]

    class Policy:  # the two fields the rule reads (a policy version is exercised in tests/workflow)
        judged_metric_minimums = {"correctness": round(correctness + 0.01, 4)}
        judge_kappa_minimum = None

    missing = judged_rules.approval_missing(version, Policy())

    assert len(missing) == 1
    assert "'correctness' (evaluation" in missing[0]
    assert f"mean score {correctness:.4f} is below" in missing[0]
    Policy.judged_metric_minimums = {"correctness": round(correctness - 0.01, 4)}
    assert judged_rules.approval_missing(version, Policy()) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("models:/m-424781274915422fa86eceeaed1e88b9", "m-424781274915422fa86eceeaed1e88b9"),
        ("runs:/786a90938a044f45/model", ""),
        ("mlflow-artifacts:/0/models/m-1/artifacts", ""),
        ("models:/m-1/extra", ""),
        ("models:/m-1') OR (1=1", ""),
        ("", ""),
    ],
)
def test_only_an_mlflow_3_logged_model_source_names_the_evaluated_model(source, expected):
    assert mlflow_evaluations.logged_model_id(source) == expected
