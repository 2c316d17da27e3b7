"""Share of |SHAP| on a set of features and rank stability of the top features, against direct computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau

from monitoring.metrics.attribution import attribution_share, importance_map, rank_stability
from monitoring.metrics.errors import InvalidInputError

IMPORTANCE = {"income": 0.5, "debt": 0.3, "age": 0.15, "sex": 0.05, "noise": 0.0}


def test_it_gives_the_share_of_the_total_mean_abs_shap():
    result = attribution_share(IMPORTANCE, ["sex", "age"])

    assert result["share"] == pytest.approx(0.2, abs=1e-15)
    assert result["by_feature"] == pytest.approx({"sex": 0.05, "age": 0.15})
    assert result["explained"] == ["sex", "age"]
    assert result["not_explained"] == []


def test_it_lists_names_that_are_not_explained_features_and_counts_them_as_nothing():
    result = attribution_share(IMPORTANCE, ["sex", "postcode"])

    assert result["share"] == pytest.approx(0.05)
    assert result["not_explained"] == ["postcode"]


def test_a_share_of_features_the_model_does_not_take_is_zero():
    assert attribution_share(IMPORTANCE, ["postcode"])["share"] == 0.0


def test_it_has_no_share_when_the_output_never_moved():
    result = attribution_share(dict.fromkeys(IMPORTANCE, 0.0), ["sex"])

    assert result["share"] is None
    assert "did not move" in result["reason"]


def test_it_refuses_negative_or_non_finite_importance():
    with pytest.raises(InvalidInputError, match="income"):
        attribution_share({"income": float("nan")}, ["income"])
    with pytest.raises(InvalidInputError, match="debt"):
        rank_stability({"debt": -1.0}, {"debt": 1.0})


def test_rank_stability_is_scipys_kendall_tau_b_over_the_union_of_the_top_k():
    rng = np.random.default_rng(0)
    names = [f"f{i}" for i in range(12)]
    current = dict(zip(names, rng.random(12), strict=True))
    baseline = dict(zip(names, rng.random(12), strict=True))

    result = rank_stability(current, baseline, top_k=4)

    union = list(dict.fromkeys([*sorted(names, key=lambda n: -current[n])[:4], *result["baseline_top"]]))
    expected = kendalltau([current[n] for n in union], [baseline[n] for n in union], variant="b").statistic
    assert result["value"] == pytest.approx(expected, abs=1e-15)
    assert [item["feature"] for item in result["features"]] == union
    assert result["statistic"] == "kendall_tau_b"


def test_the_same_ranking_is_perfectly_stable_and_a_reversed_one_is_not():
    reversed_importance = {name: 1.0 - value for name, value in IMPORTANCE.items() if value > 0}

    assert rank_stability(IMPORTANCE, {k: 2 * v for k, v in IMPORTANCE.items()})["value"] == pytest.approx(
        1.0
    )
    assert rank_stability(IMPORTANCE, reversed_importance)["value"] == pytest.approx(-1.0)


def test_a_feature_missing_from_the_baseline_counts_there_as_zero():
    baseline = {"income": 0.5, "debt": 0.3, "age": 0.2}

    result = rank_stability({**baseline, "postcode": 0.9}, baseline, top_k=4)

    postcode = next(item for item in result["features"] if item["feature"] == "postcode")
    assert postcode == {
        "feature": "postcode",
        "current": 0.9,
        "baseline": 0.0,
        "current_rank": 1,
        "baseline_rank": None,
        "missing_from": "baseline",
    }
    assert result["value"] < 1.0
    assert result["overlap"] == 1.0  # every baseline top feature is still on top


def test_features_without_importance_have_no_rank_and_too_few_are_not_judged():
    result = rank_stability({"a": 1.0, "b": 0.5, "c": 0.0}, {"a": 1.0, "b": 0.4, "c": 0.0}, top_k=5)

    assert result["value"] is None
    assert "at least 3" in result["reason"]


def test_it_refuses_a_top_k_that_is_not_a_positive_integer():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(InvalidInputError, match="top_k"):
            rank_stability(IMPORTANCE, IMPORTANCE, top_k=bad)


def test_importance_map_reads_explain_models_global_importance():
    assert importance_map(
        [{"feature": "a", "mean_abs_shap": 0.2}, {"feature": "b", "mean_abs_shap": None}]
    ) == {
        "a": 0.2,
        "b": 0.0,
    }
