"""Fairness metrics against fairlearn on the same data, and the cases fairlearn leaves to the caller."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, precision_score, roc_auc_score

from monitoring.metrics.errors import EmptyDataError, InvalidInputError
from monitoring.metrics.fairness import fairness_report

FAIRLEARN_METRICS = {
    "selection_rate": selection_rate,
    "true_positive_rate": true_positive_rate,
    "false_positive_rate": false_positive_rate,
    "false_negative_rate": false_negative_rate,
    "precision": precision_score,
    "accuracy": accuracy_score,
}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(21)
    n = 6000
    sex = rng.choice(["F", "M"], n, p=[0.45, 0.55])
    race = rng.choice(["A", "B", "C", "D"], n, p=[0.4, 0.3, 0.2, 0.1])
    base = 0.3 + 0.1 * (sex == "M") + 0.05 * (race == "B")
    y_true = (rng.random(n) < base).astype(int)
    scores = np.clip(0.5 * y_true + rng.normal(0.3, 0.2, n) + 0.05 * (race == "C"), 0, 1)
    y_pred = (scores > 0.5).astype(int)
    return y_true, y_pred, scores, pd.DataFrame({"sex": sex, "race": race})


def grouping(result, features):
    return next(g for g in result["groupings"] if g["features"] == features)


@pytest.mark.parametrize("features", [["sex"], ["race"], ["sex", "race"]])
def test_group_metrics_are_identical_to_fairlearns(data, features):
    y_true, y_pred, _, sensitive = data
    result = fairness_report(y_true, y_pred, sensitive, min_group_size=0)
    frame = MetricFrame(
        metrics=FAIRLEARN_METRICS, y_true=y_true, y_pred=y_pred, sensitive_features=sensitive[features]
    )
    by_group = frame.by_group
    for entry in grouping(result, features)["groups"]:
        key = tuple(entry["group"][f] for f in features)
        row = by_group.loc[key if len(key) > 1 else key[0]]
        for metric in FAIRLEARN_METRICS:
            assert entry["metrics"][metric] == row[metric], (key, metric)
    aggregates = grouping(result, features)["aggregates"]
    differences = frame.difference()
    ratios = frame.ratio()
    assert aggregates["demographic_parity_difference"]["value"] == differences["selection_rate"]
    assert aggregates["demographic_parity_ratio"]["value"] == ratios["selection_rate"]
    assert aggregates["equal_opportunity_difference"]["value"] == differences["true_positive_rate"]


@pytest.mark.parametrize("features", [["sex"], ["race"], ["sex", "race"]])
def test_aggregates_are_identical_to_fairlearns(data, features):
    y_true, y_pred, _, sensitive = data
    aggregates = grouping(fairness_report(y_true, y_pred, sensitive, min_group_size=0), features)[
        "aggregates"
    ]
    columns = sensitive[features]
    kwargs = {"sensitive_features": columns}
    assert aggregates["demographic_parity_difference"]["value"] == demographic_parity_difference(
        y_true, y_pred, **kwargs
    )
    assert aggregates["demographic_parity_ratio"]["value"] == demographic_parity_ratio(
        y_true, y_pred, **kwargs
    )
    assert aggregates["equalized_odds_difference"]["value"] == equalized_odds_difference(
        y_true, y_pred, **kwargs
    )
    assert aggregates["equalized_odds_ratio"]["value"] == equalized_odds_ratio(y_true, y_pred, **kwargs)


def test_disparate_impact_compares_each_group_with_the_most_favoured(data):
    y_true, y_pred, _, sensitive = data
    race = grouping(fairness_report(y_true, y_pred, sensitive), ["race"])
    rates = {g["label"]: g["metrics"]["selection_rate"] for g in race["groups"]}
    best = max(rates.values())
    for entry in race["groups"]:
        assert entry["disparate_impact"] == pytest.approx(rates[entry["label"]] / best, rel=1e-15)
        assert entry["four_fifths_flag"] == (entry["disparate_impact"] < 0.8)
    assert race["aggregates"]["disparate_impact"]["value"] == pytest.approx(min(rates.values()) / best)


def test_small_groups_are_reported_but_not_judged():
    y_true = np.array([1, 0] * 50 + [1, 0, 1])
    y_pred = np.array([1, 1] * 50 + [0, 0, 0])
    groups = np.array(["big"] * 100 + ["tiny"] * 3)
    result = fairness_report(y_true, y_pred, {"segment": groups}, min_group_size=30)
    segment = result["groupings"][0]
    tiny = next(g for g in segment["groups"] if g["label"] == "tiny")
    assert tiny["count"] == 3
    assert tiny["judged"] is False
    assert segment["aggregates"]["judged_groups"] == 1
    assert segment["aggregates"]["demographic_parity_difference"]["value"] is None
    assert "at least two judged groups" in segment["aggregates"]["demographic_parity_difference"]["reason"]
    assert "fewer than the minimum 30" in segment["notes"][0]


def test_undefined_rates_are_none_with_a_reason():
    # group "b" has no actual positives: its TPR is undefined (fairlearn would say 0)
    y_true = np.array([1, 0, 1, 0, 0, 0])
    y_pred = np.array([1, 0, 0, 1, 0, 0])
    result = json.loads(
        json.dumps(fairness_report(y_true, y_pred, {"g": list("aaabbb")}, min_group_size=0), allow_nan=False)
    )
    b = next(g for g in result["groupings"][0]["groups"] if g["label"] == "b")
    assert b["metrics"]["true_positive_rate"] is None
    assert b["undefined"]["true_positive_rate"] == "no actual positives in the group"
    aggregates = result["groupings"][0]["aggregates"]
    assert aggregates["equal_opportunity_difference"]["value"] is None
    assert aggregates["equalized_odds_difference"]["value"] is None
    assert aggregates["groups_left_out_for_undefined_values"]["true_positive_rate"] == 1


def test_a_single_class_target_and_tiny_groups_do_not_crash():
    result = fairness_report(
        np.zeros(5, int), np.array([0, 1, 0, 0, 1]), {"g": list("abcde")}, min_group_size=1
    )
    json.dumps(result, allow_nan=False)
    assert all(g["count"] == 1 for g in result["groupings"][0]["groups"])
    assert result["groupings"][0]["aggregates"]["equal_opportunity_difference"]["value"] is None


def test_missing_sensitive_values_form_their_own_group():
    result = fairness_report([1, 0, 1, 0], [1, 0, 0, 0], {"g": ["a", None, "a", None]}, min_group_size=0)
    assert [g["label"] for g in result["groupings"][0]["groups"]] == ["a", "missing"]


def test_bootstrap_intervals_are_seeded_and_cover_the_estimate(data):
    y_true, y_pred, _, sensitive = data
    first = fairness_report(y_true, y_pred, sensitive, bootstrap=300, seed=3)
    again = fairness_report(y_true, y_pred, sensitive, bootstrap=300, seed=3)
    assert first == again
    sex = grouping(first, ["sex"])
    low, high = sex["aggregates"]["demographic_parity_difference"]["interval"]
    assert low <= sex["aggregates"]["demographic_parity_difference"]["value"] <= high
    group_low, group_high = sex["groups"][0]["intervals"]["selection_rate"]
    assert group_low <= sex["groups"][0]["metrics"]["selection_rate"] <= group_high
    assert first["bootstrap"]["replicates"] == 300


def test_scores_add_per_group_auc(data):
    y_true, y_pred, scores, sensitive = data
    result = fairness_report(y_true, y_pred, sensitive, scores=scores)
    sex = grouping(result, ["sex"])
    female = next(block for block in sex["scores"] if block["label"] == "F")
    mask = sensitive["sex"].to_numpy() == "F"
    assert female["roc_auc"] == pytest.approx(roc_auc_score(y_true[mask], scores[mask]), abs=1e-12)


def test_bad_inputs_are_refused():
    with pytest.raises(InvalidInputError, match="two labels"):
        fairness_report([0, 1, 2], [0, 1, 1], {"g": list("abc")})
    with pytest.raises(InvalidInputError, match="rows"):
        fairness_report([0, 1, 1], [0, 1, 1], {"g": list("ab")})
    with pytest.raises(EmptyDataError):
        fairness_report([], [], {"g": []})
