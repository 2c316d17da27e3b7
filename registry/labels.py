"""Class labels as the registry declares them and as checks and the sandbox match them.

A declared label (a dataset's or a model's ``favourable_label``, a check's ``positive_label``) is an
integer or a text, kept as JSON so that ``1`` and ``"1"`` stay apart. One rule says when a declared label
is a value found in data or in a model's classes, used at upload, when a check is queued and inside the
sandbox child: text matches text exactly; an integer matches an integer or a float of the same value;
true/false match nothing (a boolean class is not a declared label). Pure Python and NumPy, no Django, so
the sandbox child can import it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

MAX_LABEL_CHARS = 200
SHOWN_VALUES = 20


def is_label(value: Any) -> bool:
    """An integer (not true/false) or a non-empty text of at most MAX_LABEL_CHARS characters."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and 0 < len(value) <= MAX_LABEL_CHARS


def same_label(found: Any, declared: Any) -> bool:
    """Does ``found`` (a value from data or a model's classes) stand for the ``declared`` label?"""
    if isinstance(found, bool | np.bool_) or isinstance(declared, bool):
        return False
    if isinstance(declared, str):
        return isinstance(found, str) and found == declared
    if isinstance(found, int | np.integer):
        return int(found) == declared
    if isinstance(found, float | np.floating):
        return float(found) == declared
    return False


def position(values: Iterable[Any], declared: Any) -> int | None:
    """The index of the first value that stands for ``declared``, or None."""
    for index, value in enumerate(values):
        if same_label(value, declared):
            return index
    return None


def plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (for messages and JSON)."""
    return value.item() if isinstance(value, np.generic) else value


def listing(values: Iterable[Any]) -> str:
    """``'bad', 'good'`` or ``0, 1``: values as a person reads them, at most SHOWN_VALUES of them."""
    items = [plain(value) for value in values]
    text = ", ".join(repr(item) for item in items[:SHOWN_VALUES])
    return text + (" …" if len(items) > SHOWN_VALUES else "")


def type_hint(values: Iterable[Any], declared: Any) -> str:
    """Why a label that looks right did not match: ``1`` against text labels or ``"1"`` against numbers."""
    items = [plain(value) for value in values]
    if any(str(item) == str(declared) for item in items):
        if isinstance(declared, str):
            return f" (the values are numbers: use {declared} without quotes)"
        return f' (the values are text: use "{declared}" in quotes)'
    return ""
