"""Streaming exports of audit events: CSV for people, JSON lines (with the hashed text) for verifiers.

Both walk the table by seq in keyset batches (``seq > last ORDER BY seq LIMIT n``): no long transaction
and no server-side materialisation, and since rows are append-only a batch can never shift. An export
stops at the seq recorded when it began, so it has a definite end however busy the log is.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from audit.chain import format_time
from audit.models import AuditEvent

BATCH = 2000


@dataclass(frozen=True)
class EventField:
    """One field of an event as published: by the API, the CSV and JSON-lines exports and evidence bundles.

    ``attribute`` is the model field it reads; ``kind`` says how it is written (``time`` as the hashed
    bytes write times, ``uuid`` as text, the rest as stored) and lets the API declare its type.
    """

    name: str
    attribute: str
    kind: str  # integer, text, texts (a list of text), uuid, time, json
    nullable: bool = False


# The published event, declared once; its order is the CSV's column order.
EVENT_FIELDS: tuple[EventField, ...] = (
    EventField("seq", "seq", "integer"),
    EventField("occurred_at", "occurred_at", "time"),
    EventField("event_id", "event_id", "uuid"),
    EventField("action", "action", "text"),
    EventField("actor_id", "actor_pk", "integer", nullable=True),
    EventField("actor_username", "actor_username", "text"),
    EventField("actor_roles", "actor_roles", "texts"),
    EventField("auth_method", "auth_method", "text"),
    EventField("request_id", "request_id", "text"),
    EventField("client_ip", "client_ip", "text", nullable=True),
    EventField("user_agent", "user_agent", "text"),
    EventField("object_type", "object_type", "text"),
    EventField("object_id", "object_id", "text"),
    EventField("object_repr", "object_repr", "text"),
    EventField("before", "before", "json", nullable=True),
    EventField("after", "after", "json", nullable=True),
    EventField("reason", "reason", "text"),
    EventField("schema_version", "schema_version", "integer"),
    EventField("prev_hash", "prev_hash", "text"),
    EventField("hash", "hash", "text"),
)
# The CSV is for people; the schema version only tells a verifier how to read the hashed text, which
# the CSV does not carry (the JSON lines carry both).
CSV_COLUMNS = [field.name for field in EVENT_FIELDS if field.name != "schema_version"]
_WRITERS: dict[str, Callable[[Any], Any]] = {"time": format_time, "uuid": str}
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
    """An event as plain JSON types: the fields of :data:`EVENT_FIELDS`."""
    return {field.name: _published(field, getattr(event, field.attribute)) for field in EVENT_FIELDS}


def _published(field: EventField, value: Any) -> Any:
    writer = _WRITERS.get(field.kind)
    return value if writer is None or value is None else writer(value)


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
