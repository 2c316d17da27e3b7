"""The monitoring-plan form: what a person types, turned into the arguments of the plan services.

The form checks what can be checked without the datasets (JSON shape, each kind's option declarations,
the schedule's bounds); ``monitoring_plan_create`` / ``monitoring_plan_update`` validate everything again
against the reference and the newest batch, and their ``ValidationError`` (keyed ``checks[0].config.columns``,
``crontab``, ``schedule`` …) is put next to the matching field by ``add_service_errors``.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from monitoring import checks
from monitoring.metrics import catalogue
from monitoring.models import CheckKind, MonitoringPlan
from monitoring.models.plans import AlertOn
from monitoring.services import plans as plan_services
from monitoring.ui_forms import DATASET_CHOICES_SHOWN, DatasetVersionChoiceField, dataset_label
from registry.models import Dataset, DatasetVersion

SCHEDULES = [("crontab", "Cron expression (UTC)"), ("interval", "Every N seconds")]
MAX_CONFIG_CHARS = 20_000


def kind_field(kind: str, name: str) -> str:
    return f"{kind}__{name}"


class PlanForm(forms.Form):
    """Create (``plan`` None) or edit a plan on one version; ``datasets`` and ``dataset_versions`` are the
    user's scoped querysets."""

    title = forms.CharField(max_length=200, required=False)
    dataset = forms.ModelChoiceField(
        queryset=Dataset.objects.none(),
        help_text="Each run checks this dataset's newest version with role 'production batch'.",
    )
    reference_dataset = DatasetVersionChoiceField(
        queryset=DatasetVersion.objects.none(),
        required=False,
        empty_label="(none)",
        help_text="The baseline for drift and data-quality checks.",
    )
    schedule = forms.ChoiceField(choices=SCHEDULES, widget=forms.RadioSelect, initial="crontab")
    crontab = forms.CharField(
        max_length=100,
        required=False,
        initial="0 6 * * *",
        help_text="Five fields, UTC: minute hour day-of-month month day-of-week ('0 6 * * *' is daily at 06:00).",
    )
    interval_seconds = forms.IntegerField(
        required=False,
        min_value=plan_services.MIN_INTERVAL_SECONDS,
        max_value=plan_services.MAX_INTERVAL_SECONDS,
        help_text=f"From {plan_services.MIN_INTERVAL_SECONDS} to {plan_services.MAX_INTERVAL_SECONDS:,} seconds.",
    )
    alert_on = forms.ChoiceField(choices=AlertOn.choices, initial=AlertOn.FAIL, label="Raise an alert on")
    enabled = forms.BooleanField(
        required=False, initial=True, help_text="Disabled plans keep their history but do not run."
    )

    def __init__(
        self,
        data=None,
        *,
        datasets: QuerySet[Dataset],
        dataset_versions: QuerySet[DatasetVersion],
        plan: MonitoringPlan | None = None,
    ):
        super().__init__(data, initial=_initial(plan) if plan else None)
        self.plan = plan
        self.fields["dataset"].queryset = datasets
        if plan is not None:  # the dataset is what the plan is about: a new dataset is a new plan
            self.fields["dataset"].disabled = True
            self.fields[
                "dataset"
            ].help_text = "A plan keeps its dataset; create another plan for another one."
        reference = self.fields["reference_dataset"]
        reference.queryset = dataset_versions
        shown = list(dataset_versions.order_by("-created_at", "-id")[:DATASET_CHOICES_SHOWN])
        if plan is not None and plan.reference_dataset is not None and plan.reference_dataset not in shown:
            shown.insert(0, plan.reference_dataset)
        reference.choices = [("", "(none)"), *((v.pk, dataset_label(v)) for v in shown)]
        self.kinds: list[dict[str, Any]] = []
        for kind, label in CheckKind.choices:
            self.fields[kind_field(kind, "on")] = forms.BooleanField(
                required=False, label=f"Run the {label.lower()} check"
            )
            self.fields[kind_field(kind, "config")] = forms.CharField(
                required=False,
                max_length=MAX_CONFIG_CHARS,
                label=f"{label} configuration (JSON, optional)",
                help_text='As the checks API takes it, e.g. {"columns": ["age", "income"]}. Thresholds below.',
                widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
            )
            bands = []
            for band in catalogue.thresholds_of(kind):
                name = kind_field(kind, f"threshold_{band.name}")
                default = "" if band.default is None else f"{band.default:g}"
                self.fields[name] = forms.FloatField(
                    required=False,
                    label=f"Threshold {band.name}",
                    help_text=f"{band.meaning.capitalize()}." + (f" Default {default}." if default else ""),
                    widget=forms.NumberInput(attrs={"step": "any", "placeholder": default}),
                )
                bands.append(name)
            self.kinds.append({"kind": kind, "label": label, "bands": bands})

    # the template draws each kind's fields together
    def kind_groups(self) -> list[dict[str, Any]]:
        groups = []
        for group in self.kinds:
            on = self[kind_field(group["kind"], "on")]
            fields = [self[kind_field(group["kind"], "config")], *(self[name] for name in group["bands"])]
            groups.append(
                {
                    "kind": group["kind"],
                    "label": group["label"],
                    "on": on,
                    "fields": fields,
                    # the options stay folded away unless the check is chosen or one of them is wrong
                    "open": bool(on.value()) or any(field.errors for field in fields),
                }
            )
        return groups

    def general_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("title", "dataset", "reference_dataset")]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        entries = []
        for kind, _ in CheckKind.choices:
            if not data.get(kind_field(kind, "on")):
                continue
            config = self._config(kind, data.get(kind_field(kind, "config")) or "")
            if config is None:
                continue
            chosen = {
                name.removeprefix(f"{kind}__threshold_"): value
                for name, value in data.items()
                if name.startswith(f"{kind}__threshold_") and value is not None
            }
            if chosen:
                config["thresholds"] = {**config.get("thresholds", {}), **chosen}
            try:
                checks.check_options(kind, config)
            except ValidationError as exc:
                self.add_error(
                    kind_field(kind, "config"),
                    [f"{key}: {' '.join(messages)}" for key, messages in exc.message_dict.items()],
                )
                continue
            entries.append({"kind": kind, "config": config})
        if not entries and not self.errors:
            self.add_error(None, "Choose at least one check.")
        data["checks"] = entries
        schedule = data.get("schedule")
        if schedule == "crontab" and not (data.get("crontab") or "").strip():
            self.add_error("crontab", "Give a cron expression, or choose an interval.")
        if schedule == "interval" and data.get("interval_seconds") is None:
            self.add_error("interval_seconds", "Give the interval in seconds, or choose a cron expression.")
        return data

    def _config(self, kind: str, text: str) -> dict[str, Any] | None:
        if not text.strip():
            return {}
        try:
            config = json.loads(text)
        except ValueError as exc:
            self.add_error(kind_field(kind, "config"), f"Not valid JSON: {exc}")
            return None
        if not isinstance(config, dict):
            self.add_error(kind_field(kind, "config"), "Give a JSON object, e.g. {}.")
            return None
        return config

    def service_arguments(self) -> dict[str, Any]:
        """Keyword arguments shared by ``monitoring_plan_create`` and ``monitoring_plan_update``."""
        data = self.cleaned_data
        cron = data["schedule"] == "crontab"
        return {
            "title": data["title"],
            "reference_dataset": data.get("reference_dataset"),
            "checks": data["checks"],
            "crontab": (data.get("crontab") or "").strip() if cron else "",
            "interval_seconds": None if cron else data.get("interval_seconds"),
            "enabled": data["enabled"],
            "alert_on": data["alert_on"],
        }

    def add_service_errors(self, error: ValidationError) -> None:
        """The service's errors next to their fields: ``checks[i]…`` on the i-th chosen kind's configuration."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        chosen = [entry["kind"] for entry in self.cleaned_data.get("checks", [])]
        for key, messages in error.message_dict.items():
            field = {"schedule": None, "reference": "reference_dataset"}.get(key, key)
            if key.startswith("checks["):
                index, _, rest = key.removeprefix("checks[").partition("]")
                if index.isdigit() and int(index) < len(chosen):
                    kind = chosen[int(index)]
                    self.add_error(
                        kind_field(kind, "config"), [f"{rest.lstrip('.') or kind}: {m}" for m in messages]
                    )
                    continue
            if field in self.fields:
                self.add_error(field, messages)
            else:
                self.add_error(None, [f"{key.replace('_', ' ')}: {message}" for message in messages])


def _initial(plan: MonitoringPlan) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "title": plan.title,
        "dataset": plan.dataset_id,
        "reference_dataset": plan.reference_dataset_id,
        "schedule": "crontab" if plan.crontab else "interval",
        "crontab": plan.crontab,
        "interval_seconds": plan.interval_seconds,
        "alert_on": plan.alert_on,
        "enabled": plan.enabled,
    }
    for entry in plan.checks:
        kind = entry["kind"]
        config = dict(entry.get("config") or {})
        declared = {band.name for band in catalogue.thresholds_of(kind)}
        thresholds = dict(config.pop("thresholds", {}) or {})
        for name in declared & set(thresholds):
            initial[kind_field(kind, f"threshold_{name}")] = thresholds.pop(name)
        if thresholds:  # any the form has no field for stay in the JSON
            config["thresholds"] = thresholds
        initial[kind_field(kind, "on")] = True
        initial[kind_field(kind, "config")] = json.dumps(config) if config else ""
    return initial
