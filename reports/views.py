"""The reports page: list and filter reports and bundles, generate one and watch it finish, download.

Everything reads through the selectors (an invisible report or bundle is a 404) and writes through the
services, which check permissions again. Generating answers htmx with a status panel that polls its own
progress (HTTP 286 stops the polling once the job has finished) and plain form posts with a redirect to
the job's page, which polls the same way.
"""

from __future__ import annotations

import django_filters
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from accounts import access
from config.ui import add_refusal, page, paginate
from registry import selectors as registry_selectors
from reports import kinds, selectors
from reports.api.common import progress_of, subject_of
from reports.api.reports import ReportFilter, download_name
from reports.forms import BundleForm, ReportForm
from reports.models import EvidenceBundle, JobStatus, Report
from reports.services import bundles as bundle_services
from reports.services import reports as report_services
from reports.services import validation_documents as validation_document_services

REPORT_SORTS = {"created": "created_at", "finished": "finished_at"}
FILTERS_SHOWN = ("model", "kind", "status")
BUNDLES_SHOWN = 10
POLL_SECONDS = 1


class ReportListFilter(ReportFilter):
    """The API's report filters with page labels."""

    model = django_filters.CharFilter(field_name="model__name", label="Model name")
    kind = django_filters.ChoiceFilter(choices=kinds.choices, label="Report", empty_label="Any report")
    status = django_filters.ChoiceFilter(choices=JobStatus.choices, label="Status", empty_label="Any status")


@login_required
@require_GET
def report_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    reports = ReportListFilter(request.GET or None, queryset=selectors.report_list(user=user))
    listing = paginate(request, reports.qs, sorts=REPORT_SORTS, default_sort="-created")
    may_audit = access.may(user, "audit")
    bundles = selectors.bundle_list(user=user)
    if request.GET.get("model"):
        bundles = bundles.filter(model__name=request.GET["model"])
    initial = {"model": request.GET.get("model", "")}
    context = {
        "filter_fields": [reports.form[name] for name in FILTERS_SHOWN],
        "filtered": any(request.GET.get(name) for name in FILTERS_SHOWN),
        "listing": listing,
        "report_form": ReportForm(initial=initial),
        "bundle_form": BundleForm(initial=initial) if may_audit else None,
        "bundles": list(bundles[:BUNDLES_SHOWN]) if may_audit else [],
    }
    return page(request, "reports/list.html", context)


# ---------------------------------------------------------------------------------------------- create


@login_required
@require_POST
def report_new(request: HttpRequest) -> HttpResponse:
    """Request a report; htmx gets the polling status panel, a plain post the report's page."""
    form = ReportForm(request.POST)
    subject = _subject(request, form)
    report = None
    if subject is not None:
        data = form.cleaned_data
        report = _submit(
            form,
            report_services.report_request,
            actor=request.user,
            kind=data["kind"],
            model=subject[0],
            version=subject[1],
            period_start=data.get("period_start"),
            period_end=data.get("period_end"),
            variant=data["variant"],
        )
    if report is None:
        return _form_errors(request, form)
    if not request.htmx:
        return redirect("report-detail", pk=report.pk)
    return page(request, "reports/_report_panel.html", _report_context(report))


@login_required
@require_POST
def bundle_new(request: HttpRequest) -> HttpResponse:
    """Request an evidence bundle (auditors, risk officers, administrators); as ``report_new``."""
    form = BundleForm(request.POST)
    subject = _subject(request, form)
    bundle = None
    if subject is not None:
        data = form.cleaned_data
        bundle = _submit(
            form,
            bundle_services.bundle_request,
            actor=request.user,
            version=subject[1],
            period_start=data.get("period_start"),
            period_end=data.get("period_end"),
        )
    if bundle is None:
        return _form_errors(request, form)
    if not request.htmx:
        return redirect("bundle-detail", pk=bundle.pk)
    return page(request, "reports/_bundle_panel.html", _bundle_context(bundle))


def _subject(request: HttpRequest, form) -> tuple | None:
    """(model, version) named by a valid form, within the user's scope; None with the error on the form."""
    if not form.is_valid():
        return None
    try:
        return subject_of(request.user, form.cleaned_data.get("model"), form.cleaned_data.get("version"))
    except Http404:
        form.add_error("model", "No such model or version that you can see.")
    except ValidationError as refusal:
        add_refusal(form, refusal)
    return None


def _submit(form, service, **arguments):
    """Call the service; None with its refusal on the form (PermissionDenied passes through: 403)."""
    try:
        return service(**arguments)
    except ValidationError as refusal:
        add_refusal(form, refusal)
    return None


def _form_errors(request: HttpRequest, form) -> HttpResponse:
    if request.htmx:
        return page(request, "reports/_form_errors.html", {"form": form})
    return page(request, "reports/form_errors.html", {"form": form}, status=400)


# ---------------------------------------------------------------------------------------------- reports


def _report(request: HttpRequest, pk: int) -> Report:
    return get_object_or_404(selectors.report_list(user=request.user), pk=pk)


def _report_context(report: Report) -> dict:
    return {"report": report, "progress": progress_of(report), "poll_seconds": POLL_SECONDS}


@login_required
@require_GET
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return page(request, "reports/detail.html", _report_context(_report(request, pk)))


@login_required
@require_GET
def report_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The polled panel; 286 (stop polling) with the final panel once the report has finished."""
    report = _report(request, pk)
    html = render_to_string("reports/_report_panel.html", _report_context(report), request=request)
    return HttpResponseStopPolling(html) if report.is_finished else HttpResponse(html)


@login_required
@require_GET
def report_download(request: HttpRequest, pk: int) -> FileResponse:
    report = _report(request, pk)
    blob = report_services.report_download(actor=request.user, report=report)
    return FileResponse(
        blob, as_attachment=True, filename=download_name(report), content_type="application/pdf"
    )


@login_required
@require_GET
def validation_document_docx(request: HttpRequest, name: str, number: int) -> HttpResponse:
    """The version's validation document as a Word file (the same content as the PDF report's section)."""
    model = registry_selectors.model_get(user=request.user, name=name)
    version = get_object_or_404(
        registry_selectors.version_list(user=request.user, model=model), version=number
    )
    data, filename = validation_document_services.validation_document_docx(
        actor=request.user, version=version
    )
    response = HttpResponse(data, content_type=validation_document_services.DOCX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# ---------------------------------------------------------------------------------------------- bundles


def _bundle(request: HttpRequest, pk: int) -> EvidenceBundle:
    return get_object_or_404(selectors.bundle_list(user=request.user), pk=pk)


def _bundle_context(bundle: EvidenceBundle) -> dict:
    return {"bundle": bundle, "progress": progress_of(bundle), "poll_seconds": POLL_SECONDS}


@login_required
@require_GET
def bundle_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return page(request, "reports/bundle_detail.html", _bundle_context(_bundle(request, pk)))


@login_required
@require_GET
def bundle_progress(request: HttpRequest, pk: int) -> HttpResponse:
    bundle = _bundle(request, pk)
    html = render_to_string("reports/_bundle_panel.html", _bundle_context(bundle), request=request)
    return HttpResponseStopPolling(html) if bundle.is_finished else HttpResponse(html)


@login_required
@require_GET
def bundle_download(request: HttpRequest, pk: int) -> FileResponse:
    bundle = _bundle(request, pk)
    blob = bundle_services.bundle_download(actor=request.user, bundle=bundle)
    return FileResponse(
        blob, as_attachment=True, filename=f"{bundle.bag_name}.zip", content_type="application/zip"
    )
