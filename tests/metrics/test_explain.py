"""SHAP explanations: the same values as shap called directly, summaries and the time budget."""

from __future__ import annotations

import json
import warnings

import lightgbm
import numpy as np
import pandas as pd
import pytest
import shap
import xgboost
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression

from monitoring.metrics.errors import EmptyDataError, InvalidInputError
from monitoring.metrics.explain import explain_model


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(600, 5)), columns=["income", "age", "debt", "tenure", "noise"])
    logit = 1.5 * X["income"] - X["debt"] + 0.5 * X["age"]
    y_class = (logit + rng.normal(size=600) > 0).astype(int)
    y_reg = logit + rng.normal(scale=0.1, size=600)
    return X, y_class, y_reg


def direct_tree_values(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(shap.TreeExplainer(model).shap_values(X))


def assert_same_as_direct(result, X, direct):
    importance = {item["feature"]: item["mean_abs_shap"] for item in result["global_importance"]}
    expected = np.abs(direct.astype(np.float64)).mean(axis=0)  # XGBoost gives float32 values
    for position, column in enumerate(X.columns):
        assert importance[column] == pytest.approx(expected[position], rel=1e-12)
    for local in result["local"]:
        row = X.index.get_loc(local["row"])
        for item in local["contributions"]:
            assert item["shap"] == direct[row, X.columns.get_loc(item["feature"])]


@pytest.mark.parametrize(
    "make_model",
    [
        lambda: GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=0),
        lambda: lightgbm.LGBMRegressor(n_estimators=30, num_leaves=15, verbose=-1),
        lambda: xgboost.XGBRegressor(n_estimators=30, max_depth=3),
    ],
)
def test_tree_models_get_exactly_shaps_tree_values(data, make_model):
    X, _, y = data
    model = make_model().fit(X, y)
    result = json.loads(
        json.dumps(explain_model(model, X, max_rows=None, time_budget_s=None), allow_nan=False)
    )
    assert result["explainer"] == "TreeExplainer"
    assert result["rows_explained"] == len(X)
    assert_same_as_direct(result, X, direct_tree_values(model, X))
    assert result["additivity"]["holds"] is True
    assert result["global_importance"][0]["feature"] == "income"


def test_a_forest_classifier_explains_the_positive_class(data):
    X, y, _ = data
    model = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(X, y)
    result = explain_model(model, X, max_rows=None, time_budget_s=None)
    assert result["output"].endswith("output 1 of 2")
    assert_same_as_direct(result, X, direct_tree_values(model, X)[:, :, 1])
    assert result["additivity"]["max_abs_deviation"] < 1e-9


def test_linear_models_get_shaps_linear_values(data):
    X, y, _ = data
    model = LogisticRegression().fit(X, y)
    result = explain_model(model, X, max_rows=None, time_budget_s=None, background_size=100, seed=4)
    assert result["explainer"] == "LinearExplainer"
    assert result["background_rows"] == 100
    background = X.iloc[np.sort(np.random.default_rng(4).choice(len(X), 100, replace=False))]
    direct = shap.LinearExplainer(model, background).shap_values(X)
    assert_same_as_direct(result, X, direct)
    assert result["additivity"]["holds"] is True


def nonlinear_score(rows):
    """A model that is neither a tree nor linear, and fast to call (shap may pass arrays or frames)."""
    values = np.asarray(rows, dtype=float)
    return values[:, 0] ** 2 + np.sin(values[:, 2]) * values[:, 1]


def test_other_models_get_the_permutation_explainer_and_stay_additive(data):
    X, _, _ = data
    model = nonlinear_score
    result = explain_model(model, X, max_rows=8, time_budget_s=None, background_size=20, local_rows=2)
    assert result["explainer"] == "PermutationExplainer"
    assert result["rows_explained"] == 8
    assert result["additivity"]["holds"] is True
    assert result == explain_model(
        model, X, max_rows=8, time_budget_s=None, background_size=20, local_rows=2
    ) | {"timing": result["timing"]}


def test_summaries_have_the_documented_shape(data):
    X, _, y = data
    model = LinearRegression().fit(X, y)
    result = explain_model(
        model, X, max_rows=200, time_budget_s=None, beeswarm_points=50, local_rows=3, seed=1
    )
    assert result["rows_explained"] == 200
    assert result["seed"] == 1
    assert result["shap_version"] == shap.__version__
    importances = [item["mean_abs_shap"] for item in result["global_importance"]]
    assert importances == sorted(importances, reverse=True)
    feature = result["features"][0]
    assert set(feature) == {"feature", "mean_shap", "mean_abs_shap", "min_shap", "max_shap", "sample"}
    assert len(feature["sample"]) == 50
    assert feature["min_shap"] <= feature["mean_shap"] <= feature["max_shap"]
    assert len(result["local"]) == 3
    local = result["local"][0]
    assert local["output"] == pytest.approx(
        local["base_value"] + sum(c["shap"] for c in local["contributions"])
    )


def test_a_time_budget_limits_the_rows(data):
    X, _, y = data
    model = GradientBoostingRegressor(n_estimators=10, random_state=0).fit(X, y)
    result = explain_model(model, X, max_rows=None, time_budget_s=1e-9)
    assert result["rows_explained"] == 64  # the first chunk, which measures the per-row cost
    assert result["timing"]["limited_by_budget"] is True


def test_a_generous_budget_gives_the_same_result_as_none(data):
    X, _, y = data
    model = GradientBoostingRegressor(n_estimators=10, random_state=0).fit(X, y)
    budgeted = explain_model(model, X, max_rows=300, time_budget_s=60)
    unbudgeted = explain_model(model, X, max_rows=300, time_budget_s=None)
    budgeted.pop("timing")
    unbudgeted.pop("timing")
    assert budgeted == unbudgeted


def test_bad_inputs_are_refused(data):
    X, _, y = data
    model = LinearRegression().fit(X, y)
    with pytest.raises(EmptyDataError):
        explain_model(model, X.iloc[:0])
    with pytest.raises(InvalidInputError, match="explainer must be"):
        explain_model(model, X, explainer="kernel")
