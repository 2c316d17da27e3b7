"""Which file of an MLflow model directory becomes the Attest artifact, by the model's flavours.

An MLflow model is a folder: an ``MLmodel`` file naming its flavours, the serialised model and its
environment. Attest keeps one artifact per version, so the flavour's own model file is taken (MLflow's
``MLmodel`` points at it); Attest's format detection then reads its bytes, as for any upload: ONNX,
skops, XGBoost and LightGBM files are executable, pickle and cloudpickle files are stored opaque and never
loaded. A model with no flavour Attest knows becomes a zip of the whole folder, stored opaque.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

# flavour → the MLmodel key naming its model file, in the order a multi-flavour model is read
MODEL_FILE_KEYS: dict[str, str] = {
    "onnx": "data",
    "sklearn": "pickled_model",
    "xgboost": "data",
    "lightgbm": "data",
    "catboost": "data",
    "statsmodels": "data",
}
MLMODEL_MAX_BYTES = 1024 * 1024


class NotAnMlflowModel(ValueError):
    """The folder has no readable MLmodel file."""


@dataclass(frozen=True)
class MlflowModel:
    """What the ``MLmodel`` file says: the flavours, the artifact file chosen, framework and signature."""

    flavours: list[str]
    artifact_file: str | None  # None: zip the whole folder
    framework: str
    framework_version: str
    signature: dict[str, Any] = field(default_factory=dict)
    model_id: str = ""


def read_mlmodel(text: bytes, files: list[str]) -> MlflowModel:
    """Parse an ``MLmodel`` (YAML) given the folder's file list."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise NotAnMlflowModel(f"the MLmodel file is not YAML: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("flavors"), dict):
        raise NotAnMlflowModel("the MLmodel file names no flavours")
    flavours = document["flavors"]
    chosen = _chosen_flavour(flavours, set(files))
    framework = chosen or next((name for name in flavours if name != "python_function"), "python_function")
    details = flavours.get(framework) or {}
    return MlflowModel(
        flavours=sorted(flavours),
        artifact_file=details.get(MODEL_FILE_KEYS[chosen]) if chosen else None,
        framework=framework,
        framework_version=_framework_version(details),
        signature=_signature(document.get("signature")),
        model_id=str(document.get("model_id") or ""),
    )


def _chosen_flavour(flavours: dict[str, Any], files: set[str]) -> str | None:
    for name, key in MODEL_FILE_KEYS.items():
        details = flavours.get(name)
        if isinstance(details, dict) and isinstance(details.get(key), str) and details[key] in files:
            return name
    return None


def _framework_version(details: Any) -> str:
    if not isinstance(details, dict):
        return ""
    for key, value in details.items():
        if key.endswith("_version") and key != "python_version" and isinstance(value, str | int | float):
            return str(value)[:50]
    return ""


def _signature(raw: Any) -> dict[str, Any]:
    """MLflow stores each part of a signature as a JSON string inside the YAML."""
    if not isinstance(raw, dict):
        return {}
    signature = {}
    for part in ("inputs", "outputs", "params"):
        value = raw.get(part)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                continue
        if value is not None:
            signature[part] = value
    return signature
