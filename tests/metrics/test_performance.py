"""Performance metrics against scikit-learn."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import metrics as skm

from monitoring.metrics.errors import InvalidInputError
from monitoring.metrics.performance import binary_classification_report, regression_report, roc_curve


@pytest.fixture(scope="module")
def classification():
    rng = np.random.default_rng(12)
    y = (rng.random(5000) < 0.3).astype(int)
    scores = np.clip(np.round(0.35 * y + rng.beta(2, 4, 5000), 3), 0, 1)  # rounding makes ties
    return y, scores


def test_label_metrics_equal_sklearns(classification):
    y, scores = classification
    predicted = (scores >= 0.5).astype(int)
    report = binary_classification_report(y, scores)
    assert report["accuracy"] == pytest.approx(skm.accuracy_score(y, predicted), abs=1e-15)
    assert report["precision"] == pytest.approx(skm.precision_score(y, predicted), abs=1e-15)
    assert report["recall"] == pytest.approx(skm.recall_score(y, predicted), abs=1e-15)
    assert report["f1"] == pytest.approx(skm.f1_score(y, predicted), abs=1e-12)
    assert report["confusion_matrix"]["matrix"] == skm.confusion_matrix(y, predicted).tolist()


def test_score_metrics_equal_sklearns(classification):
    y, scores = classification
    report = json.loads(json.dumps(binary_classification_report(y, scores), allow_nan=False))
    auc = skm.roc_auc_score(y, scores)
    assert report["roc_auc"] == pytest.approx(auc, abs=1e-12)
    assert report["gini"] == pytest.approx(2 * auc - 1, abs=1e-12)
    assert report["brier_score"] == pytest.approx(skm.brier_score_loss(y, scores), abs=1e-15)
    fpr, tpr, _ = skm.roc_curve(y, scores, drop_intermediate=False)
    assert report["ks"]["statistic"] == pytest.approx(np.max(np.abs(tpr - fpr)), abs=1e-15)
    assert len(report["roc_curve"]["fpr"]) <= 200
    assert report["roc_curve"]["fpr"][0] == 0.0
    assert report["roc_curve"]["tpr"][-1] == 1.0


def test_the_full_roc_curve_equals_sklearns(classification):
    y, scores = classification
    fpr, tpr, thresholds = roc_curve(y.astype(bool), scores)
    expected = skm.roc_curve(y, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, expected[0], atol=1e-15)
    np.testing.assert_allclose(tpr, expected[1], atol=1e-15)
    np.testing.assert_array_equal(thresholds[1:], expected[2][1:])


def test_the_credit_scoring_ks_is_the_two_sample_ks_of_the_class_scores(classification):
    from scipy.stats import ks_2samp

    y, scores = classification
    report = binary_classification_report(y, scores)
    expected = ks_2samp(scores[y == 1], scores[y == 0]).statistic
    assert report["ks"]["statistic"] == pytest.approx(expected, abs=1e-12)


def test_the_calibration_table_uses_score_deciles(classification):
    y, scores = classification
    table = binary_classification_report(y, scores)["calibration"]
    assert sum(table["count"]) == len(y)
    assert len(table["count"]) <= 10
    index = np.searchsorted(np.array(table["edges"]), scores, side="right")
    first = index == 0
    assert table["mean_predicted"][0] == pytest.approx(scores[first].mean())
    assert table["observed_rate"][0] == pytest.approx(y[first].mean())


def test_a_single_class_target_leaves_auc_undefined():
    report = binary_classification_report(np.zeros(10, int), np.linspace(0, 1, 10))
    json.dumps(report, allow_nan=False)
    assert report["roc_auc"] is None
    assert report["gini"] is None
    assert "no positives" in report["ranking_reason"]
    assert report["recall"] is None
    assert report["undefined"]["recall"] == "no actual positives"


def test_scores_outside_zero_one_get_no_brier_score():
    report = binary_classification_report([0, 1, 0, 1], [-2.0, 1.5, 0.3, 3.0], threshold=0.0)
    assert report["brier_score"] is None
    assert report["roc_auc"] == 1.0


def test_regression_metrics_equal_sklearns():
    rng = np.random.default_rng(2)
    y = rng.normal(10, 3, 2000)
    predicted = y + rng.normal(0, 1, 2000)
    report = regression_report(y, predicted)
    assert report["mae"] == pytest.approx(skm.mean_absolute_error(y, predicted), rel=1e-12)
    assert report["rmse"] == pytest.approx(skm.root_mean_squared_error(y, predicted), rel=1e-12)
    assert report["r2"] == pytest.approx(skm.r2_score(y, predicted), rel=1e-12)


def test_a_constant_target_leaves_r2_undefined():
    report = regression_report([2.0, 2.0, 2.0], [1.0, 2.0, 3.0])
    assert report["r2"] is None
    assert "constant" in report["r2_reason"]


def test_bad_inputs_are_refused():
    with pytest.raises(InvalidInputError, match="two labels"):
        binary_classification_report([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(InvalidInputError, match="missing or infinite"):
        binary_classification_report([0, 1, 1], [0.1, np.nan, 0.3])
    with pytest.raises(InvalidInputError, match="y_pred, scores"):
        binary_classification_report([0, 1, 1])
