"""The inventory as a spreadsheet: CSV and XLSX of a (filtered) model list, with the fields a regulator
asks for, formula-escaped, and audited as ``export.downloaded``.

The caller passes the models to export: the inventory page's own filtered, permission-scoped queryset
(``registry.selectors.model_list`` narrowed by the page's filters), so the file holds exactly the rows the
list shows, in the list's order. Text cells that begin with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return are prefixed with a single quote in both formats (``reports.evidence.csv_feed.escape_cell``): a model
title ``=HYPERLINK(...)`` stays text in Excel and LibreOffice. Numbers and dates are written as numbers
and dates (real date cells in XLSX, ISO 8601 in CSV).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from audit import record
from registry.models import ModelStatus, RegisteredModel
from reports.evidence.csv_feed import escape_cell
from workflow.models import Finding, FindingStatus

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
COLUMNS = (
    ("name", "Name"),
    ("title", "Title"),
    ("owner", "Owner"),
    ("team", "Team"),
    ("risk_tier", "Risk tier"),
    ("status", "Status"),
    ("eu_ai_act_category", "EU AI Act category"),
    ("third_party", "Third party / vendor"),
    ("vendor", "Vendor"),
    ("next_review_due", "Next review due"),
    ("review_overdue", "Review overdue"),
    ("valid_until", "Valid until"),
    ("latest_version", "Latest version"),
    ("open_findings", "Open findings"),
)
CHUNK = 2000


@dataclass(frozen=True)
class InventoryExport:
    content: bytes
    filename: str
    content_type: str
    rows: int


def with_export_fields(models: QuerySet[RegisteredModel]) -> QuerySet[RegisteredModel]:
    """``models`` with what the export needs beyond the inventory list: the count of open findings."""
    open_findings = (
        Finding.objects.filter(model=OuterRef("pk"), status=FindingStatus.OPEN)
        .order_by()
        .values("model")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        models.prefetch_related(None)
        .select_related("team", "owner")
        .annotate(open_findings=Coalesce(Subquery(open_findings), 0))
    )


def rows(models: Iterable[RegisteredModel], *, today: dt.date) -> Iterator[list[Any]]:
    """One list of typed cells per model (text escaped; numbers, dates and None as they are)."""
    for model in models:
        overdue = bool(
            model.next_review_due and model.next_review_due < today and model.status != ModelStatus.RETIRED
        )
        text = {
            "name": model.name,
            "title": model.title,
            "owner": model.owner.get_username(),
            "team": model.team.name,
            "status": model.get_status_display(),
            "eu_ai_act_category": model.get_eu_ai_act_category_display(),
            "third_party": "yes" if model.is_third_party else "no",
            "vendor": model.vendor,
            "review_overdue": "yes" if overdue else "no",
        }
        cells: dict[str, Any] = {key: escape_cell(value) for key, value in text.items()}
        cells |= {
            "risk_tier": model.risk_tier,
            "next_review_due": model.next_review_due,
            "valid_until": model.valid_until,
            "latest_version": getattr(model, "latest_version", None),
            "open_findings": model.open_findings,
        }
        yield [cells[key] for key, _label in COLUMNS]


def to_csv(table: Iterable[list[Any]]) -> bytes:
    """UTF-8 with a byte-order mark (so Excel reads the accents), CRLF line ends (RFC 4180)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([label for _key, label in COLUMNS])
    for row in table:
        writer.writerow(
            ["" if cell is None else cell.isoformat() if isinstance(cell, dt.date) else cell for cell in row]
        )
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def to_xlsx(table: Iterable[list[Any]], *, title: str = "Inventory") -> bytes:
    """One sheet, a bold header row frozen at the top, dates as date cells, an autofilter."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    header = []
    for _key, label in COLUMNS:
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in table:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, even if escaping ever missed one
            elif isinstance(value, dt.date):
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)
        count += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{count + 1}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def inventory_export(
    *, actor, models: QuerySet[RegisteredModel], fmt: str, filters: dict[str, str]
) -> InventoryExport:
    """The models as a CSV or XLSX file, audited (who exported, which filters, how many rows)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    today = timezone.now().date()
    table = list(rows(with_export_fields(models).iterator(chunk_size=CHUNK), today=today))
    content = to_csv(table) if fmt == "csv" else to_xlsx(table)
    filename = f"inventory-{today.isoformat()}.{fmt}"
    with transaction.atomic():
        record(
            action="export.downloaded",
            actor=actor,
            after={
                "export": f"inventory.{fmt}",
                "filters": filters,
                "rows": len(table),
                "filename": filename,
            },
        )
    return InventoryExport(content=content, filename=filename, content_type=FORMATS[fmt], rows=len(table))
