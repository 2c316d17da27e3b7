"""The page of one red-team run: attack success rate per OWASP category with its ATLAS techniques, the
rows read from the report, and the comparison with the latest approved version's run."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from accounts import access
from config.ui import add_refusal, page
from monitoring import redteam, selectors
from monitoring.api.redteam import MAX_REPORT_BYTES
from monitoring.models import RedTeamFormat
from monitoring.services.redteam import red_team_run_import, run_categories, run_sources
from registry import selectors as registry_selectors
from registry import ui_uploads
from registry.models import ModelVersion
from workflow.models import Policy
from workflow.services import red_team


@login_required
@require_GET
def red_team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(selectors.red_team_run_list(user=request.user), pk=pk)
    policy = Policy.objects.filter(tier=run.model_version.model.risk_tier, is_active=True).first()
    compared = red_team.comparison(run, policy)
    against = {row["id"]: row for row in compared["rows"]}
    categories = [
        category
        | {
            "atlas_named": [(technique, redteam.atlas_name(technique)) for technique in category["atlas"]],
            "compared": against.get(category["id"]),
        }
        for category in run_categories(run)
    ]
    context = {
        "run": run,
        "version": run.model_version,
        "categories": categories,
        "sources": run_sources(run),
        "baseline": compared["baseline"],
        "tolerance": compared["tolerance"],
        "regressed": [row for row in compared["rows"] if row["regressed"]],
    }
    return page(request, "governance/red_team/detail.html", context)


class RedTeamForm(forms.Form):
    format = forms.ChoiceField(choices=RedTeamFormat.choices, label="Tool", widget=forms.RadioSelect)
    report = forms.FileField(
        label="Report",
        help_text="garak: its report.jsonl. promptfoo: the JSON of `promptfoo eval -o results.json`.",
    )


def may_import(user, version: ModelVersion) -> bool:
    return access.can(user, "run_checks", version)


@csrf_exempt  # checked in ui_uploads.receive, once the hashing upload handlers are installed
@login_required
@require_http_methods(["GET", "POST"])
def red_team_new(request: HttpRequest, name: str, number: int) -> HttpResponse:
    model = registry_selectors.model_get(user=request.user, name=name)
    version = get_object_or_404(
        registry_selectors.version_list(user=request.user, model=model), version=number
    )
    if not may_import(request.user, version):
        raise PermissionDenied(
            "Only the model's ML engineers, its validators or an administrator import reports."
        )
    return ui_uploads.receive(
        request, lambda checked, refused: _import(checked, version, refused), max_bytes=MAX_REPORT_BYTES
    )


def _import(request: HttpRequest, version: ModelVersion, refused: str) -> HttpResponse:
    posted = request.method == "POST" and not refused
    form = RedTeamForm(request.POST if posted else None, request.FILES if posted else None)
    status = 413 if refused else 200
    if posted:
        status = 400
        upload = ui_uploads.received(request, "report")
        if form.is_valid() and ui_uploads.require(form, upload, "report"):
            try:
                run, created = red_team_run_import(
                    actor=request.user,
                    version=version,
                    report_format=form.cleaned_data["format"],
                    upload=upload,
                )
            except PermissionDenied as refusal:
                form.add_error(None, str(refusal))
                status = 403
            except ValidationError as refusal:
                add_refusal(form, refusal)
            else:
                if created:
                    messages.success(request, f"Imported red-team run #{run.pk} ({run.attempts} attempts).")
                else:
                    messages.info(
                        request, f"This report was already imported as run #{run.pk}: nothing was added."
                    )
                return ui_uploads.done(request, reverse("red-team-detail", args=[run.pk]))
    context = {
        "form": form,
        "refused": refused,
        "version": version,
        "model": version.model,
        "max_bytes": MAX_REPORT_BYTES,
    }
    return page(request, "governance/red_team/new.html", context, status=status)
