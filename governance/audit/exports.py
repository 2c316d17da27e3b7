"""Streaming exports of audit events: CSV for people, JSON lines (with the hashed text) for verifiers.

Both walk the table by seq in keyset batches (``seq > last ORDER BY seq LIMIT n``): no long transaction
and no server-side materialisation, and since rows are append-only a batch can never shift. An export
stops at the seq recorded when it began, so it has a definite end however busy the log is.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from governance.audit.chain import format_time
from governance.models import AuditEvent

BATCH = 2000
CSV_COLUMNS = [
    "seq",
    "occurred_at",
    "event_id",
    "action",
    "actor_id",
    "actor_username",
    "actor_roles",
    "auth_method",
    "request_id",
    "client_ip",
    "user_agent",
    "object_type",
    "object_id",
    "object_repr",
    "before",
    "after",
    "reason",
    "prev_hash",
    "hash",
]
# A spreadsheet runs a cell starting with these as a formula (CSV injection): prefix a quote.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def canonical_text(event: AuditEvent) -> str:
    return bytes(event.canonical).decode("utf-8", "replace")


def safe_cell(value: Any) -> Any:
    """A CSV cell that no spreadsheet will evaluate."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def event_record(event: AuditEvent) -> dict[str, Any]:
    """An event as plain JSON types, the same fields as the API."""
    return {
        "seq": event.seq,
        "occurred_at": format_time(event.occurred_at),
        "event_id": str(event.event_id),
        "action": event.action,
        "actor_id": event.actor_pk,
        "actor_username": event.actor_username,
        "actor_roles": event.actor_roles,
        "auth_method": event.auth_method,
        "request_id": event.request_id,
        "client_ip": event.client_ip,
        "user_agent": event.user_agent,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
        "schema_version": event.schema_version,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def _events(queryset: QuerySet[AuditEvent], through_seq: int) -> Iterator[AuditEvent]:
    queryset = queryset.order_by("seq").filter(seq__lte=through_seq)
    last = 0
    while True:
        batch = list(queryset.filter(seq__gt=last)[:BATCH])
        yield from batch
        if len(batch) < BATCH:
            return
        last = batch[-1].seq


def csv_stream(queryset: QuerySet[AuditEvent], through_seq: int) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for event in _events(queryset, through_seq):
        record = event_record(event)
        record["actor_roles"] = ";".join(record["actor_roles"])
        for key in ("before", "after"):
            record[key] = "" if record[key] is None else json.dumps(record[key], sort_keys=True)
        writer.writerow([safe_cell(record[column]) for column in CSV_COLUMNS])
        if buffer.tell() > 65536:
            yield _drain(buffer)
    yield _drain(buffer)


def jsonl_stream(queryset: QuerySet[AuditEvent], through_seq: int) -> Iterator[str]:
    lines = []
    for event in _events(queryset, through_seq):
        record = event_record(event)
        record["canonical"] = canonical_text(event)
        lines.append(json.dumps(record, ensure_ascii=False, sort_keys=True))
        if len(lines) >= 500:
            yield "\n".join(lines) + "\n"
            lines = []
    if lines:
        yield "\n".join(lines) + "\n"


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
