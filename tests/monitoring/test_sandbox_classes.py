"""The sandbox scores P(positive label) through each format's own class names, or refuses to guess."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from monitoring import sandbox
from monitoring.sandbox import loaders
from tests.monitoring import factories

FRAME = factories.credit_frame(rows=120, seed=61)
X = FRAME[factories.FEATURES]
TEXT = np.where(FRAME["label"] == 1, "good", "bad")
LIMITS = sandbox.Limits(memory_mb=4096, seconds=120)
# A logistic model on (age, income): P(second class) = sigmoid(0.04 age + 0.001 income - 3)
COEFFICIENTS = [-0.04, -0.001, 0.04, 0.001]
INTERCEPTS = [3.0, -3.0]


def score(path, artifact_format, positive_label):
    """The scores and report the sandbox child computes, computed in this process with the child's own
    loader (starting a child costs about three seconds; one test goes through the real sandbox)."""
    model = loaders.load(artifact_format, str(path), factories.FEATURES, [], positive_label)
    scores = model.scores(FRAME)
    return scores, {"features": model.features, "output": model.output, "positive_label": positive_label}


def sandboxed_score(path, artifact_format, positive_label):
    return sandbox.score(
        artifact=path,
        artifact_format=artifact_format,
        frame=FRAME,
        features=factories.FEATURES,
        allowed_types=[],
        limits=LIMITS,
        positive_label=positive_label,
    )


def refused(path, artifact_format, positive_label) -> str:
    with pytest.raises(sandbox.SandboxError) as error:
        score(path, artifact_format, positive_label)
    assert error.value.error_type == "ClassMappingError"
    return str(error.value)


def second_class_probability() -> np.ndarray:
    logit = X.to_numpy(dtype=np.float32) @ np.array([0.04, 0.001], dtype=np.float32) - 3.0
    return 1 / (1 + np.exp(-logit))


def onnx_classifier(path, class_labels, *, zipmap=True, label_output=True):
    """A hand-built ai.onnx.ml LinearClassifier, as skl2onnx exports one, with or without its class names."""
    text = isinstance(class_labels[0], str)
    labels_attribute = "classlabels_strings" if text else "classlabels_ints"
    nodes = [
        helper.make_node(
            "LinearClassifier",
            ["X"],
            ["label", "probabilities"],
            domain="ai.onnx.ml",
            coefficients=COEFFICIENTS,
            intercepts=INTERCEPTS,
            post_transform="LOGISTIC",
            **{labels_attribute: class_labels},
        )
    ]
    label_type = TensorProto.STRING if text else TensorProto.INT64
    outputs = [helper.make_tensor_value_info("label", label_type, [None])] if label_output else []
    if zipmap:
        key = "classlabels_strings" if text else "classlabels_int64s"
        nodes.append(
            helper.make_node(
                "ZipMap",
                ["probabilities"],
                ["output_probability"],
                domain="ai.onnx.ml",
                **{key: class_labels},
            )
        )
        value = helper.make_tensor_type_proto(TensorProto.FLOAT, [])
        outputs.append(
            helper.make_value_info(
                "output_probability",
                helper.make_sequence_type_proto(helper.make_map_type_proto(label_type, value)),
            )
        )
    else:
        outputs.append(helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2]))
    graph = helper.make_graph(
        nodes, "classifier", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 2])], outputs
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)]
    )
    model.ir_version = 9
    onnx.save(model, path)
    return path


def test_it_picks_the_predict_proba_column_that_classes_names_in_a_pipeline(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, TEXT)
    path = tmp_path / "model.skops"
    path.write_bytes(factories.skops_bytes(model))

    good, report = sandboxed_score(path, "skops", "good")  # through the real child process once
    bad, _ = score(path, "skops", "bad")

    np.testing.assert_allclose(
        good, model.predict_proba(X)[:, list(model.classes_).index("good")], rtol=1e-12
    )
    np.testing.assert_allclose(bad, model.predict_proba(X)[:, list(model.classes_).index("bad")], rtol=1e-12)
    assert report["output"] == "predict_proba[:, 1] (classes_[1] = 'good')"
    assert report["positive_label"] == "good"


def test_it_refuses_a_label_that_is_not_one_of_the_classes_and_says_which_type_would_be(tmp_path):
    path = tmp_path / "model.skops"
    path.write_bytes(factories.skops_bytes(factories.trained_model()))

    message = refused(path, "skops", "1")

    assert message.startswith(
        "the model's classes_ are [0, 1]; none is the positive label '1' (the values are numbers: use 1 without quotes)."
    )


@pytest.mark.parametrize(("positive", "flipped"), [(1, False), (0, True)])
def test_it_reads_a_binary_xgboost_booster_as_p1_or_its_complement(tmp_path, positive, flipped):
    import xgboost

    model = xgboost.XGBClassifier(n_estimators=10, max_depth=2).fit(X, FRAME["label"])
    path = tmp_path / "model.json"
    model.get_booster().save_model(path)

    scores, report = score(path, "xgboost-json", positive)

    expected = model.predict_proba(X)[:, positive]
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-7)
    assert report["output"].startswith(
        "1 - Booster.predict" if flipped else "Booster.predict (binary:logistic"
    )


def test_it_refuses_a_text_label_or_a_regression_objective_for_an_xgboost_booster(tmp_path):
    import xgboost

    classifier = tmp_path / "classifier.json"
    xgboost.XGBClassifier(n_estimators=3).fit(X, FRAME["label"]).get_booster().save_model(classifier)
    regressor = tmp_path / "regressor.json"
    xgboost.XGBRegressor(n_estimators=3).fit(X, FRAME["label"]).get_booster().save_model(regressor)

    assert "names no classes" in refused(classifier, "xgboost-json", "good")
    assert "'reg:squarederror', whose output is not the probability" in refused(regressor, "xgboost-json", 1)


@pytest.mark.parametrize("positive", [1, 0])
def test_it_reads_a_binary_lightgbm_booster_as_p1_or_its_complement(tmp_path, positive):
    import lightgbm

    model = lightgbm.LGBMClassifier(n_estimators=10, num_leaves=4, min_child_samples=5, verbose=-1)
    model.fit(X, FRAME["label"])
    path = tmp_path / "model.txt"
    model.booster_.save_model(path)

    scores, _ = score(path, "lightgbm-txt", positive)

    np.testing.assert_allclose(scores, model.predict_proba(X)[:, positive], rtol=1e-9)
    assert "names no classes" in refused(path, "lightgbm-txt", "good")


@pytest.mark.parametrize("class_labels", [["bad", "good"], [0, 1]])
def test_it_reads_an_onnx_zipmap_by_its_class_label_keys(tmp_path, class_labels):
    path = onnx_classifier(tmp_path / "model.onnx", class_labels)

    second, report = score(path, "onnx", class_labels[1])
    first, _ = score(path, "onnx", class_labels[0])

    np.testing.assert_allclose(second, second_class_probability(), rtol=1e-5)
    np.testing.assert_allclose(first, 1 - second_class_probability(), rtol=1e-5, atol=1e-6)
    assert (
        report["output"]
        == f"ONNX output 'output_probability'[{class_labels[1]!r}] (ZipMap keyed by class label)"
    )


def test_it_names_the_columns_of_an_onnx_probability_tensor_from_the_graphs_class_labels(tmp_path):
    path = onnx_classifier(tmp_path / "model.onnx", ["bad", "good"], zipmap=False, label_output=False)

    bad, report = score(path, "onnx", "bad")

    np.testing.assert_allclose(bad, 1 - second_class_probability(), rtol=1e-5, atol=1e-6)
    assert report["output"] == "ONNX output 'probabilities'[:, 0] (class 'bad' in the graph's classlabels)"
    assert "none is the positive label 'granted'" in refused(path, "onnx", "granted")


def test_it_falls_back_on_the_label_output_when_the_graph_does_not_name_the_columns(tmp_path):
    # softmax probabilities and an arg-max label encoded as text: no classlabels attribute anywhere
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["X", "W"], ["z"]),
            helper.make_node("Add", ["z", "B"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
            helper.make_node("ArgMax", ["probabilities"], ["index"], axis=1, keepdims=0),
            helper.make_node(
                "LabelEncoder",
                ["index"],
                ["label"],
                domain="ai.onnx.ml",
                keys_int64s=[0, 1],
                values_strings=["bad", "good"],
                default_string="?",
            ),
        ],
        "softmax",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 2])],
        [
            helper.make_tensor_value_info("label", TensorProto.STRING, [None]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2]),
        ],
        initializer=[
            helper.make_tensor("W", TensorProto.FLOAT, [2, 2], [0.0, 0.04, 0.0, 0.001]),
            helper.make_tensor("B", TensorProto.FLOAT, [2], [0.0, -3.0]),
        ],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)]
    )
    model.ir_version = 9
    path = tmp_path / "model.onnx"
    onnx.save(model, path)

    good, report = score(path, "onnx", "good")

    np.testing.assert_allclose(good, second_class_probability(), rtol=1e-5)
    assert report["output"] == (
        "ONNX output 'probabilities'[:, 1] (the label output 'label' names column 1 'good')"
    )
    assert "does not say which one is the positive label 'granted'" in refused(path, "onnx", "granted")


def test_it_reads_a_single_onnx_score_like_a_booster(tmp_path):
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
            helper.make_tensor("W", TensorProto.FLOAT, [2, 1], [0.04, 0.001]),
            helper.make_tensor("B", TensorProto.FLOAT, [1], [-3.0]),
        ],
    )
    path = tmp_path / "model.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)

    zero, report = score(path, "onnx", 0)

    np.testing.assert_allclose(zero, 1 - second_class_probability(), rtol=1e-5, atol=1e-6)
    assert report["output"] == "ONNX output 'probability' read as P(label = 1); 1 - it for the label 0"
    assert "names no classes" in refused(path, "onnx", "good")
