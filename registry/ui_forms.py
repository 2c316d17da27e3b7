"""Forms of the first-line pages: register and edit a model, upload a version, a dataset, a dataset version.

A form only turns what a person typed into the arguments of a registry service (text rows into lists and
objects, names into the objects the user may see); the services validate and raise ``ValidationError`` keyed
by field, which ``add_service_errors`` puts next to the matching input, so a page says what the API says.
Where a service's own validator is a pure function (the questionnaire, the favourable label, prohibited
features) the form calls it too, so every message shows in one round instead of after the first fix.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from accounts.models import Team, User
from config import strict_json
from registry import tiering
from registry.models import DatasetVersion, ModelVersion, RegisteredModel, TieringRule
from registry.models.datasets import DatasetRole
from registry.models.inventory import AutonomyLevel, EUAIActCategory, ModelKind, RiskTier
from registry.services import declarations
from registry.services.versions import VersionMetadata

TIER_PREFIX = "tier_"
DATASET_CHOICES_SHOWN = 100
PARENT_CHOICES_SHOWN = 50
TEXT_ROWS = 3

# The questionnaire's wording. The factors and their answers come from the tiering rule (registry.tiering);
# a factor added there without wording here is still asked, under its name.
QUESTIONS: dict[str, tuple[str, str]] = {
    "materiality": (
        "Materiality",
        "How large is the financial, customer or reputational impact when the model is wrong?",
    ),
    "complexity": (
        "Complexity",
        "How complex are the method, its data and its implementation?",
    ),
    "reliance": (
        "Reliance",
        "How far do decisions rest on the model's output without human judgement?",
    ),
    "regulatory_exposure": (
        "Regulatory exposure",
        "How exposed is the use to regulation (credit decisions, EU AI Act high-risk uses, …)?",
    ),
}


def question(factor: str) -> tuple[str, str]:
    return QUESTIONS.get(factor, (factor.replace("_", " ").capitalize(), ""))


# --- text the user types → values the services take ---------------------------------------------------


def parse_label(text: str) -> Any:
    """The API's rule for a label sent as text: JSON when it is JSON (``1`` the integer, ``"1"`` the
    text), plain text otherwise (``good``), nothing when empty."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return strict_json.loads(text)
    except ValueError:  # not JSON, or JSON holding what cannot be stored: the text as typed
        return text


def show_label(value: Any) -> str:
    """A declared label as the form shows it, so that saving it unchanged gives back the same value."""
    if value is None:
        return ""
    if isinstance(value, str) and parse_label(value) != value:
        return json.dumps(value)
    return str(value)


def parse_names(text: str) -> list[str]:
    """Names separated by commas or new lines."""
    return [name.strip() for chunk in (text or "").splitlines() for name in chunk.split(",") if name.strip()]


def parse_pairs(text: str, *, typed: bool) -> dict[str, Any]:
    """A JSON object, or ``key=value`` rows. ``typed`` reads each value as JSON when it is JSON (``C=1.0``
    is a number, ``solver=lbfgs`` a text); otherwise every value is text (tags)."""
    text = (text or "").strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            value = strict_json.loads(text)
        except strict_json.UnsafeJSON as exc:
            raise ValidationError(str(exc)) from None
        except ValueError as exc:
            raise ValidationError(f"This is not valid JSON: {exc}.") from None
        if not isinstance(value, dict):
            raise ValidationError("Expected a JSON object.")
        return value
    pairs: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, equals, raw = line.partition("=")
        key = key.strip()
        if not equals or not key:
            raise ValidationError(f"Line {number}: write key=value (or a JSON object).")
        if key in pairs:
            raise ValidationError(f"Line {number} repeats the key {key!r}.")
        raw = raw.strip()
        pairs[key] = parse_label(raw) if typed and raw else raw
    return pairs


def show_pairs(values: dict[str, Any]) -> str:
    return "\n".join(f"{key}={value}" for key, value in values.items())


def parse_object(text: str) -> dict[str, Any]:
    text = (text or "").strip()
    if not text:
        return {}
    try:
        value = strict_json.loads(text)
    except strict_json.UnsafeJSON as exc:
        raise ValidationError(str(exc)) from None
    except ValueError as exc:
        raise ValidationError(f"This is not valid JSON: {exc}.") from None
    if not isinstance(value, dict):
        raise ValidationError("Expected a JSON object.")
    return value


# --- errors from the services -------------------------------------------------------------------------


def add_service_errors(
    form: forms.Form, error: ValidationError, aliases: dict[str, str] | None = None
) -> None:
    """Put each of the service's errors next to its field (unknown keys go above the form)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    aliases = aliases or {}
    for key, messages in error.message_dict.items():
        name = aliases.get(key, key)
        if name in form.fields:
            form.add_error(name, messages)
        elif key == "__all__":
            form.add_error(None, messages)
        else:
            readable = key.replace("_", " ").replace(".", " ")
            form.add_error(None, [f"{readable.capitalize()}: {message}" for message in messages])


QUESTIONNAIRE_ERRORS = {f"tier_answers.{factor}": TIER_PREFIX + factor for factor in tiering.FACTORS}


# --- the tier the answers give -------------------------------------------------------------------------


@dataclass(frozen=True)
class TierPreview:
    """What the tiering rule makes of a (possibly incomplete) questionnaire."""

    rule_version: int | None
    answered: int
    tier: int | None = None
    score: float | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    floors: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.tier is not None

    @property
    def factors(self) -> int:
        return len(tiering.FACTORS)

    @property
    def label(self) -> str:
        return RiskTier(self.tier).label if self.tier is not None else ""


def tier_preview(answers: dict[str, Any], rule: TieringRule | None) -> TierPreview:
    """The tier under ``rule`` (the built-in default when no rule is recorded yet, as the service does)."""
    facts = (
        {"weights": rule.weights, "thresholds": rule.thresholds, "floors": rule.floors}
        if rule is not None
        else tiering.DEFAULT_RULE
    )
    version = rule.version if rule is not None else None
    answered = sum(1 for factor in tiering.FACTORS if answers.get(factor) in tiering.LEVELS)
    try:
        clean = tiering.validate_answers(answers)
    except tiering.TieringError:
        return TierPreview(rule_version=version, answered=answered)
    total = tiering.score(clean, facts["weights"])
    tier = tiering.compute_tier(clean, facts)
    by_score = tiering.compute_tier(clean, {**facts, "floors": {}})
    floors = [
        f"{clean[factor]} {question(factor)[0].lower()}: at least tier {floor}"
        for factor, by_answer in (facts.get("floors") or {}).items()
        if (floor := by_answer.get(clean[factor])) is not None and floor < by_score
    ]
    return TierPreview(
        rule_version=version,
        answered=answered,
        tier=tier,
        score=total,
        thresholds=dict(facts["thresholds"]),
        floors=floors,
    )


# --- inventory ------------------------------------------------------------------------------------------


class Form(forms.Form):
    """A page's form, laid out in ``fieldsets``. Browsers send text areas with CRLF line ends; stored text
    keeps LF, as API clients send it, so an untouched text is not a change."""

    fieldsets: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def grouped(self) -> list[tuple[str, list[forms.BoundField], bool]]:
        """(legend, fields, compact): a group of one-line inputs only is laid out two to a row."""
        groups = []
        for legend, names in self.fieldsets:
            fields = [self[name] for name in names]
            compact = all(field.widget_type in ("text", "url") for field in fields)
            groups.append((legend, fields, compact))
        return groups

    def _post_clean(self) -> None:
        for name, value in self.cleaned_data.items():
            if isinstance(value, str):
                self.cleaned_data[name] = _lines(value)
        super()._post_clean()


def _text(label: str, help_text: str = "", *, max_length: int | None = None) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text,
        required=False,
        max_length=max_length,
        widget=forms.Textarea(attrs={"rows": TEXT_ROWS}),
    )


class InventoryForm(Form):
    """The first-line inventory fields and the tiering questionnaire, shared by register and edit.

    Not here, on purpose: the lifecycle status, the risk tier and its override, review dates and validity,
    the review frequency (the second line sets what the gate and the review calendar read).
    """

    title = forms.CharField(max_length=200, label="Title")
    description = _text("Description")
    purpose = _text("Purpose", "What the model is for (SR 11-7; EU AI Act Annex IV 1(a)).")
    intended_use = _text("Intended use", "Who uses its output, for which decisions.")
    out_of_scope_use = _text("Out-of-scope use", "Uses it must not be put to.")
    limitations = _text("Limitations", "Known weaknesses and where it was not validated.")
    business_line = forms.CharField(max_length=200, required=False, label="Business line")
    deployment_context = _text("Deployment context", "Where and how it runs; what it interacts with.")
    affected_persons = _text("Affected persons", "Whom its decisions affect.")
    kind = forms.ChoiceField(
        choices=ModelKind.choices,
        initial=ModelKind.ML_MODEL,
        required=False,
        label="Kind",
        help_text="An LLM application's versions are bundles (foundation model, prompts, corpus, tools, "
        "guardrails) registered through the API; fixed once the model has a version.",
    )
    intended_users = _text("Intended users", "Who uses the system (staff, customers), with what training.")
    human_oversight = _text(
        "Human oversight", "How people oversee it and can intervene or override (EU AI Act Art. 14)."
    )
    autonomy_level = forms.ChoiceField(choices=AutonomyLevel.choices, required=False, label="Autonomy level")
    eu_ai_act_category = forms.ChoiceField(
        choices=EUAIActCategory.choices, initial=EUAIActCategory.NOT_ASSESSED, label="EU AI Act category"
    )
    is_third_party = forms.BooleanField(required=False, label="Supplied by a third party (a vendor model)")
    vendor = forms.CharField(max_length=200, required=False, label="Vendor")
    favourable_label = forms.CharField(
        required=False,
        label="Favourable outcome (label)",
        help_text="The target value that is good for the person (credit granted: good); checks use it when "
        'the dataset declares none. A number (1) is read as a number; in quotes ("1") as text. Empty: none.',
    )
    prohibited_features = _text(
        "Prohibited features",
        "Feature names the model must not rely on, separated by commas or new lines (the explainability "
        "check reads them).",
    )
    tags = _text("Tags", "One key=value per line (MLflow-style tags).")
    upstream_models = forms.CharField(
        required=False,
        label="Upstream models",
        help_text="Names of models whose output this model uses, separated by commas.",
    )

    questionnaire_after = "Classification"
    fieldsets = (
        ("What the model is", ("title", "description", "purpose", "intended_use", "out_of_scope_use")),
        ("Limits and context", ("limitations", "business_line", "deployment_context", "affected_persons")),
        ("AI system", ("kind", "intended_users", "human_oversight", "autonomy_level")),
        ("Classification", ("eu_ai_act_category", "is_third_party", "vendor")),
        ("For checks", ("favourable_label", "prohibited_features")),
        ("Tags and dependencies", ("tags", "upstream_models")),
    )

    def __init__(self, data=None, *, visible_models: QuerySet[RegisteredModel], **kwargs):
        super().__init__(data, **kwargs)
        self.visible_models = visible_models
        for factor in tiering.FACTORS:
            label, help_text = question(factor)
            self.fields[TIER_PREFIX + factor] = forms.ChoiceField(
                choices=[(level, level.capitalize()) for level in tiering.LEVELS],
                required=False,
                label=label,
                help_text=help_text,
                widget=forms.RadioSelect,
            )

    @property
    def questionnaire(self) -> list[forms.BoundField]:
        return [self[TIER_PREFIX + factor] for factor in tiering.FACTORS]

    def answers(self) -> dict[str, str | None]:
        """The answers as typed: from the data when the form was posted, else its initial values."""
        if self.is_bound:
            source = self.data
        else:
            source = {name: self.get_initial_for_field(self.fields[name], name) for name in self.fields}
        return {factor: source.get(TIER_PREFIX + factor) or None for factor in tiering.FACTORS}

    def clean_kind(self) -> str:
        return self.cleaned_data["kind"] or self.default_kind()

    def default_kind(self) -> str:
        return ModelKind.ML_MODEL

    def clean_favourable_label(self) -> Any:
        return _declared(declarations.favourable_label, parse_label(self.cleaned_data["favourable_label"]))

    def clean_prohibited_features(self) -> list[str]:
        return _declared(
            declarations.prohibited_features, parse_names(self.cleaned_data["prohibited_features"])
        )

    def clean_tags(self) -> dict[str, str]:
        return parse_pairs(self.cleaned_data["tags"], typed=False)

    def clean_upstream_models(self) -> list[RegisteredModel]:
        names = list(dict.fromkeys(parse_names(self.cleaned_data["upstream_models"])))
        found = {model.name: model for model in self.visible_models.filter(name__in=names)}
        missing = [name for name in names if name not in found]
        if missing:  # the API's message: a model the user cannot see does not exist for them
            raise ValidationError(f"Unknown model {missing[0]!r}.")
        return [found[name] for name in names]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        try:
            answers = {factor: cleaned.get(TIER_PREFIX + factor) or None for factor in tiering.FACTORS}
            cleaned["tier_answers"] = tiering.validate_answers(answers)
        except tiering.TieringError as exc:
            self.add_error(QUESTIONNAIRE_ERRORS.get(exc.field), exc.message)
        return cleaned

    def inventory_fields(self) -> dict[str, Any]:
        """The service's keyword arguments for the inventory fields and the questionnaire."""
        data = self.cleaned_data
        names = [name for _legend, names in InventoryForm.fieldsets for name in names]
        fields = {name: data[name] for name in names if name != "upstream_models"}
        return {**fields, "tier_answers": data["tier_answers"]}

    def add_service_errors(self, error: ValidationError) -> None:
        add_service_errors(self, error, QUESTIONNAIRE_ERRORS)


def _declared(check, value):
    """Run one of ``registry.services.declarations``' checks and show its message on the field."""
    try:
        return check(value)
    except ValidationError as exc:
        raise ValidationError(next(iter(exc.message_dict.values()))) from None


class ModelRegisterForm(InventoryForm):
    """Register a model: its name and owning team, then the inventory fields."""

    name = forms.SlugField(
        max_length=100,
        label="Name",
        help_text="Letters, digits, hyphens and underscores: the model's key in URLs, the API and CI. "
        "It cannot be changed later.",
    )
    team = forms.ModelChoiceField(queryset=Team.objects.none(), to_field_name="name", label="Owning team")

    fieldsets = (("Identity", ("name", "team")), *InventoryForm.fieldsets)

    def __init__(self, data=None, *, teams: QuerySet[Team], **kwargs):
        super().__init__(data, **kwargs)
        self.fields["team"].queryset = teams
        if len(teams) == 1:
            self.fields["team"].empty_label = None

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "team": data["team"],
            "name": data["name"],
            "upstream": data["upstream_models"],
            **self.inventory_fields(),
        }


class OwnerChoiceField(forms.ModelChoiceField):
    def __init__(self, *args, current: User, team: Team, **kwargs):
        super().__init__(*args, **kwargs)
        self.current = current
        self.team = team

    def label_from_instance(self, obj: User) -> str:
        name = obj.get_full_name()
        label = f"{name} ({obj.username})" if name else obj.username
        if obj.pk == self.current.pk and not obj.groups.filter(pk=self.team.group_id).exists():
            label += f" — current owner, not a member of {self.team.name}"
        return label


EDIT_TEXT_FIELDS = (
    "title",
    "description",
    "purpose",
    "intended_use",
    "out_of_scope_use",
    "limitations",
    "business_line",
    "deployment_context",
    "affected_persons",
    "vendor",
    "intended_users",
    "human_oversight",
)


class ModelEditForm(InventoryForm):
    """Edit the first-line inventory fields of ``model``; the owner is chosen among the owning team."""

    owner = forms.ModelChoiceField(queryset=User.objects.none(), to_field_name="username", label="Owner")

    fieldsets = (("Accountability", ("owner",)), *InventoryForm.fieldsets)

    def __init__(self, data=None, *, model: RegisteredModel, upstream: list[str], **kwargs):
        self.model = model
        self.current_upstream = sorted(upstream)
        initial = {
            name: getattr(model, name)
            for name in (*EDIT_TEXT_FIELDS, "eu_ai_act_category", "kind", "autonomy_level")
        }
        initial.update(
            is_third_party=model.is_third_party,
            favourable_label=show_label(model.favourable_label),
            prohibited_features=", ".join(model.prohibited_features),
            tags=show_pairs(model.tags),
            upstream_models=", ".join(self.current_upstream),
            owner=model.owner.username,
            **{TIER_PREFIX + factor: model.tier_answers.get(factor) for factor in tiering.FACTORS},
        )
        super().__init__(data, initial=initial, **kwargs)
        members = Q(groups=model.team.group_id, is_active=True)
        self.fields["owner"] = OwnerChoiceField(
            queryset=User.objects.filter(members | Q(pk=model.owner_id)).distinct().order_by("username"),
            to_field_name="username",
            label="Owner",
            help_text=f"The accountable person: a member of {model.team.name}.",
            current=model.owner,
            team=model.team,
        )

    def default_kind(self) -> str:
        return self.model.kind  # a form posted without the field keeps the kind

    def changes(self) -> tuple[dict[str, Any], list[RegisteredModel] | None]:
        """Only what changed (so an untouched questionnaire is not re-tiered under a newer rule), and the
        new upstream models when they changed (else None)."""
        model, data = self.model, self.cleaned_data
        wanted = {**self.inventory_fields(), "owner": data["owner"]}
        changed = {name: value for name, value in wanted.items() if not _same(getattr(model, name), value)}
        upstream = data["upstream_models"]
        new_names = sorted(m.name for m in upstream)
        return changed, (upstream if new_names != self.current_upstream else None)

    def removals(self) -> list[str]:
        """What the edit takes away, for the confirmation step: nothing is removed without a second look."""
        model, data = self.model, self.cleaned_data
        removed = []
        if data["owner"].pk != model.owner_id:
            removed.append(f"Hand ownership from {model.owner.username} to {data['owner'].username}.")
        for name in EDIT_TEXT_FIELDS:
            if getattr(model, name) and not data[name].strip():
                removed.append(f"Clear {self.fields[name].label.lower()}.")
        if model.autonomy_level and not data["autonomy_level"]:
            removed.append("Clear the autonomy level.")
        if model.favourable_label is not None and not _same(model.favourable_label, data["favourable_label"]):
            removed.append(
                f"Change the favourable outcome from {show_label(model.favourable_label)} to "
                f"{show_label(data['favourable_label']) or 'none'}."
            )
        removed += [
            f"Stop prohibiting the feature {name!r}."
            for name in model.prohibited_features
            if name not in data["prohibited_features"]
        ]
        removed += [f"Remove the tag {key!r}." for key in model.tags if key not in data["tags"]]
        kept = {m.name for m in data["upstream_models"]}
        removed += [
            f"Remove the upstream dependency on {name}." for name in self.current_upstream if name not in kept
        ]
        return removed


def _same(old: Any, new: Any) -> bool:
    """Equal and of the same type (a label 1 is not the label "1"); texts equal up to the whitespace
    around them and line endings (browsers send CRLF, the form strips what it receives)."""
    if isinstance(old, User) or isinstance(new, User):
        return getattr(old, "pk", None) == getattr(new, "pk", None)
    if isinstance(old, str) and isinstance(new, str):
        return _lines(old).strip() == _lines(new).strip()
    return type(old) is type(new) and old == new


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n")


def confirmation_key(removals: Iterable[str]) -> str:
    """Names the exact set of removals a person confirmed; a different edit needs a new confirmation."""
    return hashlib.sha256("\n".join(sorted(removals)).encode()).hexdigest()[:16]


# --- versions -------------------------------------------------------------------------------------------


def dataset_label(version: DatasetVersion) -> str:
    rows = f" · {version.row_count:,} rows" if version.row_count is not None else ""
    return (
        f"{version.dataset.name} v{version.version} · {version.get_role_display()}{rows} · "
        f"{version.created_at:%Y-%m-%d}"
    )


class DatasetVersionsField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj: DatasetVersion) -> str:
        return dataset_label(obj)


class ParentField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ModelVersion) -> str:
        return f"v{obj.version} · {obj.artifact_filename} · {obj.created_at:%Y-%m-%d}"


SHA256_FIELD = {
    "regex": r"^[0-9a-fA-F]{64}$",
    "required": False,
    "label": "Expected SHA-256 (optional)",
    "help_text": "When given, the upload is refused unless the bytes received have this digest.",
}


class VersionUploadForm(Form):
    """An artifact and what the API accepts about it (MLflow's model-version fields and more)."""

    artifact = forms.FileField(
        label="Artifact",
        allow_empty_file=True,  # the service says why an empty file is refused, as the API does
        help_text="ONNX, skops, XGBoost JSON, LightGBM text; pickle/joblib is stored but never loaded.",
    )
    sha256 = forms.RegexField(**SHA256_FIELD)
    description = _text("Description", max_length=10000)
    framework = forms.CharField(required=False, max_length=100, label="Framework", help_text="e.g. sklearn")
    framework_version = forms.CharField(required=False, max_length=50, label="Framework version")
    source_repository = forms.CharField(required=False, max_length=500, label="Source repository")
    source_commit = forms.CharField(required=False, max_length=64, label="Source commit")
    source = forms.CharField(
        required=False, max_length=1000, label="Source", help_text="Where the artifact came from (a URI)."
    )
    run_id = forms.CharField(
        required=False, max_length=200, label="Training run id", help_text="MLflow run id."
    )
    run_link = forms.URLField(
        required=False, max_length=1000, label="Training run link", assume_scheme="https"
    )
    tags = _text("Tags", "One key=value per line.")
    parameters = _text("Parameters", "One key=value per line (C=1.0 is a number), or a JSON object.")
    metrics = _text("Metrics", "One key=value per line (auc=0.81), or a JSON object.")
    signature = _text(
        "Signature",
        'Inputs and outputs as a JSON object, e.g. {"inputs": [{"name": "age", "type": "double"}]}.',
    )
    training_datasets = DatasetVersionsField(
        queryset=DatasetVersion.objects.none(), required=False, label="Trained on"
    )
    validation_datasets = DatasetVersionsField(
        queryset=DatasetVersion.objects.none(), required=False, label="Validated on"
    )
    parent = ParentField(
        queryset=ModelVersion.objects.none(), required=False, label="Parent version", empty_label="(none)"
    )

    fieldsets = (
        ("Version", ("artifact", "sha256", "description")),
        ("Code", ("source_repository", "source_commit", "framework", "framework_version", "source")),
        ("Training run", ("run_id", "run_link")),
        ("Parameters, metrics, signature", ("parameters", "metrics", "signature", "tags")),
        ("Lineage", ("training_datasets", "validation_datasets", "parent")),
    )

    def __init__(
        self, data=None, files=None, *, datasets: QuerySet[DatasetVersion], versions: QuerySet[ModelVersion]
    ):
        super().__init__(data, files)
        for name in ("training_datasets", "validation_datasets"):
            self.fields[name].queryset = datasets
            self.fields[name].choices = _shown_datasets(datasets, data.getlist(name) if data else [])
        self.fields["parent"].queryset = versions
        self.fields["parent"].choices = [
            ("", "(none)"),
            *((v.pk, self.fields["parent"].label_from_instance(v)) for v in versions[:PARENT_CHOICES_SHOWN]),
        ]

    def clean_tags(self) -> dict[str, str]:
        return parse_pairs(self.cleaned_data["tags"], typed=False)

    def clean_parameters(self) -> dict[str, Any]:
        return parse_pairs(self.cleaned_data["parameters"], typed=True)

    def clean_metrics(self) -> dict[str, Any]:
        return parse_pairs(self.cleaned_data["metrics"], typed=True)

    def clean_signature(self) -> dict[str, Any]:
        return parse_object(self.cleaned_data["signature"])

    def metadata(self) -> VersionMetadata:
        data = self.cleaned_data
        scalars = ("description", "source", "run_id", "run_link", "framework", "framework_version")
        scalars += ("source_repository", "source_commit", "tags", "parameters", "metrics", "signature")
        return VersionMetadata(
            **{name: data[name] for name in scalars},
            training_datasets=list(data["training_datasets"]),
            validation_datasets=list(data["validation_datasets"]),
            parent=data["parent"],
        )


def _shown_datasets(datasets: QuerySet[DatasetVersion], chosen: list[str]) -> list[tuple[int, str]]:
    """The newest dataset versions, plus any already chosen (validation uses the whole scoped queryset)."""
    shown = list(datasets.order_by("-created_at", "-id")[:DATASET_CHOICES_SHOWN])
    ids = {str(version.pk) for version in shown}
    extra = [pk for pk in chosen if pk.isdigit() and pk not in ids]
    if extra:
        shown += list(datasets.filter(pk__in=extra))
    return [(version.pk, dataset_label(version)) for version in shown]


# --- datasets -------------------------------------------------------------------------------------------


class DatasetCreateForm(Form):
    name = forms.SlugField(
        max_length=100, label="Name", help_text="The dataset's key in URLs, the API and CI; it cannot change."
    )
    team = forms.ModelChoiceField(queryset=Team.objects.none(), to_field_name="name", label="Owning team")
    title = forms.CharField(max_length=200, required=False, label="Title")
    description = _text("Description")

    def __init__(self, data=None, *, teams: QuerySet[Team]):
        super().__init__(data)
        self.fields["team"].queryset = teams
        if len(teams) == 1:
            self.fields["team"].empty_label = None


class DatasetVersionForm(Form):
    """A CSV or Parquet file and what it declares (checks read the declarations)."""

    file = forms.FileField(
        label="File", allow_empty_file=True, help_text="CSV (UTF-8, with a header row) or Parquet."
    )
    role = forms.ChoiceField(
        choices=DatasetRole.choices, initial=DatasetRole.OTHER, required=False, label="Role"
    )
    target_column = forms.CharField(
        required=False, max_length=200, label="Target column", help_text="The true outcome."
    )
    prediction_column = forms.CharField(
        required=False, max_length=200, label="Prediction column", help_text="The model's output, if present."
    )
    sensitive_columns = forms.CharField(
        required=False,
        max_length=10000,
        label="Sensitive columns",
        help_text="Protected attributes for fairness checks (e.g. sex, age), separated by commas.",
    )
    favourable_label = forms.CharField(
        required=False,
        label="Favourable outcome (label)",
        help_text="The target column's value that is good for the person (credit granted: good). A number "
        '(1) is read as a number; in quotes ("1") as text.',
    )
    description = _text("Description")
    sha256 = forms.RegexField(**SHA256_FIELD)

    def clean_sensitive_columns(self) -> list[str]:
        return parse_names(self.cleaned_data["sensitive_columns"])

    def clean_favourable_label(self) -> Any:
        return _declared(declarations.favourable_label, parse_label(self.cleaned_data["favourable_label"]))

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        names = ("role", "target_column", "prediction_column", "sensitive_columns", "favourable_label")
        return {
            **{name: data[name] for name in names},
            "role": data["role"] or DatasetRole.OTHER,  # the API's default
            "description": data["description"],
            "declared_sha256": data["sha256"],
        }
