"""Explaining a pipeline that takes text columns: SHAP values per original column, additivity holds."""

import numpy as np
import pandas as pd
import pytest
import shap
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from monitoring.metrics.categorical import DecodingClassifier, numeric_view
from monitoring.metrics.explain import explain_model

pytestmark = pytest.mark.slow  # tens of seconds: scheduled first (tests/conftest.py)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    rows = 300
    frame = pd.DataFrame(
        {
            "amount": rng.normal(100, 20, rows),
            "purpose": rng.choice(["car", "education", "furniture"], rows),
            "housing": rng.choice(["own", "rent"], rows),
        }
    )
    label = (frame["amount"] > 100) ^ (frame["purpose"] == "car")
    encode = ColumnTransformer(
        [("categorical", OneHotEncoder(handle_unknown="ignore"), ["purpose", "housing"])],
        remainder="passthrough",
    )
    model = Pipeline(
        [("encode", encode), ("model", GradientBoostingClassifier(n_estimators=20, random_state=0))]
    )
    return frame, model.fit(frame, label)


def test_it_explains_a_pipeline_over_text_columns_per_original_column(data):
    frame, model = data
    result = explain_model(model, frame, max_rows=40, time_budget_s=None, background_size=30)
    assert result["explainer"] == "PermutationExplainer"
    assert result["categorical_columns"] == ["purpose", "housing"]
    assert [item["feature"] for item in result["global_importance"]][:1] in (["amount"], ["purpose"])
    assert {item["feature"] for item in result["global_importance"]} == {"amount", "purpose", "housing"}
    assert result["additivity"]["holds"] is True


def test_it_matches_shap_called_directly_on_the_coded_rows(data):
    frame, model = data
    coded, _, wrapped, _ = numeric_view(frame, None, model)
    assert isinstance(wrapped, DecodingClassifier)
    np.testing.assert_allclose(wrapped.predict_proba(coded.iloc[:20]), model.predict_proba(frame.iloc[:20]))
    background = coded.iloc[:30]
    explainer = shap.explainers.Permutation(
        lambda rows: wrapped.predict_proba(rows)[:, -1], shap.maskers.Independent(background), seed=0
    )
    direct = explainer(coded.iloc[:10], silent=True).values
    ours = explain_model(
        model,
        frame.iloc[:10],
        background=frame.iloc[:30],
        max_rows=None,
        time_budget_s=None,
        background_size=30,
        local_rows=10,
    )
    by_feature = {item["feature"]: item["mean_abs_shap"] for item in ours["global_importance"]}
    for index, column in enumerate(frame.columns):
        assert by_feature[column] == pytest.approx(np.abs(direct[:, index]).mean(), abs=1e-9)


def test_it_leaves_all_numeric_frames_alone():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4]})
    coded, background, model, columns = numeric_view(frame, None, sentinel := object())
    assert background is None
    assert model is sentinel
    assert coded is frame
    assert columns == []
