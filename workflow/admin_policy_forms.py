"""The policy editor's forms: the scalar rules, and one row per approval stage, required check and gated
environment. Together they build the ``rules`` that ``policy_create_version`` validates and saves.

Nothing here decides what a valid policy is: the service's ``validate_rules`` does, and its errors
(``stages[0].role``, ``required_checks[2]``, ``gated_environments.production``) are put back on the
row and field they name. The forms only offer what can be chosen — roles, meanings, the metrics each
check kind judges (from the metric catalogue), evidence types — so most mistakes cannot be typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import pretty_name

from accounts.admin_support import ROLE_LABELS
from monitoring.metrics import catalogue
from monitoring.thresholds import known_names
from registry.models.inventory import ModelKind
from workflow.models import EvidenceChange, EvidenceType, Policy, Severity
from workflow.models.approvals import Meaning
from workflow.services.policies import (
    CHECK_KINDS,
    DEFAULT_STAGE_DUE_DAYS,
    FINDING_SOURCES,
    RULE_FIELDS,
    SEGREGATION_PARTIES,
    STAGE_DUE_DAYS_RANGE,
)
from workflow.thresholds import threshold_name

BLANK = [("", "—")]
KIND_LABELS = {kind: kind.replace("_", " ").capitalize() for kind in CHECK_KINDS} | {
    "llm_evaluation": "LLM evaluation"
}
BOUND_WORDS = {"min": "at least", "max": "at most"}
SEGREGATION_LABELS = {
    "requester": "the person who requested the approval",
    "submitter": "the person who uploaded the version",
    "owner": "the model's owner",
}
FINDING_SOURCE_LABELS = {
    "check": "findings raised by a failed check",
    "monitoring": "findings raised by monitoring of the deployed version",
    "review": "findings raised by a periodic review",
}


@dataclass(frozen=True)
class BoundableMetric:
    """A metric a policy can bound: the sides (``min``/``max``) its check kind judges."""

    name: str
    label: str
    kind: str
    sides: tuple[str, ...]

    @property
    def choice_label(self) -> str:
        return f"{self.label} ({' or '.join(BOUND_WORDS[side] for side in self.sides)})"


def boundable_metrics() -> dict[str, BoundableMetric]:
    """Every metric a policy bound would bind, read from the metric catalogue: a bound is offered only
    when the check kind judges the threshold it sets (``roc_auc`` min, PSI max — never a PSI min)."""
    found = {}
    for kind in CHECK_KINDS:
        known = set(known_names(kind))
        for metric in catalogue.METRICS.values():
            sides = tuple(side for side in ("min", "max") if threshold_name(kind, metric.name, side) in known)
            if metric.check == kind and sides:
                found[metric.name] = BoundableMetric(metric.name, metric.label, kind, sides)
    return found


def metric_label(name: str | None) -> str:
    if not name:
        return ""
    metric = boundable_metrics().get(name)
    return metric.label if metric else catalogue.lookup(name).label or name


def _metric_choices() -> list:
    metrics = boundable_metrics().values()
    grouped = [
        (KIND_LABELS[kind], [(m.name, m.choice_label) for m in metrics if m.kind == kind])
        for kind in CHECK_KINDS
    ]
    return [("", "any passing run (no bound)"), *[(label, items) for label, items in grouped if items]]


def _evidence_choices() -> list[tuple[str, str]]:
    return [(kind.key, f"{kind.title} ({kind.key})") for kind in EvidenceType.objects.order_by("title")]


def whole(value: float | None) -> float | int | None:
    """``1.0`` as ``1``: bounds are stored as typed, so a policy reads ``"max": 0`` rather than ``0.0``."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# --- rows ------------------------------------------------------------------------------------------


class StageForm(forms.Form):
    """One approval stage: who signs (role and quorum) and what their signature means."""

    key = forms.SlugField(max_length=64, help_text="A short identifier, e.g. validation")
    title = forms.CharField(max_length=200)
    role = forms.ChoiceField(choices=BLANK + list(ROLE_LABELS.items()))
    quorum = forms.IntegerField(
        min_value=1, max_value=20, initial=1, label="Signers", help_text="distinct people"
    )
    meaning = forms.ChoiceField(choices=BLANK + [(value, value) for value in Meaning.values])
    due_days = forms.IntegerField(
        min_value=STAGE_DUE_DAYS_RANGE[0],
        max_value=STAGE_DUE_DAYS_RANGE[1],
        initial=DEFAULT_STAGE_DUE_DAYS,
        label="Due in (days)",
        help_text="after the stage opens",
    )

    def rule(self) -> dict[str, Any]:
        """The stage as the policy stores it; ``due_days`` only when it is not the default (a stage without
        one is due in the default number of days, so both read the same)."""
        data = self.cleaned_data
        rule = {name: data[name] for name in ("key", "title", "role", "quorum", "meaning")}
        if data.get("due_days") not in (None, DEFAULT_STAGE_DUE_DAYS):
            rule["due_days"] = data["due_days"]
        return rule


class RequiredCheckForm(forms.Form):
    """A check kind whose latest run must pass, optionally with a bound on one of its metrics."""

    kind = forms.ChoiceField(choices=BLANK + list(KIND_LABELS.items()), label="Check")
    metric = forms.ChoiceField(choices=_metric_choices, required=False)
    min = forms.FloatField(required=False, label="At least")
    max = forms.FloatField(required=False, label="At most")
    optional = forms.BooleanField(
        required=False,
        label="Only when run",
        help_text="The bound applies to every run of this check, but a version without a run is not held up.",
    )
    model_kinds = forms.ChoiceField(
        required=False,
        label="For",
        choices=[("", "Every model"), *ModelKind.choices],
        help_text="The LLM application track: an entry for one kind of model binds only that kind.",
    )

    def clean(self):
        data = super().clean()
        kind, name = data.get("kind"), data.get("metric")
        bounds = [side for side in ("min", "max") if data.get(side) is not None]
        metric = boundable_metrics().get(name) if name else None
        if bounds and not name:
            self.add_error("metric", "Choose the metric the bound applies to.")
        if metric is not None and kind and metric.kind != kind:
            self.add_error(
                "metric", f"{metric.label} is judged by a {KIND_LABELS[metric.kind].lower()} check."
            )
        elif metric is not None:
            if not bounds:
                self.add_error(None, f"Give {metric.label} a bound: {' or '.join(metric.sides)}.")
            for side in bounds:
                if side not in metric.sides:
                    other = BOUND_WORDS[metric.sides[0]]
                    self.add_error(side, f"A {metric.label} is only judged {other}.")
        return data

    def rule(self) -> dict[str, Any]:
        data = self.cleaned_data
        rule: dict[str, Any] = {"kind": data["kind"]}
        if data.get("metric"):
            rule["metric"] = data["metric"]
        for side in ("min", "max"):
            if data.get(side) is not None:
                rule[side] = whole(data[side])
        if data.get("optional"):
            rule["optional"] = True
        if data.get("model_kinds"):
            rule["model_kinds"] = [data["model_kinds"]]
        return rule

    def identity(self) -> tuple[str, str]:
        return self.cleaned_data.get("kind", ""), self.cleaned_data.get("metric", "")


class StageKeysField(forms.MultipleChoiceField):
    """Stage keys, offered from the stage rows. A key that is not (or no longer) a stage is kept so that
    the service names the environment whose list is wrong, rather than the box silently unticking."""

    def valid_value(self, value: str) -> bool:
        return bool(re.fullmatch(r"[-a-zA-Z0-9_]+", value))


class EnvironmentForm(forms.Form):
    """An environment an approval is needed for, and the stages that approval must pass."""

    name = forms.SlugField(max_length=64, label="Environment", help_text="e.g. staging, production")
    stages = StageKeysField(widget=forms.CheckboxSelectMultiple, label="Stages it needs")
    covers = forms.CharField(
        max_length=300,
        required=False,
        label="Its approval also covers",
        help_text="other gated environments, comma-separated (e.g. staging)",
    )

    def clean_covers(self) -> list[str]:
        return [name.strip() for name in self.cleaned_data.get("covers", "").split(",") if name.strip()]

    def __init__(self, *args, stage_keys: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        chosen = [key for key in (self.initial.get("stages") or []) if key not in stage_keys]
        self.fields["stages"].choices = [(key, key) for key in [*stage_keys, *chosen]]


class RowFormSet(forms.BaseFormSet):
    """A formset whose rows are read in the order the administrator gave (``ORDER``), blank rows skipped.

    ``noun`` names a row for screen readers: each input is labelled "Stage 2: Role", "New check: Metric".
    """

    noun = "Row"

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if self.can_order:
            form.fields["ORDER"].label = "Order"
            form.fields["ORDER"].widget.attrs.update(min=1, size=3)
        if self.can_delete:
            form.fields["DELETE"].label = "Remove"
        row = f"New {self.noun.lower()}" if index is None else f"{self.noun} {index + 1}"
        for name, field in form.fields.items():
            if not isinstance(field.widget, forms.CheckboxSelectMultiple):
                field.widget.attrs["aria-label"] = f"{row}: {field.label or pretty_name(name)}"

    def rows(self) -> list[forms.Form]:
        kept = self.initial_forms
        forms_ = self.ordered_forms if self.can_order else self.forms
        return [
            form
            for form in forms_
            if (form in kept or form.has_changed())
            and not (self.can_delete and self._should_delete_form(form))
        ]


class StagesFormSet(RowFormSet):
    noun = "Stage"


class CheckFormSet(RowFormSet):
    noun = "Check"

    def clean(self):
        if any(self.errors):
            return
        seen = set()
        for form in self.rows():
            if form.identity() in seen:
                form.add_error(None, "This check is listed twice; keep one row.")
            seen.add(form.identity())


class EnvironmentFormSet(RowFormSet):
    noun = "Environment"

    def clean(self):
        if any(self.errors):
            return
        seen = set()
        for form in self.rows():
            if form.cleaned_data["name"] in seen:
                form.add_error("name", "This environment is listed twice.")
            seen.add(form.cleaned_data["name"])


StageFormSet = forms.formset_factory(
    StageForm, formset=StagesFormSet, extra=1, can_delete=True, can_order=True
)
ChecksFormSet = forms.formset_factory(RequiredCheckForm, formset=CheckFormSet, extra=1, can_delete=True)
EnvironmentsFormSet = forms.formset_factory(
    EnvironmentForm, formset=EnvironmentFormSet, extra=1, can_delete=True
)


# --- the whole policy ------------------------------------------------------------------------------


class PolicyRulesForm(forms.Form):
    """The rules that are one value each."""

    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"size": 90}))
    required_evidence = forms.MultipleChoiceField(
        choices=_evidence_choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    segregation = forms.MultipleChoiceField(
        choices=[(party, SEGREGATION_LABELS.get(party, party)) for party in SEGREGATION_PARTIES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Who may never sign",
    )
    review_frequency_months = forms.IntegerField(
        min_value=1, max_value=60, label="Periodic review every (months)"
    )
    approval_valid_months = forms.IntegerField(min_value=1, max_value=60, label="Approvals last (months)")
    blocking_finding_severity = forms.ChoiceField(
        choices=Severity.choices, label="Open findings block approval and the gate from"
    )
    review_trigger_severity = forms.ChoiceField(
        choices=Severity.choices, label="A monitoring alert puts the model under review from"
    )
    evidence_change = forms.ChoiceField(
        choices=EvidenceChange.choices,
        widget=forms.RadioSelect,
        label="When material evidence arrives after an approval",
    )
    model_wide_findings = forms.MultipleChoiceField(
        choices=[(source, FINDING_SOURCE_LABELS.get(source, source)) for source in FINDING_SOURCES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Findings that block every version of the model",
        help_text="Any other finding blocks only the version it was raised on.",
    )
    red_team_required = forms.BooleanField(
        required=False,
        label="A red-team run is required",
        help_text="An LLM application's approval needs an imported garak or promptfoo report on the version "
        "(other models of the tier need none, but a run they have is held to the tolerance below).",
    )
    red_team_tolerance = forms.FloatField(
        min_value=0.0,
        max_value=1.0,
        initial=0.05,
        label="Attack success rate may worsen by at most",
        help_text="Per OWASP category, against the latest approved version (0-1, e.g. 0.05).",
    )
    judged_metric_minimums = forms.JSONField(
        required=False,
        initial=dict,
        label="Judged metrics required (lowest mean score)",
        help_text='A JSON object of metric name → lowest mean score (0-1), e.g. {"Faithfulness": 0.8}. An LLM '
        "application needs every metric named; another model is held to the minimums of the metrics it has.",
    )
    judge_kappa_minimum = forms.FloatField(
        required=False,
        min_value=-1.0,
        max_value=1.0,
        label="The judge agrees with people at least (Cohen's kappa)",
        help_text="Empty: no human-labelled sample is required.",
    )


def rules_of(policy: Policy) -> dict[str, Any]:
    return {name: getattr(policy, name) for name in RULE_FIELDS}


def _check_initial(check: dict) -> dict:
    """A stored entry as its row's initial data: ``model_kinds`` (a list) as the one kind the row offers."""
    kinds = check.get("model_kinds")
    return check | {"model_kinds": kinds[0]} if isinstance(kinds, list) and len(kinds) == 1 else check


def _stage_initial(stages: list) -> list[dict]:
    return [{**stage, "ORDER": index + 1} for index, stage in enumerate(stages) if isinstance(stage, dict)]


class PolicyEditor:
    """The scalar form and the three row formsets, bound or filled from a set of rules.

    ``rules()`` builds what the service validates; ``show_service_errors`` puts its errors back on the
    row and field they name, keeping the rules index → row mapping of the last ``rules()`` call.
    """

    PREFIXES = {"stages": "stage", "required_checks": "check", "gated_environments": "env"}

    def __init__(self, data=None, *, tier: int, rules: dict[str, Any] | None):
        self.tier = tier
        rules = rules or {}
        scalar_initial = {
            name: rules.get(name) for name in RULE_FIELDS if not isinstance(rules.get(name), list | dict)
        }
        scalar_initial.update(
            required_evidence=rules.get("required_evidence") or [],
            segregation=rules.get("segregation", list(SEGREGATION_PARTIES)),
            model_wide_findings=rules.get("model_wide_findings") or [],
            judged_metric_minimums=rules.get("judged_metric_minimums") or {},
        )
        self.scalar = PolicyRulesForm(data, initial=scalar_initial)
        self.stages = StageFormSet(data, initial=_stage_initial(rules.get("stages") or []), prefix="stage")
        self.checks = ChecksFormSet(
            data,
            initial=[
                _check_initial(check)
                for check in rules.get("required_checks") or []
                if isinstance(check, dict)
            ],
            prefix="check",
        )
        environments = rules.get("gated_environments") or {}
        promotions = rules.get("environment_promotions") or {}
        env_initial = [
            {"name": name, "stages": keys, "covers": ", ".join(promotions.get(name) or [])}
            for name, keys in environments.items()
        ]
        self.environments = EnvironmentsFormSet(
            data, initial=env_initial, prefix="env", form_kwargs={"stage_keys": self._stage_keys(data, rules)}
        )
        self.row_forms: dict[str, list[forms.Form]] = {}
        self.general_errors: list[str] = []

    def _stage_keys(self, data, rules: dict[str, Any]) -> list[str]:
        if data is None:
            return [stage.get("key") for stage in rules.get("stages") or [] if isinstance(stage, dict)]
        total = int(data.get("stage-TOTAL_FORMS") or 0)
        keys = [data.get(f"stage-{index}-key", "").strip() for index in range(min(total, 100))]
        return [key for key in dict.fromkeys(keys) if key]

    def is_valid(self) -> bool:
        parts = (self.scalar, self.stages, self.checks, self.environments)
        results = [part.is_valid() for part in parts]  # every part, so each shows its errors
        return all(results)

    def rules(self) -> dict[str, Any]:
        data = self.scalar.cleaned_data
        stages, checks, environments = self.stages.rows(), self.checks.rows(), self.environments.rows()
        self.row_forms = {"stages": stages, "required_checks": checks, "gated_environments": environments}
        rules = {name: data[name] for name in RULE_FIELDS if name in data}
        rules["judged_metric_minimums"] = data.get("judged_metric_minimums") or {}
        rules["stages"] = [form.rule() for form in stages]
        rules["required_checks"] = [form.rule() for form in checks]
        rules["gated_environments"] = {
            form.cleaned_data["name"]: form.cleaned_data["stages"] for form in environments
        }
        rules["environment_promotions"] = {
            form.cleaned_data["name"]: form.cleaned_data["covers"]
            for form in environments
            if form.cleaned_data["covers"]
        }
        return rules

    def show_service_errors(self, refusal: ValidationError) -> None:
        """Put each of the service's errors on the row and field its key names."""
        for key, messages in refusal.message_dict.items():
            for message in messages:
                self._place(key, message)

    def _place(self, key: str, message: str) -> None:
        row = re.fullmatch(r"(stages|required_checks)\[(\d+)\](?:\.(\w+))?", key)
        if row:
            field, index, attribute = row.group(1), int(row.group(2)), row.group(3)
            forms_ = self.row_forms.get(field, [])
            if index < len(forms_):
                target = forms_[index]
                target.add_error(attribute if attribute in target.fields else None, message)
                return
        environment = re.fullmatch(r"(gated_environments|environment_promotions)\.(.+)", key)
        if environment:
            target = "stages" if environment.group(1) == "gated_environments" else "covers"
            for form in self.row_forms.get("gated_environments", []):
                if form.cleaned_data.get("name") == environment.group(2):
                    form.add_error(target, message)
                    return
        formset = {
            "stages": self.stages,
            "required_checks": self.checks,
            "gated_environments": self.environments,
        }
        if key in formset:
            formset[key]._non_form_errors.append(message)
        elif key in self.scalar.fields:
            self.scalar.add_error(key, message)
        else:
            self.general_errors.append(f"{key}: {message}")
