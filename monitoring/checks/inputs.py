"""Turning a requested check configuration into the resolved one stored on the run.

Every problem is a ``ValidationError`` keyed by the field at fault (``config.columns``,
``current_dataset``, ...), raised before anything is queued, so the API answers 400 naming the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from monitoring import sandbox, thresholds
from registry import labels
from registry.models import DatasetVersion, ModelVersion

COMMON_KEYS = {
    "columns",
    "features",
    "target",
    "positive_label",
    "score_label",
    "prediction_column",
    "prediction_type",
    "decision_threshold",
    "sensitive_columns",
    "task",
    "thresholds",
    "options",
}
PREDICTION_TYPES = ("auto", "score", "label")
MAX_COLUMNS = 10_000


def fail(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def columns_of(dataset: DatasetVersion) -> list[str]:
    return [column["name"] for column in dataset.schema]


def listing(names: list[str]) -> str:
    return ", ".join(names[:30]) + (" …" if len(names) > 30 else "")


@dataclass(frozen=True)
class Option:
    """One option of a check kind, declared once: its type, its inclusive range, whether null is accepted.

    Every number a request can set has a range, because the worker sizes its work by it (a million PSI
    bins, a billion bootstrap replicates); ``check_keys`` refuses a value outside it with a 400 naming
    ``config.options.<name>``, both in the API's request validation and in the service that queues the
    run. docs/CHECKS.md lists the ranges (a test keeps the two in step). ``entries`` bounds an object
    option's size.
    """

    types: type | tuple[type, ...]
    low: float | None = None
    high: float | None = None
    nullable: bool = False
    entries: int | None = None
    choices: tuple[str, ...] = ()
    meaning: str = ""

    def __post_init__(self) -> None:
        if (self.low is None) != (self.high is None):
            raise TypeError("A numeric option declares both ends of its range.")

    @property
    def accepted(self) -> tuple[type, ...]:
        kinds = self.types if isinstance(self.types, tuple) else (self.types,)
        return tuple(dict.fromkeys(k for kind in kinds for k in ((int, float) if kind is float else (kind,))))

    @property
    def numeric(self) -> bool:
        return self.low is not None

    def range_text(self) -> str:
        if not self.numeric:
            return ""
        return f"{_number(self.low)} to {_number(self.high)}" + (", or null" if self.nullable else "")

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not acceptable for this option, or None."""
        if value is None:
            return None if self.nullable else f"Expected {self.expected_text()}, not null."
        if isinstance(value, bool) and bool not in self.accepted:
            return (
                "Expected a number, not true/false."
                if self.numeric
                else f"Expected {_type_names(self.accepted)}."
            )
        if not isinstance(value, self.accepted):
            return f"Expected {_type_names(self.accepted)}."
        if self.numeric and not (math.isfinite(value) and self.low <= value <= self.high):
            return f"Must be from {self.range_text()}."
        if self.entries is not None and isinstance(value, dict) and len(value) > self.entries:
            return f"At most {self.entries:,} entries."
        if self.choices and value not in self.choices:
            return f"Use one of {', '.join(self.choices)}."
        return None

    def expected_text(self) -> str:
        """What the option takes, as docs/CHECKS.md and the error messages say it."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.numeric:
            return f"{_type_names(self.accepted)} from {self.range_text()}"
        entries = f" of at most {self.entries:,} entries" if self.entries is not None else ""
        return _type_names(self.accepted) + entries + (" or null" if self.nullable else "")


def _number(value: float | None) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def check_keys(raw: dict[str, Any], allowed_options: dict[str, Option]) -> dict[str, Any]:
    """Refuse unknown keys, and options of the wrong type or outside their range (a typo must not silently
    do nothing, and no number may size the worker's work beyond what its declaration allows)."""
    if not isinstance(raw, dict):
        raise fail("config", "Expected a JSON object.")
    unknown = sorted(set(raw) - COMMON_KEYS)
    if unknown:
        raise fail(f"config.{unknown[0]}", f"Unknown setting; use one of {', '.join(sorted(COMMON_KEYS))}.")
    options = raw.get("options") or {}
    if not isinstance(options, dict):
        raise fail("config.options", "Expected a JSON object.")
    for name, value in options.items():
        declared = allowed_options.get(name)
        if declared is None:
            known = ", ".join(sorted(allowed_options)) or "none"
            raise fail(f"config.options.{name}", f"Unknown option for this kind; known options: {known}.")
        problem = declared.problem(value)
        if problem:
            raise fail(f"config.options.{name}", problem)
    return options


def _type_names(expected: tuple[type, ...]) -> str:
    if set(expected) == {int, float}:
        return "a number"
    names = {int: "an integer", float: "a number", bool: "true or false", dict: "an object", str: "a string"}
    return " or ".join(names.get(kind, kind.__name__) for kind in expected)


def requested_thresholds(raw: dict[str, Any], kind: str) -> dict[str, float]:
    requested = raw.get("thresholds") or {}
    if not isinstance(requested, dict):
        raise fail("config.thresholds", "Expected a JSON object of numbers.")
    known = thresholds.known_names(kind)
    for name, value in requested.items():
        if name not in known:
            raise fail(
                f"config.thresholds.{name}",
                f"Unknown threshold for a {kind} check; known: {', '.join(known) or 'none'}.",
            )
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise fail(f"config.thresholds.{name}", "Expected a finite number.")
    return {name: float(value) for name, value in requested.items()}


def column_list(raw: Any, field: str) -> list[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(item, str) and item for item in raw):
        raise fail(field, "Expected a list of column names.")
    if not raw:
        raise fail(field, "Name at least one column.")
    if len(raw) > MAX_COLUMNS:
        raise fail(field, f"At most {MAX_COLUMNS} columns.")
    return list(dict.fromkeys(raw))


def require_in(field: str, names: list[str], dataset: DatasetVersion, role: str) -> None:
    available = columns_of(dataset)
    missing = [name for name in names if name not in available]
    if missing:
        raise fail(
            field,
            f"The {role} dataset {dataset} has no column {missing[0]!r}; its columns are: {listing(available)}.",
        )


def require_dataset(dataset: DatasetVersion | None, field: str, kind: str) -> DatasetVersion:
    if dataset is None:
        raise fail(field, f"A {kind} check needs a {field.replace('_', ' ')}.")
    return dataset


def target_column(raw: dict[str, Any], dataset: DatasetVersion) -> str:
    target = raw.get("target") or dataset.target_column
    if not target:
        raise fail("config.target", f"Name the target column: dataset {dataset} declares none.")
    require_in("config.target", [target], dataset, "current")
    return target


def positive_label(
    raw: dict[str, Any], version: ModelVersion, dataset: DatasetVersion, target: str
) -> dict[str, Any]:
    """The favourable outcome: the target value whose rate fairness compares and whose probability a score
    is. From the request, else the current dataset's ``favourable_label``, else the model's; with none
    declared the check is refused, saying what to set. Returns the label and where it came from."""
    model = version.model
    if raw.get("positive_label") is not None:
        label, source = raw["positive_label"], "request"
        if not labels.is_label(label):
            raise fail(
                "config.positive_label",
                'Expected an integer or a text label: the favourable outcome, e.g. 1 or "good".',
            )
    elif dataset.favourable_label is not None:
        label, source = dataset.favourable_label, f"favourable_label of dataset {dataset}"
    elif model.favourable_label is not None:
        label, source = model.favourable_label, f"favourable_label of model {model.name}"
    else:
        raise fail(
            "config.positive_label",
            "No favourable outcome is declared, so it is unknown which target value is good for the person. "
            'Set config.positive_label (e.g. "good" when credit is granted), or declare favourable_label on '
            f'dataset "{dataset}" or on model "{model.name}".',
        )
    require_target_value("config.positive_label", label, dataset, target, f" (from {source})")
    return {"positive_label": label, "positive_label_source": source}


def score_label(raw: dict[str, Any], positive: Any, dataset: DatasetVersion, target: str) -> Any:
    """The label whose probability a score column holds; the positive label unless the request says."""
    label = raw.get("score_label")
    if label is None:
        return positive
    if not labels.is_label(label):
        raise fail("config.score_label", 'Expected an integer or a text label, e.g. 1 or "bad".')
    require_target_value("config.score_label", label, dataset, target, "")
    return label


def target_values(dataset: DatasetVersion, target: str) -> list[Any] | None:
    """The target column's values when the dataset's profile knows all of them (every category of a
    text column, or the values of a numeric column with at most two), else None."""
    profile = dataset.profile or {}
    column = next((c for c in profile.get("columns", []) if c.get("name") == target), None)
    if column is None:
        return None
    top = column.get("top") or []
    if column.get("kind") == "categorical" and column.get("distinct", len(top) + 1) <= len(top):
        return [entry["value"] for entry in top]
    low, high = column.get("min"), column.get("max")
    if column.get("kind") == "numeric" and column.get("distinct") in (1, 2) and None not in (low, high):
        integral = str(column.get("dtype", "")).startswith(("int", "uint"))
        return sorted({int(low), int(high)} if integral else {low, high})
    return None


def require_target_value(field: str, label: Any, dataset: DatasetVersion, target: str, why: str) -> None:
    values = target_values(dataset, target)
    if not values or labels.position(values, label) is not None:
        return
    raise fail(
        field,
        f"{label!r}{why} is not a value of the target column {target!r} of dataset {dataset}; its values are "
        f"{labels.listing(values)}{labels.type_hint(values, label)}.",
    )


def default_features(version: ModelVersion, dataset: DatasetVersion, exclude: set[str]) -> list[str]:
    """The model's declared inputs when its signature names them, else every column but ``exclude``."""
    declared = [
        item.get("name")
        for item in (version.signature or {}).get("inputs", [])
        if isinstance(item, dict) and item.get("name")
    ]
    if declared:
        return declared
    return [name for name in columns_of(dataset) if name not in exclude]


def features(
    raw: dict[str, Any], version: ModelVersion, dataset: DatasetVersion, exclude: set[str]
) -> list[str]:
    chosen = column_list(raw.get("features"), "config.features") or default_features(
        version, dataset, exclude
    )
    if not chosen:
        raise fail("config.features", "No feature columns are left; name them in config.features.")
    require_in("config.features", chosen, dataset, "current")
    return chosen


def require_executable(version: ModelVersion, why: str) -> None:
    """Refuse before queuing when the artifact would have to run but must not."""
    if version.is_bundle:
        raise fail(
            "version",
            f"{why}, but {version} is an LLM application bundle: it has no model artifact to load. "
            "Give the predictions as a dataset column instead, or evaluate the application's recorded outputs.",
        )
    try:
        sandbox.refuse_unsafe_format(version.artifact_format)
    except sandbox.ModelRefused as exc:
        raise fail("version", f"{why}, but {exc}") from None
    if not version.artifact_executable:
        unaccepted = (version.artifact_details or {}).get("unaccepted_types") or []
        detail = f" (types outside the allow-list: {', '.join(unaccepted[:10])})" if unaccepted else ""
        raise fail("version", f"{why}, but the registry marked this artifact not executable{detail}.")


def _score_label_applies(positive: Any, column: str, kind: str) -> None:
    why = None
    if positive is None:
        why = "this check has no positive label"
    elif not column:
        why = "the model's own scores are mapped to the positive label through its classes"
    elif kind == "label":
        why = "this prediction column holds labels"
    if why:
        raise fail(
            "config.score_label", f"Only scores read from a prediction column have a score label; {why}."
        )


def predictions(
    raw: dict[str, Any],
    version: ModelVersion,
    dataset: DatasetVersion,
    *,
    positive: Any = None,
    target: str = "",
) -> dict[str, Any]:
    """Where predictions come from: a column of the dataset, else the model scored in the sandbox.

    A score column holds P(``score_label``) (the positive label unless the request says otherwise); the
    model's scores are mapped to the positive label through its own classes, so ``score_label`` is refused
    for them. ``positive`` None (regression) means no label applies.
    """
    column = raw.get("prediction_column") or dataset.prediction_column
    kind = raw.get("prediction_type", "auto")
    if kind not in PREDICTION_TYPES:
        raise fail("config.prediction_type", f"Use one of {', '.join(PREDICTION_TYPES)}.")
    threshold = raw.get("decision_threshold", 0.5)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not math.isfinite(threshold):
        raise fail("config.decision_threshold", "Expected a finite number.")
    if raw.get("score_label") is not None:
        _score_label_applies(positive, column, kind)
    if column:
        require_in("config.prediction_column", [column], dataset, "current")
        spec = {"source": "column", "column": column, "type": kind, "decision_threshold": float(threshold)}
        if positive is not None:
            spec["score_label"] = score_label(raw, positive, dataset, target)
        return spec
    require_executable(
        version, f"Dataset {dataset} declares no prediction column, so the model would have to score it"
    )
    return {"source": "model", "type": "score", "decision_threshold": float(threshold)}
