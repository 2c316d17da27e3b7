"""The forms of the reports page: what a person types, turned into a service call's arguments.

Times are entered in UTC (the whole UI shows UTC); the services validate the subject and the period
again and their refusals are shown on the form.
"""

from __future__ import annotations

from django import forms

from reports import kinds
from reports.models import Variant

UTC_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local", "step": 1}, format="%Y-%m-%dT%H:%M:%S")


def _period_field(label: str) -> forms.DateTimeField:
    return forms.DateTimeField(label=label, required=False, widget=UTC_INPUT)


class SubjectForm(forms.Form):
    """A model (and version) and/or a period, as the reports and bundles services take them."""

    model = forms.SlugField(label="Model name", max_length=100, required=False)
    version = forms.IntegerField(label="Version", min_value=1, required=False)
    period_start = _period_field("Period start (UTC)")
    period_end = _period_field("Period end (UTC)")


class ReportForm(SubjectForm):
    """Prefixed, so its ids do not clash with the filter form's on the same page."""

    prefix = "report"
    kind = forms.ChoiceField(label="Report", choices=kinds.choices)
    variant = forms.ChoiceField(label="Format", choices=Variant.choices, initial=Variant.STANDARD)
    field_order = ["kind", "model", "version", "period_start", "period_end", "variant"]


class BundleForm(SubjectForm):
    """A bundle is for a model version, or for a period."""

    prefix = "bundle"
