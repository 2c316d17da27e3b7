"""Data quality issues of a current dataset against the reference."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from monitoring.metrics.errors import EmptyDataError
from monitoring.metrics.profile import build_reference_profile
from monitoring.metrics.quality import QualityThresholds, data_quality_report


@pytest.fixture
def reference():
    rng = np.random.default_rng(0)
    n = 1000
    return pd.DataFrame(
        {
            "age": rng.integers(18, 70, n).astype(float),
            "income": rng.lognormal(10, 0.4, n),
            "region": rng.choice(["north", "south"], n),
            "score": rng.random(n),
        }
    )


def issues_by_code(report):
    return {(issue["code"], issue["column"]): issue for issue in report["issues"]}


def test_a_clean_batch_has_no_issues(reference):
    report = data_quality_report(reference, reference.sample(frac=0.5, random_state=1))
    assert report["issues"] == []
    assert report["summary"] == {"errors": 0, "warnings": 0, "infos": 0, "worst": None}


def test_it_reports_schema_differences(reference):
    current = reference.drop(columns=["score"]).assign(channel="web")
    current["age"] = current["age"].astype("int64")
    issues = issues_by_code(data_quality_report(reference, current))
    assert issues[("missing_column", "score")]["severity"] == "error"
    assert issues[("extra_column", "channel")]["severity"] == "info"
    assert issues[("dtype_changed", "age")]["severity"] == "warning"
    current["income"] = "high"
    assert (
        issues_by_code(data_quality_report(reference, current))[("kind_changed", "income")]["severity"]
        == "error"
    )


def test_it_reports_missing_share_changes(reference):
    current = reference.copy()
    current.loc[:99, "income"] = np.nan
    current["score"] = np.nan
    report = data_quality_report(reference, current)
    issues = issues_by_code(report)
    increase = issues[("missing_share_increased", "income")]
    assert increase["severity"] == "warning"
    assert increase["share"] == pytest.approx(0.1)
    assert issues[("all_missing", "score")]["severity"] == "error"
    assert report["issues"][0]["severity"] == "error"  # most severe first


def test_it_counts_values_outside_the_reference_range(reference):
    current = reference.copy()
    current.loc[:2, "age"] = 5.0
    current.loc[3, "age"] = 120.0
    current.loc[:99, "score"] = 2.0
    report = data_quality_report(reference, current)
    issues = issues_by_code(report)
    age = issues[("out_of_range", "age")]
    assert (age["below"], age["above"], age["severity"]) == (3, 1, "warning")
    assert issues[("out_of_range", "score")]["severity"] == "error"
    age_column = next(c for c in report["columns"] if c["column"] == "age")
    assert age_column["out_of_range"]["reference_min"] == reference["age"].min()
    assert age_column["out_of_range"]["current_max"] == 120.0


def test_it_counts_unseen_categories(reference):
    current = reference.copy()
    current.loc[:9, "region"] = "east"
    current.loc[10, "region"] = "west"
    report = data_quality_report(reference, current, thresholds=QualityThresholds(unseen_error_share=0.5))
    issue = issues_by_code(report)[("unseen_categories", "region")]
    assert issue["severity"] == "warning"
    assert issue["categories"] == 2
    region = next(c for c in report["columns"] if c["column"] == "region")
    assert region["unseen_categories"] == {"east": 10, "west": 1}


def test_infinite_values_are_flagged_and_output_is_json(reference):
    current = reference.copy()
    current.loc[0, "income"] = np.inf
    report = data_quality_report(build_reference_profile(reference), current)
    json.dumps(report, allow_nan=False)
    assert issues_by_code(report)[("infinite_values", "income")]["severity"] == "warning"


def test_an_empty_batch_is_refused(reference):
    with pytest.raises(EmptyDataError):
        data_quality_report(reference, reference.iloc[:0])
