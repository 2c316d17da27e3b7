"""The CSV feed GRC systems pull: one row per check result, in the order the results were committed.

Pages follow the audit log: each succeeded check run has exactly one ``check.succeeded`` event, written
in the transaction that stored its results, and the audit sequence is gapless and assigned under a lock
held to commit. So "every run whose event has a sequence above the cursor" never skips a run that
committed late (a cursor on ``finished_at`` would: a run can finish before another yet commit after
it). ``updated_since`` keeps runs whose results were committed at or after that time. A page holds up
to ``page_size`` runs (each gives its outcome row and one row per judged metric); the cursor of the next
page is returned while there may be more. Rows of runs the caller may not see are left out; the
cursor still moves past them. Every page served is audited (``export.downloaded``).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from audit import record
from audit.models import AuditEvent
from audit.recorder import object_type
from monitoring.models import CheckRun, RunStatus
from reports import selectors
from reports.evidence.csv_feed import check_results_csv
from reports.services.assemble.evidence import check_records

EXPORT_NAME = "check-results.csv"
RUN_EVENT = "check.succeeded"
RUN_TYPE = object_type(CheckRun)
DEFERRED = ("results", "diagnostics", "config", "library_versions", "progress")


@dataclass(frozen=True)
class FeedPage:
    """One page of the feed: the CSV bytes, the cursor of the next page (None at the end), counts."""

    content: bytes
    next_cursor: str | None
    runs: int
    rows: int


def check_results_page(
    *,
    actor,
    updated_since: datetime | None = None,
    cursor: str | None = None,
    page_size: int = 100,
    base_url: str = "",
) -> FeedPage:
    """The next page of check results the actor may see, audited as ``export.downloaded``."""
    events = AuditEvent.objects.filter(action=RUN_EVENT, object_type=RUN_TYPE)
    if cursor:
        events = events.filter(seq__gt=decode_cursor(cursor))
    if updated_since is not None:
        events = events.filter(occurred_at__gte=updated_since)
    batch = list(events.order_by("seq").values_list("seq", "object_id")[: page_size + 1])
    more, batch = len(batch) > page_size, batch[:page_size]
    runs = _visible_runs(actor, [int(object_id) for _seq, object_id in batch])
    records = check_records(runs, base_url)
    content = check_results_csv(records)
    page = FeedPage(
        content=content,
        next_cursor=encode_cursor(batch[-1][0]) if more else None,
        runs=len(records),
        rows=sum(len(run.results) * max(len(run.controls), 1) for run in records),
    )
    with transaction.atomic():
        record(
            action="export.downloaded",
            actor=actor,
            after={
                "export": EXPORT_NAME,
                "updated_since": updated_since,
                "cursor": cursor or None,
                "through_seq": batch[-1][0] if batch else None,
                "runs": page.runs,
                "rows": page.rows,
            },
        )
    return page


def _visible_runs(actor, ids: list[int]) -> list[CheckRun]:
    """The runs among ``ids`` the actor may see, in the order of ``ids`` (commit order)."""
    visible = (
        selectors.check_run_list(user=actor)
        .filter(pk__in=ids, status=RunStatus.SUCCEEDED)
        .defer(*DEFERRED)
        .in_bulk()
    )
    return [visible[pk] for pk in ids if pk in visible]


def encode_cursor(seq: int) -> str:
    """An opaque cursor: clients pass back what they were given."""
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix != "seq" or not number.isdigit():
            raise ValueError(text)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError({"cursor": ["Not a cursor this feed gave out."]}) from None
