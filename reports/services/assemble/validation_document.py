"""The validation document a validator wrote, as :class:`reports.rendering.authored.AuthoredDocument`.

One function builds the content (:func:`authored_document`); the validation report (PDF) and the Word
export (DOCX) both render what it returns, so they say the same things with the same numbers. The revision
shown is the one the described approval froze in its manifest (the signed record), else the latest; live
blocks show the results of the check runs of the same evidence (the manifest's runs, or the latest ones
when nothing was signed).
"""

from __future__ import annotations

from monitoring import results
from monitoring.models import CheckRun
from registry.models import ModelVersion
from reports.rendering.authored import AuthoredDocument, AuthoredSection, CheckNote, Condition, LiveTable
from reports.rendering.common import number, outcome_label
from reports.services.assemble import common
from workflow.models import Rating, ValidationDocument, ValidationDocumentRevision
from workflow.services.evidence import SignedEvidence, signed_evidence
from workflow.services.validation_documents import content_missing

LIVE_COLUMNS = ("Metric", "Value", "Threshold", "Outcome")


def authored_document(
    version: ModelVersion, evidence: SignedEvidence | None = None
) -> AuthoredDocument | None:
    """The version's validation document as report content; None when nobody has written one."""
    document = ValidationDocument.objects.filter(model_version=version, revision__gt=0).first()
    if document is None:
        return None
    evidence = evidence if evidence is not None else signed_evidence(version)
    revision, record = _revision(document, evidence)
    content = revision.content
    runs = {run.kind: run for run in evidence.runs}
    texts = {item["key"]: item for item in content.get("sections", [])}
    sections = [
        AuthoredSection(
            key=section["key"],
            title=section["title"],
            text=texts.get(section["key"], {}).get("text", ""),
            commentary=texts.get(section["key"], {}).get("commentary", ""),
            challenge=texts.get(section["key"], {}).get("challenge", ""),
            required=bool(section.get("required")),
            tables=[
                live_table(block["check"], runs.get(block["check"]))
                for block in section.get("live_blocks", [])
            ],
        )
        for section in document.template_sections
    ]
    notes = content.get("check_notes", [])
    outcomes = dict(
        CheckRun.objects.filter(pk__in=[note["run"] for note in notes]).values_list("pk", "outcome")
    )
    authors = ValidationDocumentRevision.objects.filter(document=document, revision__lte=revision.revision)
    names = list(dict.fromkeys(author.printed_name for author in _authors(authors)))
    rating = content.get("rating", "")
    return AuthoredDocument(
        title=f"{document.template_title}: {version.model.name} v{version.version}",
        model_label=f"{version.model.name} v{version.version}",
        facts=[
            ("Overall rating", Rating(rating).label if rating else "Not rated"),
            ("Document revision", str(revision.revision)),
            ("Content SHA-256", revision.content_sha256),
            ("Written by", ", ".join(names)),
            ("Last saved", f"{common.utc(revision.created_at):%Y-%m-%d %H:%M} UTC"),
        ],
        record=record,
        sections=sections,
        conditions=[Condition(text=item["text"], due=item["due"]) for item in content.get("conditions", [])],
        check_notes=[
            CheckNote(
                run=str(note["run"]),
                kind=note["kind"],
                outcome=outcome_label(outcomes.get(note["run"]) or "—"),
                commentary=note.get("commentary", ""),
                challenge=note.get("challenge", ""),
            )
            for note in notes
        ],
        missing=content_missing(content, document.template_sections),
    )


def _authors(revisions):
    return [revision.author for revision in revisions.select_related("author").order_by("revision")]


def _revision(
    document: ValidationDocument, evidence: SignedEvidence
) -> tuple[ValidationDocumentRevision, str]:
    """The revision to show and a sentence saying which it is and why."""
    latest = document.revisions.get(revision=document.revision)
    pinned = evidence.manifest.validation_document
    approval = evidence.approval
    if approval is None:
        return latest, (
            f"Latest revision ({latest.revision}); no approval request has frozen this document yet."
        )
    if pinned is None:
        return latest, (
            f"Approval request #{approval.pk} was made before this document was written: the latest revision "
            f"({latest.revision}) is shown, and its signers did not sign it."
        )
    frozen = document.revisions.filter(revision=pinned.revision).first() or latest
    later = (
        f" Revision {latest.revision} was saved after the request and is not shown."
        if latest.revision != frozen.revision
        else ""
    )
    return frozen, (
        f"Revision {frozen.revision}, as frozen in approval request #{approval.pk} "
        f"(content SHA-256 {pinned.sha256}).{later}"
    )


def live_table(kind: str, run: CheckRun | None) -> LiveTable:
    """The results of the evidence's ``kind`` run as a table (by reference: read when the document is laid out)."""
    if run is None:
        return LiveTable(
            caption=f"{kind.replace('_', ' ').capitalize()} results",
            columns=LIVE_COLUMNS,
            rows=[],
            note=f"No successful {kind} run in the evidence.",
        )
    from reports.services.assemble.validation import metric_result  # it imports this module

    rows = []
    for item in results.evaluations_of(run):
        metric = metric_result(item)
        threshold = (
            "—" if metric.threshold is None else f"{metric.comparison} {number(metric.threshold)}".strip()
        )
        rows.append((metric.name, number(metric.value), threshold, outcome_label(metric.outcome)))
    return LiveTable(
        caption=f"Check run {run.pk} ({run.kind}): {outcome_label(run.outcome or '')}",
        columns=LIVE_COLUMNS,
        rows=rows,
    )
