"""Evidence documents: the page of one document with a sanitised preview, and adding one to a version.

The document is looked up in the user's scoped evidence list (the same selector as the API's download),
so another team's document is a 404. Text documents up to ``markdown.PREVIEW_MAX_BYTES`` are shown:
Markdown rendered by ``workflow.markdown`` (raw HTML off, sanitised by nh3), anything else as typed.

Adding a document goes through ``evidence_add``, as the API's upload does: the file is hashed while it
streams in (``registry.ui_uploads``), and the service decides who may add it.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from accounts import access
from config.ui import add_refusal, page
from registry import selectors as registry_selectors
from registry import ui_uploads
from registry.models import ModelVersion, RegisteredModel
from workflow import markdown, selectors
from workflow.models import EvidenceType
from workflow.services import evidence as evidence_services


@login_required
@require_GET
def evidence_detail(request: HttpRequest, pk: int) -> HttpResponse:
    document = get_object_or_404(selectors.evidence_list(user=request.user), pk=pk)
    text = markdown.evidence_text(document)
    preview = markdown.to_html(text.source, top_heading=3) if text is not None else ""
    context = {
        "document": document,
        "version": document.model_version,
        "is_markdown": text is not None and text.markdown,
        "preview": mark_safe(preview),  # noqa: S308 (sanitised by nh3 in workflow.markdown.to_html)
        "preview_max_bytes": markdown.PREVIEW_MAX_BYTES,
    }
    return page(request, "governance/evidence/detail.html", context)


class EvidenceForm(forms.Form):
    evidence_type = forms.ModelChoiceField(
        queryset=EvidenceType.objects.order_by("title"),
        to_field_name="key",
        label="Type of evidence",
        empty_label="(choose)",
    )
    title = forms.CharField(
        max_length=300, required=False, label="Title", help_text="Defaults to the file's name."
    )
    file = forms.FileField(
        label="Document", allow_empty_file=True, help_text="Markdown and plain text get a preview."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["evidence_type"].label_from_instance = lambda kind: kind.title or kind.key


def may_add_evidence(user, model: RegisteredModel) -> bool:
    """Who ``evidence_add`` lets add a document: the model's ML engineers and its validators (and admins).
    Used to offer the form and to refuse it before a body is read; the service decides again."""
    return access.can(user, "change", model) or access.can(user, "validate", model)


@csrf_exempt  # checked in ui_uploads.receive, once the hashing upload handlers are installed
@login_required
@require_http_methods(["GET", "POST"])
def evidence_new(request: HttpRequest, name: str, number: int) -> HttpResponse:
    model = registry_selectors.model_get(user=request.user, name=name)
    version = get_object_or_404(
        registry_selectors.version_list(user=request.user, model=model), version=number
    )
    if not may_add_evidence(request.user, model):
        raise PermissionDenied(
            "Only the model's ML engineers, its validators or an administrator add evidence."
        )
    return ui_uploads.receive(
        request,
        lambda checked, refused: _evidence_upload(checked, version, refused),
        max_bytes=settings.ATTEST_MAX_DATASET_BYTES,  # the API's cap for evidence documents
    )


def _evidence_upload(request: HttpRequest, version: ModelVersion, refused: str) -> HttpResponse:
    posted = request.method == "POST" and not refused
    form = EvidenceForm(request.POST if posted else None, request.FILES if posted else None)
    status = 413 if refused else 200
    if posted:
        status = 400
        upload = ui_uploads.received(request, "file")
        if form.is_valid() and ui_uploads.require(form, upload, "file"):
            existed = version.evidence.filter(sha256=upload.sha256).exists()
            try:
                document = evidence_services.evidence_add(
                    actor=request.user,
                    version=version,
                    evidence_type=form.cleaned_data["evidence_type"].key,
                    title=form.cleaned_data["title"],
                    upload=upload,
                )
            except PermissionDenied as refusal:
                form.add_error(None, str(refusal))
                status = 403
            except ValidationError as refusal:
                add_refusal(form, refusal)
            else:
                _say_added(request, version, document, added=not existed)
                page_url = reverse("model-version-detail", args=[version.model.name, version.version])
                return ui_uploads.done(request, f"{page_url}#evidence-heading")
    context = {
        "form": form,
        "refused": refused,
        "version": version,
        "model": version.model,
        "max_bytes": settings.ATTEST_MAX_DATASET_BYTES,
    }
    return page(request, "governance/evidence/new.html", context, status=status)


def _say_added(request: HttpRequest, version: ModelVersion, document, *, added: bool) -> None:
    where = f"{version.model.name} v{version.version}"
    if added:
        messages.success(request, f"Added '{document.title}' to {where} (SHA-256 {document.sha256[:12]}…).")
    else:
        messages.info(
            request,
            f"This file is already attached to {where} as '{document.title}' (the same SHA-256): "
            "nothing was added.",
        )
