"""Fairness, performance, explainability and data-quality checks in-process, against direct metric calls."""

import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_ratio
from sklearn.metrics import roc_auc_score

from monitoring.metrics.explain import explain_model
from monitoring.metrics.fairness import fairness_report
from monitoring.metrics.performance import binary_classification_report
from monitoring.models import RunStatus
from monitoring.services import leases
from registry.models.datasets import DatasetRole
from tests.monitoring import factories
from tests.monitoring.conftest import execute, queue

pytestmark = pytest.mark.django_db


def test_it_stores_fairness_numbers_equal_to_the_metrics_and_to_fairlearn(maya, version, current):
    run = execute(queue(maya, "fairness", version, current=current))

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    frame = factories.credit_frame(seed=3, shift=0.5)
    predicted = np.where(frame["score"] >= 0.5, 1, 0)
    expected = fairness_report(frame["label"].to_numpy(), predicted, frame[["sex"]], scores=frame["score"])
    assert run.results["metrics"]["fairness"] == expected
    ratio = run.results["metrics"]["fairness"]["groupings"][0]["aggregates"]["demographic_parity_ratio"][
        "value"
    ]
    assert ratio == pytest.approx(
        demographic_parity_ratio(frame["label"], predicted, sensitive_features=frame["sex"]), abs=1e-12
    )
    judged = next(e for e in run.evaluations if e["metric"] == "demographic_parity_ratio")
    assert judged["threshold"] == 0.8
    assert "four-fifths" in judged["threshold_source"]
    assert run.results["charts"]["group_bars"][0]["features"] == ["sex"]


def test_it_reports_but_does_not_judge_groups_of_size_zero_or_one(maya, version, dataset):
    frame = factories.credit_frame(seed=6)
    frame.loc[0, "sex"] = "x"  # a group of one
    current = factories.make_dataset_version(maya, dataset, frame)

    run = execute(queue(maya, "fairness", version, current=current))

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    groups = {g["label"]: g for g in run.results["metrics"]["fairness"]["groupings"][0]["groups"]}
    assert groups["x"]["count"] == 1
    assert groups["x"]["judged"] is False


def test_it_warns_when_a_single_group_leaves_nothing_to_compare(maya, version, dataset):
    frame = factories.credit_frame(seed=6)
    frame["sex"] = "f"
    current = factories.make_dataset_version(maya, dataset, frame)

    run = execute(queue(maya, "fairness", version, current=current))

    assert run.status == RunStatus.SUCCEEDED
    assert run.outcome == "warn"
    assert "undefined" in run.evaluations[0]["explanation"]


def test_it_fails_clearly_when_the_target_has_missing_values(maya, version, dataset):
    frame = factories.credit_frame(seed=7).astype({"label": "float"})
    frame.loc[3, "label"] = np.nan
    current = factories.make_dataset_version(maya, dataset, frame)

    run = execute(queue(maya, "fairness", version, current=current))

    assert run.status == RunStatus.FAILED
    assert run.error_type == "InvalidInputError"
    assert "missing values" in run.error_message


def nested_approx(expected, rel: float = 1e-9):
    """``expected`` with every float compared by pytest.approx, at any depth of dicts and lists."""
    if isinstance(expected, dict):
        return {key: nested_approx(value, rel) for key, value in expected.items()}
    if isinstance(expected, list | tuple):
        return [nested_approx(value, rel) for value in expected]
    if isinstance(expected, float):
        return pytest.approx(expected, rel=rel, abs=1e-12)
    return expected


def test_it_scores_with_the_artifact_in_the_sandbox_and_matches_scikit_learn(maya, version, dataset):
    frame = factories.credit_frame(seed=8)
    current = factories.make_dataset_version(maya, dataset, frame, prediction_column="")

    run = execute(queue(maya, "performance", version, current=current))

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert run.task_name == "monitoring.tasks.score_check"
    scores = factories.trained_model("logistic").predict_proba(frame[factories.FEATURES])[:, 1]
    report = run.results["metrics"]["performance"]
    # The sandbox's scores may differ from these in the last bit (its BLAS runs single-threaded, so
    # sums are ordered differently); the report must agree to within that.
    assert report == nested_approx(binary_classification_report(frame["label"].to_numpy(), scores=scores))
    assert report["roc_auc"] == pytest.approx(roc_auc_score(frame["label"], scores), abs=1e-12)
    assert run.diagnostics["sandbox"]["features"] == factories.FEATURES
    assert run.library_versions["skops"]
    assert run.results["charts"]["confusion_matrix"]["labels"] == ["not 1", "1"]  # the data's own classes


def test_it_warns_instead_of_crashing_on_a_single_class_target(maya, version, dataset):
    frame = factories.credit_frame(seed=9)
    frame["label"] = 1
    current = factories.make_dataset_version(maya, dataset, frame)

    run = execute(queue(maya, "performance", version, current=current))

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert run.results["metrics"]["performance"]["roc_auc"] is None
    assert run.outcome == "warn"
    assert "no negatives" in run.evaluations[0]["explanation"]


def test_it_fails_clearly_on_infinite_scores(maya, version, dataset):
    frame = factories.credit_frame(seed=10)
    frame.loc[5, "score"] = np.inf
    current = factories.make_dataset_version(maya, dataset, frame)

    run = execute(queue(maya, "performance", version, current=current))

    assert run.status == RunStatus.FAILED
    assert (
        run.error_message == "Column 'score' has 1 missing or infinite score(s); scores must all be finite."
    )


def test_it_explains_the_model_reproducibly_with_shap(maya, model, dataset, monkeypatch):
    version = factories.skops_version(maya, model, kind="boosting")
    frame = factories.credit_frame(seed=11, rows=200)
    current = factories.make_dataset_version(maya, dataset, frame)
    reported = []  # the rows the sandbox reported explained, in batches, as the worker saw them
    step = leases.Progress.step
    monkeypatch.setattr(
        leases.Progress, "step", lambda self, *done: (reported.append(done), step(self, *done))
    )

    first = execute(queue(maya, "explainability", version, current=current))
    reported_by_first = list(reported)
    second = execute(queue(maya, "explainability", version, current=current))

    assert first.status == RunStatus.SUCCEEDED, first.error_message
    assert first.task_name == "monitoring.tasks.explain_check"
    explanation = first.results["metrics"]["explanation"]
    expected = explain_model(
        factories.trained_model("boosting"), frame[factories.FEATURES], time_budget_s=None
    )
    expected.pop("timing")
    assert explanation == expected
    assert explanation["explainer"] == "TreeExplainer"
    assert first.outcome == "pass"
    assert first.result_sha256 == second.result_sha256
    assert "shap_timing" in first.diagnostics
    assert [bar["feature"] for bar in first.results["charts"]["shap_bar"]]
    # batches of rows were reported (the last: all 200), and the SHAP values equal one call on all rows
    assert reported_by_first[-1] == (200, 200)
    assert reported_by_first == sorted(reported_by_first)


def test_it_reports_data_quality_issues_by_severity(maya, version, dataset, reference):
    frame = factories.credit_frame(seed=12).drop(columns=["region"])
    frame.loc[:50, "sex"] = "unknown"
    current = factories.make_dataset_version(maya, dataset, frame)

    run = execute(queue(maya, "data_quality", version, reference=reference, current=current))

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    codes = {(e["metric"], e["status"]) for e in run.evaluations}
    assert ("missing_column", "fail") in codes
    assert ("unseen_categories", "fail") in codes
    assert run.outcome == "fail"
    assert run.results["charts"]["issues_by_severity"]["errors"] >= 2


def test_it_passes_data_quality_on_a_clean_batch(maya, version, dataset, reference):
    current = factories.make_dataset_version(maya, dataset, factories.credit_frame(seed=2, rows=399))

    run = execute(queue(maya, "data_quality", version, reference=reference, current=current, columns=["sex"]))

    assert run.outcome == "pass", run.evaluations


def test_it_rejects_a_reference_for_a_kind_that_does_not_use_one(maya, version, reference, current):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        queue(maya, "fairness", version, reference=reference, current=current)
    assert "reference_dataset" in error.value.message_dict


def test_it_uses_the_reference_as_shap_background_when_given(maya, model, dataset):
    version = factories.skops_version(maya, model, kind="logistic")
    reference = factories.make_dataset_version(
        maya, dataset, factories.credit_frame(seed=13), role=DatasetRole.REFERENCE
    )
    current = factories.make_dataset_version(maya, dataset, factories.credit_frame(seed=14, rows=50))

    run = execute(queue(maya, "explainability", version, reference=reference, current=current))

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert run.results["metrics"]["explanation"]["explainer"] == "LinearExplainer"
    assert run.results["metrics"]["explanation"]["background_rows"] == 100
