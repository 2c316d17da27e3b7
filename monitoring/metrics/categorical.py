"""Explaining models whose inputs include text or categorical columns (e.g. a scikit-learn Pipeline
that one-hot encodes inside).

SHAP's maskers replace feature values by background values with arithmetic on arrays, which fails on
strings. ``numeric_view`` gives the explainer integer codes for such columns instead and wraps the model
so that every call decodes the codes back to the original values first. SHAP values are then per
original column (a one-hot encoded category gets one value, not one per level) and additivity holds,
because the wrapped model computes exactly what the model computes on the decoded rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype


def categorical_columns(frame: pd.DataFrame) -> list[str]:
    """Columns the explainer cannot mask arithmetically: anything not numeric (booleans are numeric)."""
    return [c for c in frame.columns if not (is_numeric_dtype(frame[c]) or is_bool_dtype(frame[c]))]


class DecodingModel:
    """Presents a model to shap as taking numeric codes; decodes them before each prediction."""

    def __init__(self, model: Any, columns: list[str], levels: dict[str, np.ndarray]):
        self.model = model
        self.columns = columns
        self.levels = levels

    def decode(self, rows: Any) -> pd.DataFrame:
        frame = pd.DataFrame(
            np.asarray(rows, dtype=object) if not isinstance(rows, pd.DataFrame) else rows,
            columns=self.columns,
        )
        for column, levels in self.levels.items():
            codes = pd.to_numeric(frame[column], errors="coerce").to_numpy()
            missing = np.isnan(codes)
            decoded = levels[np.where(missing, 0, codes).astype(np.int64)].astype(object)
            decoded[missing] = np.nan
            frame[column] = decoded
        for column in self.columns:
            if column not in self.levels:
                frame[column] = pd.to_numeric(frame[column])
        return frame

    def predict(self, rows: Any) -> np.ndarray:
        return self.model.predict(self.decode(rows))


class DecodingClassifier(DecodingModel):
    """The same, for models with class probabilities (what the explainer prefers to explain)."""

    def predict_proba(self, rows: Any) -> np.ndarray:
        return self.model.predict_proba(self.decode(rows))


def numeric_view(
    frame: pd.DataFrame, background: pd.DataFrame | None, model: Any
) -> tuple[pd.DataFrame, pd.DataFrame | None, Any, list[str]]:
    """(coded frame, coded background, model to explain, coded column names); a no-op when all numeric."""
    columns = categorical_columns(frame)
    if not columns:
        return frame, background, model, []
    levels = {column: _levels(frame, background, column) for column in columns}
    coded = _encode(frame, levels)
    coded_background = None if background is None else _encode(background[frame.columns], levels)
    wrapper_class = DecodingClassifier if hasattr(model, "predict_proba") else DecodingModel
    return coded, coded_background, wrapper_class(model, list(frame.columns), levels), columns


def _levels(frame: pd.DataFrame, background: pd.DataFrame | None, column: str) -> np.ndarray:
    values = frame[column].dropna()
    if background is not None and column in background:
        values = pd.concat([values, background[column].dropna()])
    return np.array(sorted(values.unique(), key=str), dtype=object)


def _encode(frame: pd.DataFrame, levels: dict[str, np.ndarray]) -> pd.DataFrame:
    coded = frame.copy()
    for column, column_levels in levels.items():
        lookup = {value: index for index, value in enumerate(column_levels)}
        coded[column] = frame[column].map(lookup).astype("float64")
    return coded
