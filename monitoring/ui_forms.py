"""The start-a-check form: which inputs each kind asks for, its defaults, and the service's errors per field.

The form only turns what a person typed into the arguments of ``monitoring.services.runs.check_run_create``;
the service validates the configuration against the datasets and raises ``ValidationError`` keyed by
``reference_dataset``, ``config.columns``, ``config.thresholds.<name>`` …, which ``add_service_errors``
puts next to the matching field.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from monitoring.metrics import catalogue
from monitoring.models import CheckKind
from monitoring.models.runs import RUNNABLE_KINDS
from registry.models import DatasetVersion

DATASET_CHOICES_SHOWN = 100
# What each kind asks for besides its thresholds (the service decides what is required).
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    CheckKind.DRIFT: ("reference_dataset", "current_dataset", "columns"),
    CheckKind.DATA_QUALITY: ("reference_dataset", "current_dataset", "columns"),
    CheckKind.FAIRNESS: ("current_dataset", "sensitive_columns", "target", "positive_label"),
    CheckKind.PERFORMANCE: ("current_dataset", "task", "target", "positive_label"),
    CheckKind.EXPLAINABILITY: ("current_dataset", "reference_dataset"),
    CheckKind.LLM_EVALUATION: ("current_dataset", "slice_columns"),
}
REFERENCE_LABELS = {
    CheckKind.EXPLAINABILITY: "Reference dataset: SHAP background and rank-stability baseline (optional)"
}
SERVICE_FIELDS = {
    "reference_dataset": "reference_dataset",
    "current_dataset": "current_dataset",
    "config.columns": "columns",
    "config.sensitive_columns": "sensitive_columns",
    "config.slice_columns": "slice_columns",
    "config.target": "target",
    "config.positive_label": "positive_label",
    "config.task": "task",
}
TASKS = [("binary", "Binary classification"), ("regression", "Regression")]
INTEGER = re.compile(r"-?[0-9]+")
THRESHOLD_PREFIX = "threshold_"


def dataset_label(version: DatasetVersion) -> str:
    rows = f"{version.row_count} rows, " if version.row_count is not None else ""
    return (
        f"{version.dataset.name} v{version.version} · {version.get_role_display()} · "
        f"{rows}{version.created_at:%Y-%m-%d} · sha256 {version.file_sha256[:12]}…"
    )


class DatasetVersionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: DatasetVersion) -> str:
        return dataset_label(obj)


class StartCheckForm(forms.Form):
    """Fields for one kind of check on one model version; ``datasets`` is the user's scoped queryset."""

    kind = forms.ChoiceField(choices=RUNNABLE_KINDS, widget=forms.HiddenInput)

    def __init__(
        self,
        data=None,
        *,
        kind: str,
        datasets: QuerySet[DatasetVersion],
        defaults: dict[str, Any],
    ):
        super().__init__(data, initial={"kind": kind, **defaults})
        self.kind = kind
        self.model_favourable_label = defaults.get("model_favourable_label")
        self.favourable_by_dataset: dict[str, str] = {}  # for the page's script: dataset id -> its default
        for name in KIND_FIELDS[kind]:
            self.fields[name] = self._field(name, datasets, defaults)
        applied = defaults.get("thresholds", {})
        for band in catalogue.thresholds_of(kind):
            field = _threshold_field(band.name, band.meaning, applied.get(band.name) or {})
            self.fields[THRESHOLD_PREFIX + band.name] = field

    def _field(self, name: str, datasets: QuerySet[DatasetVersion], defaults: dict[str, Any]) -> forms.Field:
        if name in ("reference_dataset", "current_dataset"):
            field = DatasetVersionChoiceField(
                queryset=datasets,
                required=False,
                empty_label="(none)",
                label=REFERENCE_LABELS.get(self.kind, "Reference dataset")
                if name == "reference_dataset"
                else "Current dataset",
            )
            # Validation looks the choice up in the whole scoped queryset; the menu lists the newest ones.
            shown = list(datasets.order_by("-created_at", "-id")[:DATASET_CHOICES_SHOWN])
            chosen = defaults.get(name)
            if chosen is not None and chosen not in shown:
                shown.insert(0, chosen)
            field.choices = [("", "(none)"), *((v.pk, dataset_label(v)) for v in shown)]
            if name == "current_dataset":
                self.favourable_by_dataset = {str(v.pk): self._declared_label(v) or "" for v in shown}
            return field
        if name == "task":
            return forms.ChoiceField(choices=TASKS, initial="binary", label="Task")
        labels = {
            "positive_label": (
                "Favourable outcome (positive label)",
                "The target value that is the favourable outcome for the person, e.g. good when credit is "
                "granted: fairness compares the rate of this outcome across groups, and scores are read as "
                "its probability. Filled in from the favourable label the current dataset declares, else "
                "the model's; a number (1) is sent as a number.",
            ),
            "columns": (
                "Columns (optional)",
                "Comma-separated. Default: every column of the reference "
                "dataset except its target and prediction.",
            ),
            "sensitive_columns": (
                "Sensitive columns",
                "Comma-separated. Default: the columns the current dataset declares sensitive.",
            ),
            "slice_columns": (
                "Slice columns (optional)",
                "Comma-separated. Each metric is also reported per value of these columns. The recorded "
                "set's columns are input, context, output, reference and label unless the API request "
                "names others.",
            ),
            "target": (
                "Target column (optional)",
                "Default: the target column the current dataset declares.",
            ),
        }
        label, help_text = labels[name]
        return forms.CharField(required=False, label=label, help_text=help_text, max_length=5000)

    def clean_kind(self) -> str:
        if self.cleaned_data["kind"] != self.kind:
            raise ValidationError("The kind of check changed; reload the form.")
        return self.kind

    def service_arguments(self) -> dict[str, Any]:
        """``reference``, ``current`` and ``config`` for ``check_run_create``."""
        data = self.cleaned_data
        config: dict[str, Any] = {}
        for name in ("columns", "sensitive_columns", "slice_columns"):
            listed = _names(data.get(name))
            if listed:
                config[name] = listed
        if data.get("target"):
            config["target"] = data["target"].strip()
        if data.get("task"):
            config["task"] = data["task"]
        label = (data.get("positive_label") or "").strip()
        if label and label != self._declared_label(data.get("current_dataset")):
            config["positive_label"] = int(label) if INTEGER.fullmatch(label) else label
        chosen = {
            name.removeprefix(THRESHOLD_PREFIX): value
            for name, value in data.items()
            if name.startswith(THRESHOLD_PREFIX) and value is not None
        }
        if chosen:
            config["thresholds"] = chosen
        return {
            "reference": data.get("reference_dataset"),
            "current": data.get("current_dataset"),
            "config": config,
        }

    def _declared_label(self, current: DatasetVersion | None) -> str | None:
        """The favourable label the service would take without a request, as typed in the form. The
        prefilled value left as it is goes unsent, so the run records the declaration as its source."""
        declared = current.favourable_label if current is not None else None
        if declared is None:
            declared = self.model_favourable_label
        return None if declared is None else str(declared)

    def add_service_errors(self, error: ValidationError) -> None:
        """Put each of the service's errors next to its field (unknown keys go above the form)."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for key, messages in error.message_dict.items():
            field = SERVICE_FIELDS.get(key)
            if key.startswith("config.thresholds."):
                field = THRESHOLD_PREFIX + key.removeprefix("config.thresholds.")
            if field in self.fields:
                self.add_error(field, messages)
            else:
                self.add_error(None, [f"{_readable(key)}: {message}" for message in messages])


def _threshold_field(name: str, meaning: str, applied: dict[str, Any]) -> forms.FloatField:
    """A number to replace the threshold that would apply; a binding (policy) threshold cannot be changed."""
    value = applied.get("value")
    if value is None:
        now = "Not judged unless set."
    else:
        now = f"Without a value here: {value:g} ({applied.get('source', 'default')})."
    if applied.get("binding"):
        now = f"Fixed at {value:g} by {applied.get('source')}; it cannot be changed here."
    return forms.FloatField(
        required=False,
        disabled=bool(applied.get("binding")),
        label=f"Threshold {name}",
        help_text=f"{meaning.capitalize()}. {now}",
        widget=forms.NumberInput(attrs={"step": "any", "placeholder": "" if value is None else f"{value:g}"}),
    )


def _names(raw: str | None) -> list[str]:
    return [name.strip() for name in (raw or "").split(",") if name.strip()]


def _readable(key: str) -> str:
    return key.removeprefix("config.").replace("_", " ").replace(".", " ")
