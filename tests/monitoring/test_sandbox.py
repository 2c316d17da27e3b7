"""The sandbox child scores every safe format exactly as the native library does, and refuses the rest."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from monitoring import sandbox
from tests.monitoring import factories

FRAME = factories.credit_frame(rows=120, seed=60)
X = FRAME[factories.FEATURES]
LIMITS = sandbox.Limits(memory_mb=4096, seconds=120)


def score(path, artifact_format, features=factories.FEATURES, positive_label=1):
    scores, report = sandbox.score(
        artifact=path,
        artifact_format=artifact_format,
        frame=FRAME,
        features=features,
        allowed_types=[],
        limits=LIMITS,
        positive_label=positive_label,
    )
    return scores, report


def test_it_scores_an_xgboost_json_model_like_xgboost(tmp_path):
    import xgboost

    model = xgboost.XGBClassifier(n_estimators=10, max_depth=2).fit(X, FRAME["label"])
    path = tmp_path / "model.json"
    model.get_booster().save_model(path)

    scores, report = score(path, "xgboost-json")

    np.testing.assert_allclose(scores, model.predict_proba(X)[:, 1], rtol=1e-6)
    assert report["features"] == factories.FEATURES


def test_it_scores_a_lightgbm_text_model_like_lightgbm(tmp_path):
    import lightgbm

    model = lightgbm.LGBMClassifier(n_estimators=10, num_leaves=4, min_child_samples=5, verbose=-1)
    model.fit(X, FRAME["label"])
    path = tmp_path / "model.txt"
    model.booster_.save_model(path)

    scores, _ = score(path, "lightgbm-txt")

    np.testing.assert_allclose(scores, model.predict_proba(X)[:, 1], rtol=1e-9)


def test_it_scores_an_onnx_model_with_onnxruntime(tmp_path):
    weights = np.array([[0.04], [0.001]], dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["X", "W"], ["z"]),
            helper.make_node("Add", ["z", "B"], ["logit"]),
            helper.make_node("Sigmoid", ["logit"], ["probability"]),
        ],
        "logistic",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, [None, 1])],
        initializer=[
            helper.make_tensor("W", TensorProto.FLOAT, [2, 1], weights.ravel()),
            helper.make_tensor("B", TensorProto.FLOAT, [1], [-3.0]),
        ],
    )
    path = tmp_path / "model.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)

    scores, _ = score(path, "onnx")

    features = X.to_numpy(dtype=np.float32)
    expected = 1 / (1 + np.exp(-(features @ weights).ravel() + 3.0))
    np.testing.assert_allclose(scores, expected, rtol=1e-5)


def test_it_names_the_column_a_model_expects_but_the_data_lacks(tmp_path):
    path = tmp_path / "model.skops"
    path.write_bytes(factories.skops_bytes(factories.trained_model()))
    frame = FRAME.drop(columns=["income"])

    with pytest.raises(sandbox.SandboxError, match="'income'") as error:
        sandbox.score(
            artifact=path,
            artifact_format="skops",
            frame=frame,
            features=["age"],
            allowed_types=[],
            limits=LIMITS,
            positive_label=1,
        )
    assert error.value.error_type == "SchemaMismatchError"


@pytest.mark.parametrize("artifact_format", ["pickle", "joblib", "other"])
def test_it_refuses_formats_that_would_run_code_or_are_unknown(tmp_path, artifact_format):
    with pytest.raises(sandbox.ModelRefused):
        score(tmp_path / "anything", artifact_format)
