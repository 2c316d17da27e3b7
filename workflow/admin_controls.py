"""The control catalogue in the admin console: what satisfies a control, edited with boxes, not JSON.

A control's ``satisfied_by`` lists criteria that must all hold for a model version
(``workflow.services.controls.control_status``): passing check kinds, evidence types, inventory fields,
four facts (an approval, a monitoring plan, a verified audit chain, training-data lineage), records of
an LLM application (``llm_evidence``) and the kinds of model the control applies to (``model_kinds``). An EU AI Act
Annex IV control (``{"annex_iv": "<n>"}``) follows the item statuses of its Annex IV section
(``workflow/annex_iv.py``), so that the control and the Annex IV document can never disagree: it is shown
here, not edited.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join

from accounts.admin_support import AuditedAdmin
from registry.models.inventory import ModelKind
from workflow.admin_policy_forms import KIND_LABELS
from workflow.annex_iv import ANNEX_IV
from workflow.models import Control, EvidenceType
from workflow.services.controls import INVENTORY_FIELDS, LLM_EVIDENCE
from workflow.services.policies import CHECK_KINDS

FLAGS = {
    "approval": "a completed approval of the version",
    "monitoring_plan": "a live monitoring plan for the version",
    "audit": "a successful audit-chain verification (the newest one)",
    "lineage": "the version's training data recorded in lineage",
}
LISTS = ("checks", "evidence", "inventory", "llm_evidence", "model_kinds")


def criteria_text(rule: dict[str, Any] | None) -> str:
    """``checks: fairness · evidence: risk_assessment · approval`` — what a control needs, in one line."""
    rule = rule or {}
    if rule.get("annex_iv"):
        return f"every item of EU AI Act Annex IV section {rule['annex_iv']}"
    parts = [f"{name}: {', '.join(rule[name])}" for name in LISTS if rule.get(name)]
    parts += [name.replace("_", " ") for name in FLAGS if rule.get(name)]
    return " · ".join(parts) or "nothing (always satisfied)"


class ControlForm(forms.ModelForm):
    """``satisfied_by`` as boxes; Annex IV controls keep theirs as it is."""

    checks = forms.MultipleChoiceField(
        choices=[(kind, KIND_LABELS[kind]) for kind in CHECK_KINDS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Passing checks",
        help_text="The latest validation run of each ticked kind passed or warned.",
    )
    evidence = forms.MultipleChoiceField(
        choices=lambda: [(t.key, f"{t.title} ({t.key})") for t in EvidenceType.objects.order_by("title")],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Evidence documents",
        help_text="A document of each ticked type is attached to the version.",
    )
    inventory = forms.MultipleChoiceField(
        choices=list(INVENTORY_FIELDS.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Inventory fields",
        help_text="Each ticked field of the model is filled in.",
    )
    llm_evidence = forms.MultipleChoiceField(
        choices=list(LLM_EVIDENCE.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="LLM application records",
        help_text="Each ticked record is part of the version's evidence.",
    )
    model_kinds = forms.MultipleChoiceField(
        choices=ModelKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Applies to",
        help_text="Only models of the ticked kinds are assessed against this control; none ticked: every model.",
    )
    approval = forms.BooleanField(required=False, label=f"Needs {FLAGS['approval']}")
    monitoring_plan = forms.BooleanField(required=False, label=f"Needs {FLAGS['monitoring_plan']}")
    audit = forms.BooleanField(required=False, label=f"Needs {FLAGS['audit']}")
    lineage = forms.BooleanField(required=False, label=f"Needs {FLAGS['lineage']}")

    class Meta:
        model = Control
        fields = ("framework", "key", "title", "description")
        widgets = {"title": forms.TextInput(attrs={"size": 80})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rule = (self.instance.satisfied_by if self.instance.pk else {}) or {}
        self.annex_iv = rule.get("annex_iv")
        for name in (*LISTS, *FLAGS):
            self.fields[name].initial = rule.get(name, [] if name in LISTS else False)
            if self.annex_iv:
                self.fields[name].disabled = True

    def clean(self):
        data = super().clean()
        if self.annex_iv:
            self.satisfied_by = self.instance.satisfied_by
            return data
        rule = {name: data[name] for name in LISTS if data.get(name)}
        rule.update({name: True for name in FLAGS if data.get(name)})
        if not set(rule) - {"model_kinds"}:
            raise ValidationError(
                "Tick at least one criterion: a control with none would be satisfied by every version."
            )
        self.satisfied_by = rule
        return data

    def save(self, commit=True):
        self.instance.satisfied_by = self.satisfied_by
        return super().save(commit)


class FrameworkFilter(admin.SimpleListFilter):
    """Frameworks by their short key (their titles are a line long)."""

    title = "framework"
    parameter_name = "framework"

    def lookups(self, request, model_admin):
        from workflow.models import Framework

        return [(framework.key, framework.key) for framework in Framework.objects.order_by("key")]

    def queryset(self, request, queryset):
        return queryset.filter(framework__key=self.value()) if self.value() else queryset


class ControlAdmin(AuditedAdmin):
    """Controls: key and title first so both stay on screen; criteria edited with boxes."""

    section = "rules"
    section_position = 2
    form = ControlForm
    list_display = ("key", "title", "framework_key", "criteria")
    list_display_links = ("key", "title")
    list_filter = (FrameworkFilter,)
    search_fields = ("key", "title", "description")
    list_select_related = ("framework",)
    ordering = ("framework__key", "key")
    readonly_fields = ("annex_iv_explanation",)

    @admin.display(description="framework", ordering="framework__key")
    def framework_key(self, control: Control) -> str:
        return control.framework.key

    @admin.display(description="satisfied by")
    def criteria(self, control: Control) -> str:
        return criteria_text(control.satisfied_by)

    def get_fieldsets(self, request, obj=None):
        about = (None, {"fields": ("framework", "key", "title", "description")})
        if obj is not None and (obj.satisfied_by or {}).get("annex_iv"):
            return [about, ("Satisfied by", {"fields": ("annex_iv_explanation",)})]
        criteria = (
            "Satisfied by",
            {
                "fields": (*LISTS, *FLAGS),
                "description": "Every ticked criterion must hold for a model version to satisfy the control.",
            },
        )
        return [about, criteria]

    @admin.display(description="Annex IV section")
    def annex_iv_explanation(self, control: Control) -> str:
        number = int((control.satisfied_by or {}).get("annex_iv") or 0)
        section = next((s for s in ANNEX_IV if s.number == number), None)
        if section is None:
            return "—"
        items = format_html_join(
            "", "<li>{} {}: {}</li>", ((i.number, i.label, i.requirement) for i in section.items)
        )
        return format_html(
            "<p>This control follows the item statuses of EU AI Act Annex IV section {} ({}), as the Annex IV "
            "document judges them (<code>workflow/annex_iv.py</code>), so the control and the document never "
            "disagree. It is satisfied when every item of the section is supplied; change what supplies an item "
            "there, not here.</p><ul>{}</ul>",
            section.number,
            section.title,
            items,
        )
