"""Judged evaluation metrics from OpenTelemetry GenAI events, promptfoo, deepeval and ragas files (written in
each tool's format, data/judged/), with judge provenance and Cohen's kappa against human labels (checked
against scikit-learn's cohen_kappa_score); the import endpoint."""

import hashlib
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from sklearn.metrics import cohen_kappa_score

from audit.models import AuditEvent
from monitoring import judged
from monitoring.models import JudgedEvaluation
from tests.factories import records as rows

DATA = Path(__file__).parent / "data" / "judged"


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def metrics(results):
    return {
        m["metric"]: (
            m["items"],
            m["mean_score"],
            m["pass_rate"],
            m["judge_models"],
            m["judge_prompt_versions"],
        )
        for m in results["metrics"]
    }


def test_each_format_read_with_judge_provenance():
    labels = judged.read_labels(read("deepeval.labels.csv"))
    deepeval = judged.parse("deepeval", read("deepeval.latest_test_run.json"), labels=labels)
    # Answer Relevancy: (0.9 + 0.75 + 0.4 + 0.95) / 4, 3 of 4 passed; Faithfulness: the errored case is left out
    assert metrics(deepeval) == {
        "Answer Relevancy": (4, 0.75, 0.75, ["gpt-4.1"], []),
        "Faithfulness": (3, pytest.approx(2.5 / 3), pytest.approx(2 / 3), ["gpt-4.1"], []),
    }
    relevancy = deepeval["metrics"][0]
    assert (relevancy["human_labelled"], relevancy["agreement"], relevancy["kappa"]) == (4, 0.75, 0.5)

    ragas = judged.parse("ragas", read("ragas.results.csv"), judge_model="gpt-4o")
    # faithfulness (1.0 + 0.5 + 0.25) / 3 with 2 of 3 at or above 0.5; answer_relevancy's third cell is empty
    assert metrics(ragas) == {
        "answer_relevancy": (2, pytest.approx(0.85), 1.0, ["gpt-4o"], []),
        "faithfulness": (3, pytest.approx(1.75 / 3), pytest.approx(2 / 3), ["gpt-4o"], []),
    }

    otel = judged.parse(
        "otel_genai",
        read("otel_genai.logs.json"),
        judge_model="gpt-4o-mini",
        judge_prompt_version="relevance-v3",
    )
    # three evaluation events (the inference event is not one): labels pass, fail; the third by 0.7 >= 0.5
    assert metrics(otel) == {
        "Relevance": (3, pytest.approx(0.6), pytest.approx(2 / 3), ["gpt-4o-mini"], ["relevance-v3"])
    }

    promptfoo = judged.parse("promptfoo", read("promptfoo.eval.json"))
    rubric = json.dumps("Answers the question using only the policy documents", sort_keys=True)
    version = hashlib.sha256(rubric.encode()).hexdigest()[:12]
    # the llm-rubric assertions only (a 'contains' assertion is not judged by a model)
    assert metrics(promptfoo) == {"helpfulness": (2, 0.5, 0.5, ["openai:gpt-4.1-mini"], [version])}


@pytest.mark.parametrize(
    ("judge", "people"),
    [
        ([1, 1, 0, 1], [1, 0, 0, 1]),
        ([1, 1, 1, 0, 0, 1, 0, 1], [1, 0, 1, 0, 1, 1, 0, 0]),
        ([1, 0, 1, 0], [0, 1, 0, 1]),
        ([1, 1, 1, 1, 0], [1, 1, 1, 1, 1]),
    ],
)
def test_kappa_matches_scikit_learn(judge, people):
    ours = judged.cohen_kappa([bool(x) for x in judge], [bool(x) for x in people])
    assert ours == pytest.approx(cohen_kappa_score(judge, people))


def test_kappa_is_undefined_when_both_raters_give_one_label():
    assert judged.cohen_kappa([True, True], [True, True]) is None


@pytest.fixture
def versions(db, credit_risk, fraud, maya, olga):
    mine = rows.ModelVersionFactory(model=rows.RegisteredModelFactory(team=credit_risk, owner=maya))
    theirs = rows.ModelVersionFactory(model=rows.RegisteredModelFactory(team=fraud, owner=olga))
    return mine, theirs


def upload(api, user, version, *, content=None, fmt="deepeval", labels=None, **fields):
    url = reverse("api:judged-evaluation-list", args=[version.model.name, version.version])
    body = {
        "format": fmt,
        "file": SimpleUploadedFile("results.json", content or read("deepeval.latest_test_run.json")),
    }
    if labels is not None:
        body["labels"] = SimpleUploadedFile("labels.csv", labels)
    return api.as_user(user).post(url, body | fields, format="multipart")


@pytest.mark.parametrize(
    ("persona", "expected"), [("victor", 201), ("rita", 403), ("aaron", 403), ("olga", 404)]
)
def test_import_permission_matrix(request, api, versions, persona, expected):
    user = request.getfixturevalue(persona)

    response = upload(
        api, user, versions[0], labels=read("deepeval.labels.csv"), judge_prompt_version="rel-2"
    )

    assert response.status_code == expected, response.json()
    assert JudgedEvaluation.objects.count() == (1 if expected == 201 else 0)
    if expected == 201:
        stored = JudgedEvaluation.objects.get()
        relevancy = response.json()["results"]["metrics"][0]
        assert (relevancy["kappa"], relevancy["judge_prompt_versions"]) == (0.5, ["rel-2"])
        assert stored.labels_sha256 == hashlib.sha256(read("deepeval.labels.csv")).hexdigest()
        (event,) = AuditEvent.objects.filter(action="judged_evaluation.imported")
        assert event.actor_username == "victor"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"content": b"{}"}, "file", "needs testCases"),
        ({"content": b"user_input,response\nq,a\n", "fmt": "ragas"}, "file", "no metric column"),
        ({"content": b'{"run": {}}', "fmt": "mlflow"}, "file", "needs traces"),
        ({"content": b'{"traces": [{"assessments": []}]}', "fmt": "mlflow"}, "file", "traces[0]"),
        ({"labels": b"item,label\nx,pass\n"}, "labels", "columns item, metric and label"),
        ({"labels": b"item,metric,label\nx,Faithfulness,maybe\n"}, "labels", "'maybe' is not pass or fail"),
        ({"pass_threshold": "1.5"}, "pass_threshold", "1"),
    ],
)
def test_a_bad_file_is_refused_naming_the_field(api, versions, maya, fields, field, message):
    response = upload(api, maya, versions[0], **fields)

    assert response.status_code == 400
    error = response.json()["error"]
    assert list(error["fields"]) == [field], error
    assert message in str(error), error
    assert not JudgedEvaluation.objects.exists()
    assert not AuditEvent.objects.filter(action="judged_evaluation.imported").exists()


def mlflow_feedback(name, value, source_type, source_id="", **extra):
    return {
        "assessment_name": name,
        "source": {"source_type": source_type, "source_id": source_id},
        "feedback": {"value": value},
        "metadata": {"mlflow.assessment.scorerDigest": "sha256:abc"},
        **extra,
    }


def test_an_mlflow_evaluation_reads_judges_people_and_skips_what_is_not_a_verdict():
    """Hand-worked: four traces judged on `correct` (yes, no, yes, an error) and `grounded` (0.9, 0.2,
    0.6, 1.0); a person says yes, yes, no on the first three `correct` verdicts; an expectation, a
    superseded (invalid) verdict and a code scorer's `length` verdict are on the traces too."""
    judge = "openai:/gpt-4o-mini"
    correct = ["yes", "no", "yes", None]
    grounded = [0.9, 0.2, 0.6, 1.0]
    people = ["yes", "yes", "no", None]
    traces = []
    for index in range(4):
        assessments = [
            mlflow_feedback("grounded", grounded[index], "LLM_JUDGE", judge),
            {"assessment_name": "expected_response", "source": {"source_type": "HUMAN"}, "expectation": {}},
            mlflow_feedback("correct", "no", "LLM_JUDGE", judge, valid=False),
            mlflow_feedback("length", index * 10, "CODE", "length_check"),
        ]
        if correct[index] is None:
            assessments.append(
                mlflow_feedback("correct", None, "LLM_JUDGE", judge)
                | {"feedback": {"error": {"error_code": "X"}}}
            )
        else:
            assessments.append(mlflow_feedback("correct", correct[index], "LLM_JUDGE", judge))
        if people[index] is not None:
            assessments.append(mlflow_feedback("correct", people[index], "HUMAN", "rita"))
        traces.append({"trace_id": f"tr-{index}", "assessments": assessments})

    results = judged.parse("mlflow", json.dumps({"run": {}, "traces": traces}).encode())

    by_metric = {m["metric"]: m for m in results["metrics"]}
    assert sorted(by_metric) == ["correct", "grounded", "length"]
    assert (by_metric["correct"]["items"], by_metric["correct"]["mean_score"]) == (4, pytest.approx(2 / 3))
    assert by_metric["correct"]["pass_rate"] == pytest.approx(2 / 3)
    # judge yes/no/yes against people yes/yes/no: 1 of 3 agree; p_judge = p_people = 2/3, pe = 5/9
    assert by_metric["correct"]["human_labelled"] == 3
    assert by_metric["correct"]["kappa"] == pytest.approx((1 / 3 - 5 / 9) / (1 - 5 / 9))
    assert by_metric["correct"]["judge_models"] == [judge]
    assert by_metric["correct"]["judge_prompt_versions"] == ["sha256:abc"]
    assert by_metric["grounded"]["mean_score"] == pytest.approx(0.675)
    assert by_metric["grounded"]["pass_rate"] == pytest.approx(0.75)  # at the default 0.5
    assert by_metric["length"]["judge_models"] == ["code:length_check"]
    assert results["human_labels"] == 3
