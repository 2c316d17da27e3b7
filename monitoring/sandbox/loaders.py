"""Loading an artifact in the sandbox child, one safe loader per format, and scoring rows with it.

Runs only inside the sandbox child (after its resource limits are set). No loader here can run code
stored in the file: ONNX Runtime interprets a graph of known operators, skops rebuilds objects only of
types that were checked against an allow-list first, XGBoost and LightGBM parse their own model formats.

A classifier's score is the probability of the positive label, found through the model's own class
names (``monitoring.sandbox.classes``); ``output`` says which output and column that was. Without a
positive label (regression, or an explanation) the model's own output is used as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from monitoring.sandbox import ModelRefused, SandboxError, refuse_unsafe_format
from monitoring.sandbox.classes import (
    ClassMappingError,
    column_of,
    columns_from_predictions,
    require_positive,
    unnamed_binary,
)
from registry import labels

# Boosters whose output is P(label = 1) (not a margin, a class or a regression value)
XGBOOST_PROBABILITY_OBJECTIVES = frozenset({"binary:logistic", "reg:logistic"})
LIGHTGBM_PROBABILITY_OBJECTIVES = frozenset({"binary", "cross_entropy", "xentropy"})


@dataclass
class LoadedModel:
    """A loaded model: the native object (what SHAP explains), its feature columns and a scorer."""

    native: Any
    features: list[str]
    scorer: Callable[[pd.DataFrame], np.ndarray]
    output: str
    library: dict[str, str]

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        values = np.asarray(self.scorer(frame[self.features]), dtype=np.float64).reshape(-1)
        # a scorer that finds its output only on the rows (ONNX) says afterwards which one it used
        self.output = getattr(self.scorer, "output", self.output)
        return values


def load(
    artifact_format: str,
    path: str,
    features: list[str],
    allowed_types: list[str],
    positive_label: Any = None,
) -> LoadedModel:
    """Load ``path`` as ``artifact_format``; ``features`` is the caller's column list (in order).

    With ``positive_label`` the scorer returns P(positive label) or raises ClassMappingError (at load
    where the model's classes are known then, else at the first scoring).
    """
    refuse_unsafe_format(artifact_format)
    if artifact_format == "onnx":
        return _onnx(path, features, positive_label)
    if artifact_format == "skops":
        return _skops(path, features, allowed_types, positive_label)
    if artifact_format in {"xgboost-json", "xgboost-ubj"}:
        return _xgboost(path, features, positive_label)
    return _lightgbm(path, features, positive_label)


def _own_features(declared: list[str] | None, features: list[str], available: set[str]) -> list[str]:
    """The model's own feature names when it knows them (all must be in the data), else the caller's."""
    if not declared:
        return features
    missing = [name for name in declared if name not in available]
    if missing:
        raise SandboxError(
            f"The model expects column(s) {', '.join(map(repr, missing[:10]))} that the dataset lacks.",
            error_type="SchemaMismatchError",
        )
    return list(declared)


def _skops(path: str, features: list[str], allowed_types: list[str], positive: Any) -> LoadedModel:
    import sklearn
    import skops
    import skops.io

    untrusted = sorted(skops.io.get_untrusted_types(file=path))
    refused = [name for name in untrusted if name not in set(allowed_types)]
    if refused:
        raise ModelRefused(
            "The skops file contains types outside the allow-list, so it is not loaded: "
            + ", ".join(refused[:20])
        )
    model = skops.io.load(path, trusted=untrusted)
    declared = getattr(model, "feature_names_in_", None)
    chosen = _own_features(None if declared is None else [str(n) for n in declared], features, set(features))
    if hasattr(model, "predict_proba"):
        scorer, output = _class_probability(model, positive)
    else:
        scorer, output = model.predict, "predict"
    library = {"scikit-learn": sklearn.__version__, "skops": skops.__version__}
    return LoadedModel(model, chosen, scorer, output, library)


def _class_probability(model: Any, positive: Any) -> tuple[Callable[[pd.DataFrame], np.ndarray], str]:
    """The ``predict_proba`` column of the positive label, found in ``classes_`` (pipelines expose their
    last step's). Without a positive label (an explanation) nothing is scored."""
    if positive is None:
        return _no_positive_label(type(model).__name__), "predict_proba"
    classes = getattr(model, "classes_", None)
    if classes is None:
        raise ClassMappingError(
            f"The {type(model).__name__} has predict_proba but no classes_, so which column is the "
            f"probability of the positive label {positive!r} is unknown."
        )
    index = column_of(list(classes), positive, named="the model's classes_")
    output = f"predict_proba[:, {index}] (classes_[{index}] = {labels.plain(classes[index])!r})"
    return (lambda rows: np.asarray(model.predict_proba(rows))[:, index]), output


def _no_positive_label(model: str) -> Callable[[pd.DataFrame], np.ndarray]:
    def scorer(rows: pd.DataFrame) -> np.ndarray:
        require_positive(None, model=f"The {model}")
        raise AssertionError("unreachable")

    return scorer


def _booster_probability(
    predict: Callable[[pd.DataFrame], np.ndarray],
    objective: str,
    accepted: frozenset[str],
    positive: Any,
    model: str,
) -> tuple[Callable[[pd.DataFrame], np.ndarray], str]:
    """A booster's P(1) as P(positive): as it is for the label 1, 1 - P(1) for the label 0."""
    if positive is None:
        return predict, "Booster.predict"
    if objective not in accepted:
        raise ClassMappingError(
            f"The {model}'s objective is {objective!r}, whose output is not the probability of a class, so "
            f"it cannot be read as P({positive!r}); probability objectives are {', '.join(sorted(accepted))}."
        )
    if unnamed_binary(positive, model=f"The {model}"):
        return predict, f"Booster.predict ({objective}: P(label = 1))"
    return (lambda rows: 1.0 - np.asarray(predict(rows), dtype=np.float64)), (
        f"1 - Booster.predict ({objective} scores P(label = 1); the positive label is 0)"
    )


def _xgboost(path: str, features: list[str], positive: Any) -> LoadedModel:
    import json

    import xgboost

    booster = xgboost.Booster()
    booster.load_model(path)
    chosen = _own_features(booster.feature_names, features, set(features))
    objective = json.loads(booster.save_config())["learner"]["objective"]["name"]

    def predict(rows: pd.DataFrame) -> np.ndarray:
        return booster.predict(xgboost.DMatrix(rows, feature_names=chosen))

    scorer, output = _booster_probability(
        predict, objective, XGBOOST_PROBABILITY_OBJECTIVES, positive, "XGBoost booster"
    )
    return LoadedModel(booster, chosen, scorer, output, {"xgboost": xgboost.__version__})


def _lightgbm(path: str, features: list[str], positive: Any) -> LoadedModel:
    import lightgbm

    booster = lightgbm.Booster(model_file=path)
    declared = [name for name in booster.feature_name() if not name.startswith("Column_")]
    chosen = _own_features(declared or None, features, set(features))
    objective = (str(booster.params.get("objective") or "").split() or [""])[0]
    scorer, output = _booster_probability(
        booster.predict, objective, LIGHTGBM_PROBABILITY_OBJECTIVES, positive, "LightGBM booster"
    )
    return LoadedModel(booster, chosen, scorer, output, {"lightgbm": lightgbm.__version__})


class OnnxModel:
    """An ONNX Runtime session behind ``predict_proba`` / ``predict`` (what SHAP's permutation explainer calls)."""

    def __init__(self, path: str, features: list[str]):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.path = path
        with open(path, "rb") as handle:
            model = handle.read()
        _refuse_external_data(model)
        # The checked bytes themselves, not the path: what the runtime parses is what was checked.
        self.session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self.inputs = self.session.get_inputs()
        self.features = features if len(self.inputs) == 1 else [i.name for i in self.inputs]

    def _feed(self, rows: pd.DataFrame | np.ndarray) -> dict[str, np.ndarray]:
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows, columns=self.features)
        if len(self.inputs) == 1:
            dtype = np.int64 if "int64" in self.inputs[0].type else np.float32
            return {self.inputs[0].name: frame[self.features].to_numpy(dtype=dtype)}
        feed = {}
        for spec in self.inputs:
            column = frame[spec.name].to_numpy()
            if "string" in spec.type:
                column = column.astype(str).astype(object)
            else:
                column = column.astype(np.int64 if "int64" in spec.type else np.float32)
            feed[spec.name] = column.reshape(-1, 1)
        return feed

    def run(self, rows: pd.DataFrame | np.ndarray) -> list[Any]:
        return self.session.run(None, self._feed(rows))

    def predict_proba(self, rows: pd.DataFrame | np.ndarray) -> np.ndarray:
        return _onnx_scores(self.run(rows))

    def predict(self, rows: pd.DataFrame | np.ndarray) -> np.ndarray:
        return self.predict_proba(rows)


def _onnx_scores(outputs: list[Any]) -> np.ndarray:
    """The model's output for SHAP and regression: the probability output when there is one (its last
    column or map entry), else the first output. Scoring a classifier goes through OnnxPositive instead."""
    for output in reversed(outputs):
        if isinstance(output, list) and output and isinstance(output[0], dict):
            keys = sorted(output[0])
            return np.array([row[keys[-1]] for row in output], dtype=np.float64)
        array = np.asarray(output)
        if array.dtype.kind == "f" and array.ndim == 2 and array.shape[1] == 2:
            return array[:, 1].astype(np.float64)
    array = np.asarray(outputs[0], dtype=np.float64)
    return array.reshape(array.shape[0], -1)[:, -1]


class OnnxPositive:
    """P(positive label) from an ONNX classifier, mapped through the class names the model carries.

    The probability output is a ZipMap (a list of {class label: p}: the key is the label) or a float
    tensor [n, k] whose columns are named by the graph's ``classlabels_*`` attributes (ai.onnx.ml
    classifiers and ZipMap) or, failing those, by a label output on the scored rows. A single score column
    names no class and is read like a booster's P(label = 1). ``output`` describes what was used.
    """

    def __init__(self, model: OnnxModel, positive: Any):
        self.model = model
        self.positive = positive
        self.names = [meta.name for meta in model.session.get_outputs()]
        self.output = "ONNX probability output (not yet scored)"

    def __call__(self, rows: pd.DataFrame) -> np.ndarray:
        outputs = self.model.run(rows)
        for name, output in zip(reversed(self.names), reversed(outputs), strict=True):
            if isinstance(output, list) and (not output or isinstance(output[0], dict)):
                return self._from_map(name, output)
        for name, output in zip(reversed(self.names), reversed(outputs), strict=True):
            array = np.asarray(output)
            if array.dtype.kind == "f" and array.ndim == 2 and array.shape[1] >= 2:
                return self._from_columns(name, array, outputs)
        name, array = next(
            (
                (n, np.asarray(o))
                for n, o in zip(self.names, outputs, strict=True)
                if np.asarray(o).dtype.kind == "f"
            ),
            (None, None),
        )
        if array is None:
            raise ClassMappingError(
                f"The ONNX model has no probability output (its outputs are {', '.join(self.names)}), so it "
                f"gives no probability of the positive label {self.positive!r}."
            )
        direct = unnamed_binary(self.positive, model="The ONNX model's single score output")
        scores = array.reshape(array.shape[0], -1)[:, -1].astype(np.float64)
        self.output = f"ONNX output {name!r} read as P(label = 1)" + (
            "" if direct else "; 1 - it for the label 0"
        )
        return scores if direct else 1.0 - scores

    def _from_map(self, name: str, rows: list[dict]) -> np.ndarray:
        keys = list(rows[0]) if rows else []
        index = column_of(keys, self.positive, named=f"the class labels of the ONNX output {name!r}")
        key = keys[index]
        self.output = f"ONNX output {name!r}[{key!r}] (ZipMap keyed by class label)"
        return np.array([row[key] for row in rows], dtype=np.float64)

    def _from_columns(self, name: str, probabilities: np.ndarray, outputs: list[Any]) -> np.ndarray:
        classes = _graph_class_labels(self.model.path)
        if classes is not None and len(classes) == probabilities.shape[1]:
            index = column_of(classes, self.positive, named="the ONNX graph's class labels (classlabels_*)")
            self.output = (
                f"ONNX output {name!r}[:, {index}] (class {classes[index]!r} in the graph's classlabels)"
            )
            return probabilities[:, index].astype(np.float64)
        for label_name, output in zip(self.names, outputs, strict=True):
            predicted = np.asarray(output).reshape(-1)
            if (
                label_name == name
                or predicted.dtype.kind == "f"
                or predicted.shape[0] != probabilities.shape[0]
            ):
                continue
            found = columns_from_predictions(probabilities, predicted)
            index = labels.position(found.values(), self.positive)
            if index is not None:
                column = list(found)[index]
                self.output = (
                    f"ONNX output {name!r}[:, {column}] (the label output {label_name!r} names column "
                    f"{column} {labels.plain(found[column])!r})"
                )
                return probabilities[:, column].astype(np.float64)
        raise ClassMappingError(
            f"The ONNX output {name!r} has {probabilities.shape[1]} probability columns but the model does not "
            f"say which one is the positive label {self.positive!r} (no ZipMap, no classlabels attribute, no "
            "label output that names them)."
        )


def _refuse_external_data(model: bytes) -> None:
    """The upload check again, in the child: ONNX Runtime never gets a model that names external data
    (it would read a file at a path the uploader chose), whatever the stored artifact's history."""
    from registry import onnx_scan

    try:
        summary = onnx_scan.scan_bytes(model)
    except onnx_scan.NotOnnx as exc:
        raise ModelRefused(f"The artifact is not a well-formed ONNX model ({exc}).") from None
    if summary.external_tensors:
        raise ModelRefused(
            "ONNX models that reference external data are not loaded "
            f"(tensor {summary.external_tensors[0]!r})."
        )


def _graph_class_labels(path: str) -> list[Any] | None:
    """The class labels of the graph's ai.onnx.ml classifier or ZipMap nodes, when they agree."""
    import onnx

    found = set()
    for node in onnx.load(path, load_external_data=False).graph.node:
        for attribute in node.attribute:
            if attribute.name == "classlabels_strings":
                found.add(tuple(value.decode() for value in attribute.strings))
            elif attribute.name in ("classlabels_ints", "classlabels_int64s"):
                found.add(tuple(attribute.ints))
    return list(found.pop()) if len(found) == 1 else None


def _onnx(path: str, features: list[str], positive: Any) -> LoadedModel:
    import onnxruntime

    model = OnnxModel(path, features)
    chosen = _own_features(None if len(model.inputs) == 1 else model.features, features, set(features))
    if len(model.inputs) == 1:
        width = model.inputs[0].shape[-1] if model.inputs[0].shape else None
        if isinstance(width, int) and width != len(chosen):
            raise SandboxError(
                f"The ONNX model takes {width} input features but {len(chosen)} columns were given "
                f"({', '.join(chosen[:10])}); set config.features to the model's inputs in order.",
                error_type="SchemaMismatchError",
            )
    library = {"onnxruntime": onnxruntime.__version__}
    if positive is None:
        return LoadedModel(model, chosen, model.predict_proba, "ONNX probability output", library)
    scorer = OnnxPositive(model, positive)
    return LoadedModel(model, chosen, scorer, scorer.output, library)
