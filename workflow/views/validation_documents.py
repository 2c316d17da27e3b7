"""The validation document of a version: written by the second line, read by everyone who sees the version.

One page per version. Someone who may write it (``validation_documents.may_author``) gets the editor:
each section with its guidance, Markdown text, commentary and effective-challenge notes, the results of
its live blocks; notes per check run of the version; the overall rating and its conditions. Everyone else
who may see the version gets the read view (``?read=1`` shows it to a writer too). Saving goes through
``validation_document_save``; a refusal is shown on the page with nothing written.

The Annex IV card lists the EU AI Act Annex IV items not yet supplied for the version and lets whoever may
change the model's inventory (its ML engineers) supply the text items as model tags ``annex_iv.<key>``,
through ``registry.services.inventory.model_update`` (audited as ``model.changed``).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from accounts import access
from config.api.errors import ServiceError
from config.ui import page
from monitoring import results, ui_charts
from registry import selectors as registry_selectors
from registry.models import ModelVersion
from registry.services import inventory
from workflow import markdown
from workflow.annex_iv import TAG_PREFIX
from workflow.models import ApprovalRequest, ApprovalStatus, Rating
from workflow.services import validation_documents as documents
from workflow.services.annex_iv import SUPPLIED, annex_iv_status
from workflow.services.evidence import latest_check_runs

BLANK_CONDITIONS = 2
MAX_ANNEX_TEXT = 2_000


def _version(request: HttpRequest, name: str, number: int) -> ModelVersion:
    model = registry_selectors.model_get(user=request.user, name=name)
    return get_object_or_404(registry_selectors.version_list(user=request.user, model=model), version=number)


@login_required
@require_http_methods(["GET", "POST"])
def validation_document(request: HttpRequest, name: str, number: int) -> HttpResponse:
    version = _version(request, name, number)
    document = documents.document_of(version)
    errors: list[str] = []
    posted = None
    status = 200
    if request.method == "POST":
        posted = request.POST
        before = document.revision if document is not None else 0
        try:
            document = documents.validation_document_save(
                actor=request.user, version=version, **_parts(request.POST)
            )
        except PermissionDenied:
            raise
        except ValidationError as refusal:
            errors = [
                f"{_field(key)}: {' '.join(messages_)}" for key, messages_ in refusal.message_dict.items()
            ]
            status = 400
        except ServiceError as refusal:
            errors, status = [refusal.message], refusal.status_code
        else:
            if document.revision == before:
                messages.info(
                    request, f"Nothing changed: the document stays at revision {document.revision}."
                )
            else:
                messages.success(
                    request,
                    f"Saved revision {document.revision} of the validation document "
                    f"(SHA-256 {document.content_sha256[:12]}…).",
                )
            return redirect("validation-document", name=name, number=number)
    return page(
        request,
        "governance/validation/document.html",
        _context(request, version, document, errors, posted),
        status=status,
    )


def _field(key: str) -> str:
    return (
        key.replace("sections.", "section ").replace("check_notes.", "notes on check run ").replace("_", " ")
    )


def _parts(data) -> dict:
    """The editor's fields as the service's arguments (every part: the editor shows the whole document)."""
    sections = {}
    for key in data.getlist("section"):
        sections[key] = {name: data.get(f"s-{key}-{name}", "") for name in documents.TEXT_FIELDS}
    notes = {}
    for run in data.getlist("run"):
        notes[run] = {name: data.get(f"run-{run}-{name}", "") for name in documents.NOTE_FIELDS}
    conditions = []
    for index in range(
        int(data.get("conditions", 0) or 0) if str(data.get("conditions", "0")).isdigit() else 0
    ):
        text, due = (
            data.get(f"condition-{index}-text", "").strip(),
            data.get(f"condition-{index}-due", "").strip(),
        )
        if text or due:
            conditions.append({"text": text, "due": due})
    base = data.get("base_revision", "")
    return {
        "sections": sections,
        "check_notes": notes,
        "rating": data.get("rating", ""),
        "conditions": conditions[: documents.MAX_CONDITIONS + 1],
        "base_revision": int(base) if base.isdigit() else None,
    }


def _context(request, version: ModelVersion, document, errors: list[str], posted) -> dict:
    user = request.user
    title, sections = documents.sections_of(version, document)
    content = document.content if document is not None else documents.empty_content(sections)
    texts = {item["key"]: item for item in content.get("sections", [])}
    runs = latest_check_runs(version)
    can_author = documents.may_author(user, version)
    editing = can_author and not request.GET.get("read")
    rows = []
    for section in sections:
        values = texts.get(section["key"], {})
        if posted is not None:
            values = {name: posted.get(f"s-{section['key']}-{name}", "") for name in documents.TEXT_FIELDS}
        rows.append(
            {
                **section,
                **{name: values.get(name, "") for name in documents.TEXT_FIELDS},
                "html": {name: _html(values.get(name, "")) for name in documents.TEXT_FIELDS},
                "live": [
                    _live(block["check"], runs.get(block["check"]))
                    for block in section.get("live_blocks", [])
                ],
            }
        )
    notes = {int(item["run"]): item for item in content.get("check_notes", [])}
    all_runs = version.check_runs.filter(status="succeeded").order_by("kind", "-finished_at", "-pk")[:50]
    run_rows = []
    for run in all_runs:
        note = notes.get(run.pk, {})
        if posted is not None:
            note = {name: posted.get(f"run-{run.pk}-{name}", "") for name in documents.NOTE_FIELDS}
        run_rows.append(
            {
                "run": run,
                "commentary": note.get("commentary", ""),
                "challenge": note.get("challenge", ""),
                "html": {name: _html(note.get(name, "")) for name in documents.NOTE_FIELDS},
                "in_evidence": runs.get(run.kind) == run,
            }
        )
    conditions = content.get("conditions", [])
    rating = content.get("rating", "")
    if posted is not None:
        rating = posted.get("rating", "")
        conditions = _parts(posted)["conditions"]
    pending = ApprovalRequest.objects.filter(model_version=version, status=ApprovalStatus.PENDING)
    return {
        "model": version.model,
        "version": version,
        "document": document,
        "title": title,
        "sections": rows,
        "runs": run_rows,
        "rating": rating,
        "rating_label": Rating(rating).label if rating in Rating.values else "Not rated",
        "ratings": Rating.choices,
        "conditions": conditions,
        "condition_rows": [*conditions, *[{"text": "", "due": ""}] * BLANK_CONDITIONS]
        if editing
        else conditions,
        "missing": documents.missing_items(version, document),
        "errors": errors,
        "can_author": can_author,
        "editing": editing,
        "pending": list(pending),
        "revisions": list(document.revisions.select_related("author")[:20]) if document else [],
        "annex": _annex(version),
        "can_supply_annex": access.can(user, "change", version.model),
    }


def _html(source: str) -> str:
    return mark_safe(markdown.to_html(source, top_heading=4)) if source else ""  # noqa: S308 (nh3-sanitised)


def _live(kind: str, run) -> dict:
    if run is None:
        return {"kind": kind, "run": None, "rows": [], "chart": None}
    charts = ui_charts.run_charts(run)  # the run's own first chart, as its check page draws it
    return {
        "kind": kind,
        "run": run,
        "rows": results.evaluations_of(run),
        "chart": charts[0] if charts else None,
    }


def _annex(version: ModelVersion) -> list:
    return [status for status in annex_iv_status(version) if status.status != SUPPLIED]


@login_required
@require_POST
def annex_iv_supply(request: HttpRequest, name: str, number: int) -> HttpResponse:
    """Supply Annex IV items as model tags ``annex_iv.<key>`` (an empty text leaves the item as it is)."""
    version = _version(request, name, number)
    model = version.model
    if not access.can(request.user, "change", model):
        raise PermissionDenied("Only the model's ML engineers or an administrator supply its Annex IV items.")
    open_items = {status.item.key for status in _annex(version)}
    supplied = {
        f"{TAG_PREFIX}{key}": request.POST.get(f"item-{key}", "").strip()[:MAX_ANNEX_TEXT]
        for key in open_items
        if request.POST.get(f"item-{key}", "").strip()
    }
    if not supplied:
        messages.info(request, "Nothing to supply: every text box was empty.")
    else:
        try:
            inventory.model_update(actor=request.user, model=model, tags={**(model.tags or {}), **supplied})
        except ValidationError as refusal:
            messages.error(request, " ".join(refusal.messages))
        else:
            keys = ", ".join(sorted(tag.removeprefix(TAG_PREFIX) for tag in supplied))
            messages.success(request, f"Supplied Annex IV item(s) {keys} for {model.name}.")
    return redirect(f"/models/{name}/versions/{number}/validation/#annex-heading")
