"""The validation document a validator wrote in Attest, as report content: one structure, two renderers.

:class:`AuthoredDocument` holds everything the document says, as plain strings (numbers already formatted,
so the PDF and the DOCX print the very same characters); ``reports.services.assemble.validation_document``
fills it from the database. :func:`pdf_section` lays it out as a section of the validation report (PDF)
and ``reports.rendering.docx.build_docx`` writes it as a Word document. Nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reports.rendering import blocks as b
from reports.rendering.common import table

SECTION_ID = "assessment"
SECTION_TITLE = "Validator's assessment"
FACT_LABELS = ("Overall rating", "Document revision", "Content SHA-256", "Written by", "Last saved")


@dataclass(frozen=True, kw_only=True)
class LiveTable:
    """A check run's results, embedded by reference: caption (run id, kind, outcome), columns, rows."""

    caption: str
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class AuthoredSection:
    """One section: the validator's Markdown text, commentary and effective-challenge notes, live tables."""

    key: str
    title: str
    text: str = ""
    commentary: str = ""
    challenge: str = ""
    required: bool = False
    tables: Sequence[LiveTable] = ()


@dataclass(frozen=True, kw_only=True)
class CheckNote:
    """Commentary and effective-challenge notes on one check run."""

    run: str
    kind: str
    outcome: str
    commentary: str = ""
    challenge: str = ""

    @property
    def label(self) -> str:
        return f"Check run {self.run} ({self.kind}, {self.outcome})"


@dataclass(frozen=True, kw_only=True)
class Condition:
    text: str
    due: str


@dataclass(frozen=True, kw_only=True)
class AuthoredDocument:
    """The whole document. ``facts`` are (label, value) pairs printed first, in :data:`FACT_LABELS` order;
    ``record`` says which revision this is (the one an approval froze, or the latest)."""

    title: str
    model_label: str
    facts: Sequence[tuple[str, str]]
    record: str
    sections: Sequence[AuthoredSection]
    conditions: Sequence[Condition] = ()
    check_notes: Sequence[CheckNote] = ()
    missing: Sequence[str] = ()


NOT_WRITTEN = "Not written."
COMMENTARY = "Validator commentary"
CHALLENGE = "Effective challenge"
CONDITIONS = "Conditions"
CHECK_COMMENTARY = "Commentary on check runs"
CONDITION_COLUMNS = ("Condition", "Due")


def pdf_section(document: AuthoredDocument) -> dict[str, Any]:
    """The document as the validation report's section (blocks: ``reports.rendering.blocks``)."""
    blocks: list[dict[str, Any]] = [b.facts(document.facts), b.note(document.record)]
    if document.missing:
        blocks += [b.heading("Incomplete"), b.bullet_list(document.missing, css_class="missing")]
    blocks.append(b.heading(CONDITIONS, "assessment-conditions"))
    blocks.append(
        b.table_block(
            table(
                list(CONDITION_COLUMNS),
                [(condition.text, condition.due) for condition in document.conditions],
                widths=[80, 20],
                empty="No conditions.",
            )
        )
    )
    for section in document.sections:
        blocks.append(b.heading(section.title, b.anchor("assessment", section.key)))
        blocks.append(b.markdown(section.text) if section.text else b.note(NOT_WRITTEN))
        for live in section.tables:
            blocks.append(b.table_block(_live(live)))
            if live.note:
                blocks.append(b.note(live.note))
        for label, text in ((COMMENTARY, section.commentary), (CHALLENGE, section.challenge)):
            if text:
                blocks += [b.text(f"{label}:"), b.markdown(text)]
    if document.check_notes:
        blocks.append(b.heading(CHECK_COMMENTARY, "assessment-checks"))
        for note in document.check_notes:
            blocks.append(b.text(note.label))
            for label, text in ((COMMENTARY, note.commentary), (CHALLENGE, note.challenge)):
                if text:
                    blocks += [b.text(f"{label}:"), b.markdown(text)]
    return b.section(SECTION_ID, SECTION_TITLE, blocks)


def _live(live: LiveTable) -> dict[str, Any]:
    count = len(live.columns)
    widths = [40] + [60 // max(count - 1, 1)] * (count - 1)
    return table(
        list(live.columns),
        [list(row) for row in live.rows],
        widths=widths,
        classes=[""] + ["num"] * (count - 2) + [""] if count > 2 else [],
        caption=live.caption,
        empty="The run reported no judged results.",
    )
