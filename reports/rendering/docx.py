"""The validation document as a Word file (python-docx), from the same :class:`AuthoredDocument` as the PDF.

Markdown is laid out from markdown-it's tokens (``workflow.markdown.tokens``: raw HTML and images off):
headings, paragraphs with bold, italic and code runs, bullet and numbered lists, quotes and code blocks;
links keep their text and show their address in brackets. No HTML is ever interpreted.
"""

from __future__ import annotations

import io

from docx import Document
from docx.shared import Pt

from reports.rendering.authored import (
    CHALLENGE,
    CHECK_COMMENTARY,
    COMMENTARY,
    CONDITION_COLUMNS,
    CONDITIONS,
    NOT_WRITTEN,
    SECTION_TITLE,
    AuthoredDocument,
    LiveTable,
)
from workflow.markdown import tokens as markdown_tokens


def build_docx(document: AuthoredDocument) -> bytes:
    """The Word document's bytes."""
    doc = Document()
    doc.core_properties.title = document.title
    doc.core_properties.subject = document.model_label
    doc.add_heading(document.title, level=0)
    doc.add_paragraph(SECTION_TITLE)
    _table(doc, ("", ""), document.facts, header=False)
    _note(doc, document.record)
    if document.missing:
        doc.add_heading("Incomplete", level=2)
        for item in document.missing:
            doc.add_paragraph(item, style="List Bullet")
    doc.add_heading(CONDITIONS, level=1)
    if document.conditions:
        _table(doc, CONDITION_COLUMNS, [(c.text, c.due) for c in document.conditions])
    else:
        doc.add_paragraph("No conditions.")
    for section in document.sections:
        doc.add_heading(section.title, level=1)
        if section.text:
            _markdown(doc, section.text)
        else:
            _note(doc, NOT_WRITTEN)
        for live in section.tables:
            _live(doc, live)
        for label, text in ((COMMENTARY, section.commentary), (CHALLENGE, section.challenge)):
            if text:
                doc.add_paragraph().add_run(f"{label}:").bold = True
                _markdown(doc, text)
    if document.check_notes:
        doc.add_heading(CHECK_COMMENTARY, level=1)
        for note in document.check_notes:
            doc.add_heading(note.label, level=2)
            for label, text in ((COMMENTARY, note.commentary), (CHALLENGE, note.challenge)):
                if text:
                    doc.add_paragraph().add_run(f"{label}:").bold = True
                    _markdown(doc, text)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _note(doc, text: str) -> None:
    run = doc.add_paragraph().add_run(text)
    run.italic = True
    run.font.size = Pt(9)


def _table(doc, columns, rows, *, header: bool = True) -> None:
    grid = doc.add_table(rows=0, cols=len(columns))
    grid.style = "Table Grid"
    if header:
        cells = grid.add_row().cells
        for cell, text in zip(cells, columns, strict=True):
            cell.text = ""
            cell.paragraphs[0].add_run(str(text)).bold = True
    for row in rows:
        cells = grid.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = str(text)


def _live(doc, live: LiveTable) -> None:
    doc.add_paragraph().add_run(live.caption).italic = True
    if live.rows:
        _table(doc, live.columns, live.rows)
    else:
        doc.add_paragraph("The run reported no judged results.")
    if live.note:
        _note(doc, live.note)


def _markdown(doc, source: str) -> None:
    """Markdown source as Word paragraphs (see the module's docstring for what is kept)."""
    lists: list[str] = []
    quote = 0
    heading = 0
    for token in markdown_tokens(source):
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            lists.append("List Number" if kind.startswith("ordered") else "List Bullet")
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "blockquote_open":
            quote += 1
        elif kind == "blockquote_close":
            quote -= 1
        elif kind == "heading_open":
            heading = min(int(token.tag[1]) + 1, 9)
        elif kind == "heading_close":
            heading = 0
        elif kind in ("code_block", "fence"):
            paragraph = doc.add_paragraph()
            run = paragraph.add_run(token.content.rstrip("\n"))
            run.font.name = "Courier New"
        elif kind == "hr":
            doc.add_paragraph("—" * 10)
        elif kind == "inline":
            if heading:
                paragraph = doc.add_heading(level=heading)
            elif lists:
                paragraph = doc.add_paragraph(style=lists[-1])
            elif quote:
                paragraph = doc.add_paragraph(style="Quote")
            else:
                paragraph = doc.add_paragraph()
            _inline(paragraph, token.children or [])


def _inline(paragraph, children) -> None:
    bold = italic = 0
    link = ""
    for child in children:
        kind = child.type
        if kind == "strong_open":
            bold += 1
        elif kind == "strong_close":
            bold -= 1
        elif kind == "em_open":
            italic += 1
        elif kind == "em_close":
            italic -= 1
        elif kind == "link_open":
            link = str(child.attrs.get("href", ""))
        elif kind == "link_close":
            if link:
                paragraph.add_run(f" ({link})")
            link = ""
        elif kind in ("softbreak", "hardbreak"):
            paragraph.add_run().add_break()
        elif kind == "code_inline":
            paragraph.add_run(child.content).font.name = "Courier New"
        elif kind == "text":
            run = paragraph.add_run(child.content)
            run.bold = bold > 0 or None
            run.italic = italic > 0 or None
