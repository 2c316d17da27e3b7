"""Drift decisions, the reference profile and edge cases."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from monitoring.metrics.drift import (
    DriftConfig,
    build_reference_profile,
    column_drift,
    compare_with_profile,
    dataset_drift,
    prediction_drift,
)
from monitoring.metrics.errors import (
    ColumnTypeError,
    EmptyDataError,
    InvalidInputError,
    MetricsError,
    NonFiniteValueError,
    SchemaMismatchError,
)


def json_safe(result):
    return json.loads(json.dumps(result, allow_nan=False))


def frames(n_ref, n_cur, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)

    def frame(n, delta):
        return pd.DataFrame(
            {
                "income": rng.lognormal(10 + delta, 0.5, n),
                "age": rng.integers(18, 80, n) + (5 if delta else 0),
                "rating": rng.integers(0, 4, n),  # four distinct values
                "region": rng.choice(["north", "south", "east", "west"], n, p=[0.4, 0.3, 0.2, 0.1]),
                "is_member": rng.random(n) < (0.3 + delta),
            }
        )

    return frame(n_ref, 0.0), frame(n_cur, shift)


def by_column(result):
    return {column["column"]: column for column in result["columns"]}


def test_it_follows_evidentlys_test_choice_for_small_references():
    reference, current = frames(800, 900)
    columns = by_column(dataset_drift(reference, current))
    assert columns["income"]["test"]["name"] == "ks"
    assert columns["age"]["test"]["name"] == "ks"
    assert columns["rating"]["test"]["name"] == "chi_square"
    assert columns["region"]["test"]["name"] == "chi_square"
    assert columns["is_member"]["test"]["name"] == "z_test"
    reason = columns["income"]["test"]["reason"]
    assert "reference has 800 non-missing rows (1000 or fewer)" in reason
    assert "numeric with 1700 distinct values" in reason
    assert columns["income"]["test"]["threshold"] == 0.05
    assert "Evidently DataDriftPreset default" in columns["income"]["test"]["threshold_source"]


def test_it_follows_evidentlys_test_choice_for_large_references():
    reference, current = frames(3000, 2000)
    columns = by_column(dataset_drift(reference, current))
    assert columns["income"]["test"]["name"] == "wasserstein"
    assert columns["rating"]["test"]["name"] == "jensen_shannon"
    assert columns["rating"]["statistics"]["jensen_shannon"]["binning"] == "distinct values"
    assert columns["region"]["test"]["name"] == "jensen_shannon"
    assert columns["is_member"]["test"]["name"] == "jensen_shannon"
    assert columns["income"]["test"]["threshold"] == 0.1
    assert columns["income"]["test"]["rule"] == "distance >= threshold"


def test_it_detects_a_shift_and_reports_effect_sizes():
    reference, current = frames(5000, 5000, shift=0.3)
    result = json_safe(dataset_drift(reference, current))
    columns = by_column(result)
    assert columns["income"]["drift_detected"] is True
    assert columns["age"]["drift_detected"] is True
    assert columns["is_member"]["drift_detected"] is True
    assert columns["region"]["drift_detected"] is False
    assert columns["income"]["statistics"]["ks"]["effect_size"] > 0.2
    assert "cramers_v" in columns["region"]["statistics"]["chi_square"]["effect_size_name"]
    summary = result["summary"]
    assert summary["number_of_drifted_columns"] == 3
    assert summary["share_of_drifted_columns"] == pytest.approx(3 / 5)
    assert summary["dataset_drift"] is True
    assert "income" in result["psi_bands"]["significant"]


def test_the_dataset_drifts_when_exactly_half_of_its_columns_drift():
    rng = np.random.default_rng(1)
    reference = pd.DataFrame({c: rng.normal(size=2000) for c in "abcd"})
    current = pd.DataFrame({c: rng.normal(2.0 if c in "ab" else 0.0, size=2000) for c in "abcd"})
    summary = dataset_drift(reference, current)["summary"]
    assert summary["drifted_columns"] == ["a", "b"]
    assert summary["dataset_drift"] is True
    assert not dataset_drift(reference, current, config=DriftConfig(drift_share=0.75))["summary"][
        "dataset_drift"
    ]


def test_one_profile_serves_many_batches():
    reference, current = frames(2500, 1500, shift=0.1)
    profile = build_reference_profile(reference)
    for batch in (current, current.iloc[:500]):
        assert compare_with_profile(profile, batch) == dataset_drift(reference, batch)
    assert json_safe(profile.summary())["columns"][3]["categories"]["north"] > 0


def test_overrides_replace_the_test_and_threshold_and_say_so():
    reference, current = frames(3000, 3000)
    config = DriftConfig(
        column_tests={"income": "psi", "region": "chi_square"},
        column_thresholds={"region": 0.01},
        test_thresholds={"psi": 0.2},
    )
    columns = by_column(dataset_drift(reference, current, config=config))
    assert columns["income"]["test"]["name"] == "psi"
    assert columns["income"]["test"]["threshold"] == 0.2
    assert columns["income"]["test"]["threshold_source"] == "configured for test 'psi'"
    assert columns["income"]["test"]["reason"] == "configured for column 'income'"
    assert columns["region"]["test"]["threshold"] == 0.01
    assert columns["region"]["test"]["threshold_source"] == "configured for column 'region'"


def test_impossible_overrides_are_refused():
    with pytest.raises(InvalidInputError, match="unknown drift test"):
        DriftConfig(column_tests={"income": "anderson"})
    reference, current = frames(100, 100)
    with pytest.raises(InvalidInputError, match="'region'"):
        dataset_drift(reference, current, config=DriftConfig(column_tests={"region": "ks"}))
    with pytest.raises(InvalidInputError, match="at most 2"):
        dataset_drift(reference, current, config=DriftConfig(column_tests={"region": "z_test"}))


def test_missing_values_are_counted_and_left_out_of_the_tests():
    rng = np.random.default_rng(3)
    reference = rng.normal(size=500)
    current = rng.normal(size=400)
    with_gaps = current.copy()
    with_gaps[:40] = np.nan
    result = column_drift(reference, with_gaps)
    assert result["current"]["missing"] == 40
    assert result["current"]["missing_share"] == pytest.approx(0.1)
    assert result["statistics"]["ks"] == column_drift(reference, current[40:])["statistics"]["ks"]


def test_infinite_values_are_counted_like_missing_ones_by_default():
    reference = np.array([1.0, 2.0, 3.0, np.inf, -np.inf, 4.0])
    current = np.array([1.0, 2.5, np.inf, 3.5])
    result = json_safe(column_drift(reference, current))
    assert result["reference"]["infinite"] == 2
    assert result["current"]["infinite"] == 1
    assert result["current"]["valid"] == 3
    assert any("infinite" in note for note in result["notes"])


def test_infinite_values_can_be_refused():
    with pytest.raises(NonFiniteValueError, match="'score'"):
        column_drift([1.0, np.inf], [1.0, 2.0], name="score", config=DriftConfig(infinite="error"))


def test_empty_inputs_raise_a_clear_error():
    reference, current = frames(50, 50)
    with pytest.raises(EmptyDataError, match="reference"):
        dataset_drift(reference.iloc[:0], current)
    with pytest.raises(EmptyDataError, match="current"):
        dataset_drift(reference, current.iloc[:0])
    assert issubclass(EmptyDataError, MetricsError)
    assert issubclass(MetricsError, ValueError)


def test_a_constant_column_uses_the_std_floor():
    result = column_drift(np.full(2000, 5.0), np.full(1500, 5.002))
    wasserstein = result["statistics"]["wasserstein"]
    assert wasserstein["std_floor_applied"] is True
    assert wasserstein["normalised"] == pytest.approx(0.002 / 0.001)
    assert result["statistics"]["ks"]["statistic"] == 1.0
    assert result["drift_detected"] is True


def test_a_column_with_one_value_in_one_sample_is_measured():
    rng = np.random.default_rng(4)
    result = json_safe(column_drift(rng.normal(size=300), np.zeros(200)))
    assert result["status"] == "tested"
    assert result["drift_detected"] is True
    categorical = json_safe(column_drift(["a"] * 100, ["a"] * 50 + ["b"] * 50))
    assert categorical["test"]["name"] == "z_test"
    assert categorical["drift_detected"] is True
    same = json_safe(column_drift(["a"] * 100, ["a"] * 80))
    assert same["statistics"]["z_test"]["p_value"] == 1.0
    assert same["statistics"]["chi_square"]["p_value"] == 1.0
    assert same["drift_detected"] is False


def test_an_all_missing_column_is_reported_but_not_tested():
    reference, current = frames(300, 300)
    current["income"] = np.nan
    result = json_safe(dataset_drift(reference, current))
    income = by_column(result)["income"]
    assert income["status"] == "not_tested"
    assert income["drift_detected"] is None
    assert income["reason"] == "current has no non-missing values, so no test can compare them"
    assert result["summary"]["not_tested_columns"] == ["income"]
    assert result["summary"]["tested_columns"] == 4


def test_schema_mismatches_name_the_column():
    reference, current = frames(100, 100)
    with pytest.raises(SchemaMismatchError, match="'income'"):
        dataset_drift(reference, current.drop(columns=["income"]))
    current["income"] = "high"
    with pytest.raises(ColumnTypeError, match="'income'"):
        dataset_drift(reference, current)


def test_dtype_changes_are_noted_and_labels_still_match():
    reference = pd.DataFrame({"grade": pd.Series([1, 2, 3] * 100)})
    current = pd.DataFrame({"grade": pd.Series([1.0, 2.0, 3.0] * 90)})
    result = dataset_drift(reference, current, column_kinds={"grade": "categorical"})
    grade = result["columns"][0]
    assert grade["statistics"]["unseen_categories"] == {}
    assert grade["notes"] == ["dtype changed from int64 in the reference to float64"]


def test_datetime_columns_are_refused_with_advice():
    reference = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=10)})
    with pytest.raises(ColumnTypeError, match="convert dates"):
        build_reference_profile(reference)


def test_many_categories_are_pooled_in_the_report_only():
    rng = np.random.default_rng(6)
    reference = rng.integers(0, 500, 5000).astype(str)
    current = rng.integers(0, 500, 5000).astype(str)
    result = column_drift(reference, current, config=DriftConfig(max_categories_reported=20))
    categories = result["statistics"]["categories"]
    assert len(categories["labels"]) == 20
    assert categories["other"]["categories"] == result["statistics"]["distinct_values"] - 20
    assert sum(categories["reference_counts"]) + categories["other"]["reference_count"] == 5000


def test_prediction_drift_reports_scores_and_labels_separately():
    rng = np.random.default_rng(9)
    scores = prediction_drift(rng.beta(2, 5, 4000), rng.beta(2, 3, 4000))
    assert scores["kind"] == "prediction_drift"
    assert scores["prediction"]["kind"] == "numeric"
    assert scores["prediction"]["drift_detected"] is True
    labels = prediction_drift(rng.integers(0, 2, 500), rng.integers(0, 2, 500), kind="categorical")
    assert labels["prediction"]["kind"] == "categorical"
    assert labels["prediction"]["test"]["name"] == "z_test"
    json_safe(labels)


def test_a_single_worker_gives_the_same_numbers():
    reference, current = frames(2000, 1000, shift=0.1)
    parallel = dataset_drift(reference, current)
    serial = dataset_drift(reference, current, config=DriftConfig(workers=1))
    assert parallel["columns"] == serial["columns"]


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int32, "Float64", "Int64"])
def test_other_numeric_dtypes_are_measured_like_float64(dtype):
    rng = np.random.default_rng(12)
    reference = pd.Series(np.round(rng.normal(50, 10, 800))).astype(dtype)
    current = pd.Series(np.round(rng.normal(52, 10, 700))).astype(dtype)
    result = json_safe(column_drift(reference, current))
    expected = column_drift(reference.astype(float).to_numpy(), current.astype(float).to_numpy())
    assert result["statistics"]["ks"] == expected["statistics"]["ks"]
    assert result["kind"] == "numeric"
