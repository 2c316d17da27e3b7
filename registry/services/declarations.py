"""What a team declares about a model's outcome and inputs, checked the same way by every service.

``favourable_label`` (on a dataset version and on a model) is the target value that is the favourable
outcome for the person: an integer or a text (``registry.labels``). ``prohibited_features`` (on a model) are
the feature names the model must not rely on. Each check raises ``ValidationError`` keyed by the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError

from registry import labels

MAX_PROHIBITED_FEATURES = 200
MAX_FEATURE_NAME_CHARS = 200


def favourable_label(value: Any, field: str = "favourable_label") -> Any:
    """``value`` itself when it is None (nothing declared), an integer or a text label."""
    if value is None or labels.is_label(value):
        return value
    if isinstance(value, str):
        message = f"Give a label of 1 to {labels.MAX_LABEL_CHARS} characters, or null to declare none."
    else:
        message = 'Expected an integer or a text label (e.g. 1 or "good"), or null to declare none.'
    raise ValidationError({field: [message]})


def label_among(
    label: Any, values: Sequence[Any], *, column: str, where: str, field: str = "favourable_label"
) -> None:
    """Refuse a declared label that is not one of ``values``, the values of ``column`` in ``where`` (a
    column without values, e.g. a production batch whose outcomes are not known yet, refuses nothing)."""
    if label is None or not values or labels.position(values, label) is not None:
        return
    raise ValidationError(
        {
            field: [
                f"{label!r} is not a value of the target column {column!r} in {where}; its values are "
                f"{labels.listing(values)}{labels.type_hint(values, label)}."
            ]
        }
    )


def prohibited_features(value: Any, field: str = "prohibited_features") -> list[str]:
    """A list of distinct, non-empty feature names (duplicates dropped, order kept)."""
    if not isinstance(value, list) or not all(isinstance(name, str) and name.strip() for name in value):
        raise ValidationError({field: ['Expected a list of feature names, e.g. ["age", "sex"].']})
    if len(value) > MAX_PROHIBITED_FEATURES:
        raise ValidationError({field: [f"At most {MAX_PROHIBITED_FEATURES} features."]})
    too_long = [name for name in value if len(name) > MAX_FEATURE_NAME_CHARS]
    if too_long:
        raise ValidationError(
            {
                field: [
                    f"Feature names have at most {MAX_FEATURE_NAME_CHARS} characters: {too_long[0][:40]!r}…"
                ]
            }
        )
    return list(dict.fromkeys(value))
