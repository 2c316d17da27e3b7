"""Which of a model's outputs is the probability of the positive label: mapped through the model's own
class names, never guessed.

A scikit-learn model names its classes in ``classes_`` (the columns of ``predict_proba``, pipelines
included); an ONNX classifier in its ZipMap keys, its ``classlabels_*`` attributes or its label output.
XGBoost and LightGBM boosters name none: a binary objective scores P(label = 1), which serves a target
labelled 0/1 (P(1), or 1 - P(1) for the label 0) and nothing else. Whatever cannot be mapped raises
``ClassMappingError`` with what the model does name and what to do instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from monitoring.sandbox import SandboxError
from registry import labels

INSTEAD = (
    "Register the model with its class names (scikit-learn through skops, or ONNX with class labels), or "
    "put its scores in a prediction column of the dataset and set config.score_label."
)


class ClassMappingError(SandboxError):
    """The positive label cannot be matched to one of the model's outputs."""

    def __init__(self, message: str):
        super().__init__(message, error_type="ClassMappingError")


def column_of(classes: Sequence[Any], positive: Any, *, named: str) -> int:
    """The index of ``positive`` among ``classes`` (``named`` says where they come from, for the message)."""
    index = labels.position(classes, positive)
    if index is None:
        raise ClassMappingError(
            f"{named} are [{labels.listing(classes)}]; none is the positive label {positive!r}"
            f"{labels.type_hint(classes, positive)}. The model scores only its own classes. {INSTEAD}"
        )
    return index


def unnamed_binary(positive: Any, *, model: str) -> bool:
    """For a model whose score is P(label = 1) and which names no classes: True when the score is
    P(positive), False when P(positive) = 1 - score. Only the labels 0 and 1 can be mapped."""
    if isinstance(positive, int) and not isinstance(positive, bool) and positive in (0, 1):
        return positive == 1
    raise ClassMappingError(
        f"{model} names no classes: its score is P(label = 1) for a target labelled 0/1, so it cannot say "
        f"which probability belongs to the positive label {positive!r}. {INSTEAD}"
    )


def require_positive(positive: Any, *, model: str) -> None:
    if positive is None:
        raise ClassMappingError(
            f"{model} is a classifier: its scores are probabilities of its classes, so a positive label is "
            "needed to choose one (set config.positive_label)."
        )


def columns_from_predictions(probabilities: np.ndarray, predicted: np.ndarray) -> dict[int, Any]:
    """Column → class label, read from rows where a label output names the most probable column.

    Empty when the two disagree (the label is not the arg-max, e.g. a tuned threshold), since then
    the label output says nothing reliable about the columns.
    """
    found: dict[int, Any] = {}
    for column, label in zip(probabilities.argmax(axis=1).tolist(), predicted.tolist(), strict=True):
        label = label.decode() if isinstance(label, bytes) else label
        if found.setdefault(column, label) != label:
            return {}
    return found if len(set(found.values())) == len(found) else {}
