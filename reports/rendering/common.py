"""What every report builder shares: the rendered-report record, :func:`build_report`, formatting.

Builders take frozen dataclasses of plain values (records in :mod:`reports.rendering.inputs`) that a
service fills from the database, and never query anything themselves. The same dataclass value always
gives the same :attr:`RenderedReport.inputs_digest` (SHA-256 of its RFC 8785 canonical JSON), the same
HTML (:attr:`RenderedReport.text_digest`) and, with the same software versions, the same PDF bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from charts import ChartSpec
from reports.rendering import pdf as pdf_module
from reports.rendering import widths as column_widths
from reports.rendering.inputs import FORMAT, DocumentInfo, canonical_json, inputs_digest, jsonable, utc_iso

__all__ = ["RenderedReport", "build_report", "canonical_json", "inputs_digest", "jsonable", "utc_iso"]

# ---------------------------------------------------------------------------------------------- output


@dataclass(frozen=True, kw_only=True)
class RenderedReport:
    """A finished report and the facts its record needs.

    ``inputs_digest``: SHA-256 of the RFC 8785 JSON of the input dataclass. ``text_digest``: SHA-256 of
    the HTML that was laid out (the document's text, before layout). ``pdf_sha256``: SHA-256 of ``pdf``,
    the value to write into the audit log. ``refused`` (URLs the fetcher refused) and ``blocked`` (socket
    or process attempts stopped in the worker) are empty for a healthy report.
    """

    kind: str
    subject: str
    title: str
    generated_at: datetime
    generated_by: str
    variant: str | None
    pdf: bytes
    pdf_sha256: str
    page_count: int
    inputs_digest: str
    text_digest: str
    refused: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()
    stats: Mapping[str, float] = dataclasses.field(default_factory=dict)


def build_report(
    *,
    kind: str,
    subject: str,
    data: Any,
    document: DocumentInfo,
    template: str,
    context: Mapping[str, Any],
    charts: Sequence[ChartSpec] = (),
    variant: str | None = None,
    attachments: Sequence[pdf_module.Attachment] = (),
    keywords: Sequence[str] = (),
    time_limit: float = pdf_module.DEFAULT_TIME_LIMIT,
) -> RenderedReport:
    """Render one report and describe it; shared by every ``build_*_pdf``."""
    digest = inputs_digest(data)
    title = str(context["doc"]["title"])
    metadata = pdf_module.PdfMetadata(
        title=title,
        created=document.generated_at,
        subject=subject,
        keywords=("Attest", kind, *keywords),
        custom={
            "attest-document-id": document.document_id,
            "attest-report-kind": kind,
            "attest-inputs-sha256": digest,
            "attest-inputs-format": FORMAT,
            "attest-generated-by": document.generated_by,
        },
    )
    rendered = pdf_module.render(
        template,
        {**context, "inputs_digest": digest},
        metadata=metadata,
        charts=charts,
        variant=variant,
        attachments=attachments,
        time_limit=time_limit,
    )
    return RenderedReport(
        kind=kind,
        subject=subject,
        title=title,
        generated_at=document.generated_at,
        generated_by=document.generated_by,
        variant=variant,
        pdf=rendered.pdf,
        pdf_sha256=hashlib.sha256(rendered.pdf).hexdigest(),
        page_count=rendered.page_count,
        inputs_digest=digest,
        text_digest=rendered.html_sha256,
        refused=rendered.refused,
        blocked=rendered.blocked,
        stats=rendered.stats,
    )


# ---------------------------------------------------------------------------------------------- format


def utc_text(moment: datetime | None) -> str:
    """``2025-03-01 12:00:00 UTC`` for people; an em dash for ``None``."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        raise ValueError("report datetimes must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def date_text(day: date | None) -> str:
    """``2025-03-01``; an em dash for ``None``."""
    return day.isoformat() if day is not None else "—"


def number(value: float | None, digits: int = 4) -> str:
    """A number with ``digits`` significant digits, without locale; ``—`` for ``None``, ``NaN`` kept."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"


def percent(share: float | None, digits: int = 1) -> str:
    """``12.5 %`` for 0.125; ``—`` for ``None``."""
    return "—" if share is None else f"{share * 100:.{digits}f} %"


def tier_text(tier: int | None) -> str:
    """``Tier 1 (high)``."""
    names = {1: "high", 2: "medium", 3: "low"}
    return "not tiered" if tier is None else f"Tier {tier} ({names.get(tier, 'unknown')})"


def table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    widths: Sequence[int] = (),
    classes: Sequence[str] = (),
    caption: str = "",
    empty: str = "None.",
) -> dict[str, Any]:
    """The context ``templates/reports/pdf/_table.html`` expects.

    ``widths`` are percentages per column, widened where a column's longest word needs it (see
    :mod:`reports.rendering.widths`); ``classes`` CSS classes per column (``num`` right-aligns,
    ``hash`` prints monospaced and may break anywhere). Cells are converted with ``str`` and classed
    by what they hold: a cell containing a digest or a URI may break anywhere; any other word is never
    broken (a column that cannot hold its words even so is hyphenated where needed).
    """
    column_classes = list(classes) + [""] * (len(columns) - len(classes))
    cells = [
        [(text, column_widths.cell_class(text, column_classes[i])) for i, text in enumerate(map(_cell, row))]
        for row in rows
    ]
    fitted, tight = column_widths.fit_widths(widths, columns, cells)
    column_classes = [f"{c} tight".strip() if tight[i] else c for i, c in enumerate(column_classes)]
    return {
        "columns": [{"text": c, "class": column_classes[i]} for i, c in enumerate(columns)],
        "widths": fitted if columns else [],
        "rows": [
            [
                {"text": text, "class": f"{css} tight".strip() if tight[i] else css}
                for i, (text, css) in enumerate(row)
            ]
            for row in cells
        ],
        "caption": caption,
        "empty": empty,
    }


def outcome_label(outcome: str) -> str:
    """Human label for an outcome code (``pass`` -> ``Pass``); unknown codes are shown as given."""
    labels = {"pass": "Pass", "warn": "Pass with warnings", "fail": "Fail", "info": "Information"}
    return labels.get(outcome, outcome)


def _cell(value: Any) -> str:
    if isinstance(value, float) or value is None:
        return number(value)
    if isinstance(value, datetime):
        return utc_text(value)
    return str(value)
