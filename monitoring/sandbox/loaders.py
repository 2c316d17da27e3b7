"""Loading an artifact in the sandbox child, one safe loader per format, and scoring rows with it.

Runs only inside the sandbox child (after its resource limits are set). No loader here can run code
stored in the file: ONNX Runtime interprets a graph of known operators, skops rebuilds objects only of
types that were checked against an allow-list first, XGBoost and LightGBM parse their own model formats.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from monitoring.sandbox import ModelRefused, SandboxError, refuse_unsafe_format


@dataclass
class LoadedModel:
    """A loaded model: the native object (what SHAP explains), its feature columns and a scorer."""

    native: Any
    features: list[str]
    scorer: Callable[[pd.DataFrame], np.ndarray]
    output: str
    library: dict[str, str]

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.scorer(frame[self.features]), dtype=np.float64).reshape(-1)


def load(artifact_format: str, path: str, features: list[str], allowed_types: list[str]) -> LoadedModel:
    """Load ``path`` as ``artifact_format``; ``features`` is the caller's column list (in order)."""
    refuse_unsafe_format(artifact_format)
    if artifact_format == "onnx":
        return _onnx(path, features)
    if artifact_format == "skops":
        return _skops(path, features, allowed_types)
    if artifact_format in {"xgboost-json", "xgboost-ubj"}:
        return _xgboost(path, features)
    return _lightgbm(path, features)


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


def _skops(path: str, features: list[str], allowed_types: list[str]) -> LoadedModel:
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
        scorer, output = (lambda rows: np.asarray(model.predict_proba(rows))[:, -1]), "predict_proba[:, 1]"
    else:
        scorer, output = model.predict, "predict"
    library = {"scikit-learn": sklearn.__version__, "skops": skops.__version__}
    return LoadedModel(model, chosen, scorer, output, library)


def _xgboost(path: str, features: list[str]) -> LoadedModel:
    import xgboost

    booster = xgboost.Booster()
    booster.load_model(path)
    chosen = _own_features(booster.feature_names, features, set(features))

    def scorer(rows: pd.DataFrame) -> np.ndarray:
        return booster.predict(xgboost.DMatrix(rows, feature_names=chosen))

    return LoadedModel(booster, chosen, scorer, "Booster.predict", {"xgboost": xgboost.__version__})


def _lightgbm(path: str, features: list[str]) -> LoadedModel:
    import lightgbm

    booster = lightgbm.Booster(model_file=path)
    declared = [name for name in booster.feature_name() if not name.startswith("Column_")]
    chosen = _own_features(declared or None, features, set(features))
    return LoadedModel(
        booster, chosen, booster.predict, "Booster.predict", {"lightgbm": lightgbm.__version__}
    )


class OnnxModel:
    """An ONNX Runtime session behind ``predict_proba`` / ``predict`` (what SHAP's permutation explainer calls)."""

    def __init__(self, path: str, features: list[str]):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
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

    def predict_proba(self, rows: pd.DataFrame | np.ndarray) -> np.ndarray:
        outputs = self.session.run(None, self._feed(rows))
        return _onnx_scores(outputs)

    def predict(self, rows: pd.DataFrame | np.ndarray) -> np.ndarray:
        return self.predict_proba(rows)


def _onnx_scores(outputs: list[Any]) -> np.ndarray:
    """The probability output when there is one (a [n, 2] tensor or a list of {label: p} maps), else the first."""
    for output in reversed(outputs):
        if isinstance(output, list) and output and isinstance(output[0], dict):
            keys = sorted(output[0])
            return np.array([row[keys[-1]] for row in output], dtype=np.float64)
        array = np.asarray(output)
        if array.dtype.kind == "f" and array.ndim == 2 and array.shape[1] == 2:
            return array[:, 1].astype(np.float64)
    array = np.asarray(outputs[0], dtype=np.float64)
    return array.reshape(array.shape[0], -1)[:, -1]


def _onnx(path: str, features: list[str]) -> LoadedModel:
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
    return LoadedModel(
        model,
        chosen,
        model.predict_proba,
        "ONNX probability output",
        {"onnxruntime": onnxruntime.__version__},
    )
