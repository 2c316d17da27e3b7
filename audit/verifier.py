"""The chain verifier: walks every event in seq order in constant memory and says where it is broken.

What is checked, and the ``code`` of the problem reported when it fails:

* ``gap`` — seq runs 1, 2, 3, … with nothing missing;
* ``broken_link`` — each event's ``prev_hash`` is the previous event's hash (``inserted`` when it is the
  hash of the event before that, i.e. the event in between does not belong to the chain);
* ``hash_mismatch`` — SHA-256(tag ‖ prev_hash ‖ SHA-256(canonical)) is the stored hash;
* ``columns_disagree`` — the row's columns spell out exactly its hashed bytes (checked in SQL by
  rebuilding the RFC 8785 text from the columns, and explained column by column in Python);
* ``unknown_schema`` — the canonical bytes use a format this verifier knows;
* checkpoints: ``checkpoint_signature`` / ``checkpoint_unknown_key`` (Ed25519 signature with a trusted
  public key), ``checkpoint_payload`` (columns agree with the signed bytes), ``checkpoint_sequence``
  (numbers gapless, each signs its predecessor's signature), ``checkpoint_mismatch`` (the chain head
  at the checkpoint's seq is the signed one), ``truncated`` (the table reaches the latest checkpoint);
* an export (``--checkpoints``): ``export_signature``, ``export_mismatch`` (the database holds a
  different checkpoint under that number), ``export_missing`` (the database lacks it); exported
  heads are compared with the chain like the database's own.

Only the last few thousand rows are in memory at any time (a server-side cursor); checkpoints are
loaded whole (one an hour is ~9,000 a year) and problems are capped.
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg2.extensions
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import connection as default_connection
from django.db import transaction

from audit import checkpoints as checkpoint_io
from audit import protection
from audit.chain import (
    DOMAIN_TAG,
    GENESIS_HASH,
    SCHEMA_VERSION,
    canonical_bytes,
    checkpoint_payload,
    format_time,
)
from audit.columns import AGREEMENT_SQL, disagreeing_columns

MAX_PROBLEMS = 200
BATCH_ROWS = 5000
PROGRESS_EVERY = 50_000

Progress = Callable[[int, int], None]


@dataclass
class Problem:
    code: str
    message: str
    seq: int | None = None
    checkpoint: int | None = None


@dataclass
class Report:
    """What a verification found. ``intact`` only when every check passed and nothing was skipped."""

    from_seq: int = 1
    events_checked: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    chain_head: str | None = None
    checkpoints_checked: int = 0
    exported_checkpoints_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    problems_omitted: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def intact(self) -> bool:
        return not self.problems and not self.problems_omitted

    @property
    def first_bad_seq(self) -> int | None:
        return min((p.seq for p in self.problems if p.seq is not None), default=None)

    @property
    def first_problem(self) -> Problem | None:
        located = [p for p in self.problems if p.seq is not None]
        if located:
            return min(located, key=lambda p: p.seq)
        return self.problems[0] if self.problems else None

    def add(self, problem: Problem) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        else:
            self.problems_omitted += 1

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(intact=self.intact, first_bad_seq=self.first_bad_seq)
        data["problems"] = sorted(data["problems"], key=_problem_order)
        return data


def _problem_order(problem: dict[str, Any]) -> tuple:
    seq = problem["seq"]
    return (seq is None, seq or 0, problem["checkpoint"] or 0)


@dataclass(frozen=True)
class Anchor:
    """A signed chain head the walk must pass through."""

    last_seq: int
    chain_head: str
    number: int
    source: str  # "database" or "export"


def verify(
    *,
    public_keys: dict[str, Ed25519PublicKey],
    from_seq: int | None = None,
    export: Path | None = None,
    progress: Progress | None = None,
    using=None,
) -> Report:
    """Verify the chain (from ``from_seq``), its checkpoints and, when given, an exported copy of them."""
    connection = using or default_connection
    started = time.perf_counter()
    report = Report(from_seq=max(from_seq or 1, 1))
    with transaction.atomic(using=connection.alias):
        _builtins_first(connection)
        anchors = _check_checkpoints(report, public_keys, connection)
        if export is not None:
            anchors += _check_export(report, public_keys, export, connection)
        _walk(report, anchors, connection, progress)
        report.warnings.extend(protection.missing_protection(connection))
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _builtins_first(connection) -> None:
    """Resolve every function and operator of the walk to PostgreSQL's own, for this transaction.

    Someone able to rewrite the log could also create a ``public.strpos`` or ``public.||`` and move
    ``pg_catalog`` later in a role's search_path, so that the agreement check always says yes.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('search_path', 'pg_catalog, ' || current_setting('search_path'), true)"
        )


# ---------------------------------------------------------------------------------------- checkpoints


def _check_checkpoints(report: Report, keys: dict[str, Ed25519PublicKey], connection) -> list[Anchor]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT number, created_at, last_seq, chain_head, previous_signature, key_id, payload, signature"
            " FROM governance_auditcheckpoint ORDER BY number"
        )
        rows = cursor.fetchall()
    anchors = []
    previous: tuple | None = None
    for row in rows:
        number, _created, last_seq, chain_head, _previous, key_id, payload, signature = row
        payload = bytes(payload)
        _check_sequence(report, row, previous)
        _check_signature(report, keys, key_id, payload, signature, number, "checkpoint")
        expected = _checkpoint_columns_payload(row)
        if expected != payload:
            report.add(
                Problem(
                    "checkpoint_payload",
                    f"checkpoint {number}: its columns differ from the bytes it signed",
                    seq=last_seq,
                    checkpoint=number,
                )
            )
        anchors.append(Anchor(last_seq, chain_head, number, "database"))
        previous = row
    report.checkpoints_checked = len(rows)
    return anchors


def _checkpoint_columns_payload(row: tuple) -> bytes:
    number, created_at, last_seq, chain_head, previous_signature, key_id, _payload, _signature = row
    return canonical_bytes(
        checkpoint_payload(
            number=number,
            created_at=format_time(created_at),
            last_seq=last_seq,
            chain_head=chain_head,
            previous_signature=previous_signature,
            key_id=key_id,
        )
    )


def _check_sequence(report: Report, row: tuple, previous: tuple | None) -> None:
    number, _created, last_seq, _head, previous_signature = row[:5]
    expected_number = previous[0] + 1 if previous else 1
    expected_signature = previous[7] if previous else ""
    if number != expected_number:
        report.add(
            Problem(
                "checkpoint_sequence",
                f"checkpoint {number} follows checkpoint {expected_number - 1}: checkpoints are missing",
                seq=last_seq,
                checkpoint=number,
            )
        )
    elif previous_signature != expected_signature:
        report.add(
            Problem(
                "checkpoint_sequence",
                f"checkpoint {number} does not sign the signature of checkpoint {expected_number - 1}",
                seq=last_seq,
                checkpoint=number,
            )
        )
    if previous is not None and last_seq < previous[2]:
        report.add(
            Problem(
                "checkpoint_sequence",
                f"checkpoint {number} covers seq {last_seq}, less than its predecessor's {previous[2]}",
                seq=last_seq,
                checkpoint=number,
            )
        )


def _check_signature(
    report: Report,
    keys: dict[str, Ed25519PublicKey],
    key_id: str,
    payload: bytes,
    signature: str,
    number,
    kind,
) -> bool:
    code = "export_signature" if kind == "export" else "checkpoint_signature"
    key = keys.get(key_id)
    if key is None:
        unknown = "export_signature" if kind == "export" else "checkpoint_unknown_key"
        report.add(
            Problem(
                unknown,
                f"{kind} {number} is signed by key {str(key_id)[:16]}…, which is not a trusted public key",
                checkpoint=number,
            )
        )
        return False
    try:
        key.verify(bytes.fromhex(signature), payload)
    except (InvalidSignature, ValueError, TypeError):
        report.add(
            Problem(code, f"{kind} {number}: the Ed25519 signature does not verify", checkpoint=number)
        )
        return False
    return True


def _check_export(
    report: Report, keys: dict[str, Ed25519PublicKey], export: Path, connection
) -> list[Anchor]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT number, payload, signature FROM governance_auditcheckpoint")
        stored = {number: (bytes(payload), signature) for number, payload, signature in cursor.fetchall()}
    anchors = []
    for line in checkpoint_io.read_export(export):
        number = line.get("number")
        try:
            signed = checkpoint_io.signed_bytes(line)
        except Exception:  # rfc8785 refuses floats and huge numbers: the line is malformed
            report.add(Problem("export_signature", f"exported checkpoint {number} is malformed"))
            continue
        valid = _check_signature(
            report, keys, str(line.get("key_id")), signed, str(line.get("signature")), number, "export"
        )
        if number not in stored:
            report.add(
                Problem(
                    "export_missing",
                    f"exported checkpoint {number} is not in the database: the checkpoint table was rewritten",
                    seq=_int_or_none(line.get("last_seq")),
                    checkpoint=number,
                )
            )
        elif stored[number] != (signed, line.get("signature")):
            report.add(
                Problem(
                    "export_mismatch",
                    f"checkpoint {number} in the database differs from its exported copy",
                    seq=_int_or_none(line.get("last_seq")),
                    checkpoint=number,
                )
            )
        if valid and isinstance(line.get("last_seq"), int):
            anchors.append(Anchor(line["last_seq"], str(line.get("chain_head")), number, "export"))
    report.exported_checkpoints_checked = len(anchors)
    return anchors


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# ---------------------------------------------------------------------------------------- the walk


class _Walk:
    """State of one pass over the events; ``step`` is the hot loop, kept small on purpose."""

    def __init__(self, report: Report, anchors: list[Anchor], connection):
        self.report = report
        self.connection = connection
        self.anchors: dict[int, list[Anchor]] = {}
        for anchor in anchors:
            self.anchors.setdefault(anchor.last_seq, []).append(anchor)
        self.expected = report.from_seq
        # Hashes travel as ASCII bytes (psycopg2's BYTES caster): no decoding of every row's text.
        self.head: bytes | None = GENESIS_HASH.encode() if report.from_seq == 1 else None
        self.before_head: bytes | None = None
        self.last_anchor_seq = report.from_seq - 1
        start_anchor = self.anchors.get(report.from_seq - 1)
        if self.head is None and start_anchor:
            self.head = start_anchor[0].chain_head.encode()

    def run(self, rows, progress: Progress | None, total: int) -> None:
        report = self.report
        tag = DOMAIN_TAG
        sha256 = hashlib.sha256
        unhex = binascii.unhexlify
        anchors = self.anchors
        count = 0
        next_progress = PROGRESS_EVERY
        for batch in rows:
            if report.first_seq is None and batch:
                report.first_seq = batch[0][0]
            for seq, schema, prev_hash, stored_hash, ok, text, raw in batch:
                if seq != self.expected:
                    self._gap(seq)
                if self.head is None:  # --from-seq with no checkpoint right before: trust the first link
                    self.head = prev_hash
                if prev_hash != self.head:
                    self._link(seq, prev_hash)
                if ok:
                    data = text  # the rebuilt text, equal to the stored bytes (checked in SQL)
                else:
                    data = bytes(raw)
                    self._disagrees(seq)
                if schema != SCHEMA_VERSION:
                    report.add(Problem("unknown_schema", f"schema version {schema} is not known", seq=seq))
                try:
                    intact = sha256(tag + unhex(prev_hash) + sha256(data).digest()).digest() == unhex(
                        stored_hash
                    )
                except ValueError:
                    intact = False
                if not intact:
                    report.add(
                        Problem(
                            "hash_mismatch",
                            "the event's bytes do not hash to its stored hash: the event was altered",
                            seq=seq,
                        )
                    )
                if seq in anchors:
                    self._anchor(seq, stored_hash)
                self.before_head, self.head = self.head, stored_hash
                self.expected = seq + 1
            count += len(batch)
            if progress is not None and count >= next_progress:
                progress(count, total)
                next_progress = count + PROGRESS_EVERY
        report.events_checked = count
        if count:
            report.last_seq = self.expected - 1
            report.chain_head = self.head.decode() if self.head else None
        if progress is not None:
            progress(count, max(total, count))

    def _gap(self, seq: int) -> None:
        if seq > self.expected:
            missing = (
                f"event {self.expected} is"
                if seq == self.expected + 1
                else (f"events {self.expected}..{seq - 1} are")
            )
            self.report.add(Problem("gap", f"{missing} missing", seq=self.expected))
            self.head = self.before_head = None  # the link across a gap is explained by the gap
        self.expected = seq

    def _link(self, seq: int, prev_hash: bytes) -> None:
        if self.before_head is not None and prev_hash == self.before_head:
            self.report.add(
                Problem(
                    "inserted",
                    f"event {seq - 1} does not belong to the chain: event {seq} links to the event before it",
                    seq=seq - 1,
                )
            )
            return
        self.report.add(
            Problem(
                "broken_link",
                "prev_hash is not the previous event's hash: events were removed, inserted or reordered",
                seq=seq,
            )
        )

    def _disagrees(self, seq: int) -> None:
        # Rare (tampering), so one query per row is fine; the server-side cursor stays open meanwhile.
        columns = disagreeing_columns(self.connection, seq)
        if columns:
            self.report.add(
                Problem(
                    "columns_disagree",
                    f"column(s) {', '.join(columns)} differ from the event's hashed bytes",
                    seq=seq,
                )
            )

    def _anchor(self, seq: int, stored_hash: bytes) -> None:
        for anchor in self.anchors[seq]:
            if anchor.chain_head.encode() != stored_hash:
                where = "its exported copy" if anchor.source == "export" else "the database"
                self.report.add(
                    Problem(
                        "checkpoint_mismatch",
                        f"the chain head at seq {seq} differs from checkpoint {anchor.number} ({where}): "
                        f"an event between seq {self.last_anchor_seq + 1} and {seq} was altered and the "
                        "chain re-hashed after it",
                        seq=seq,
                        checkpoint=anchor.number,
                    )
                )
        self.last_anchor_seq = seq

    def finish(self) -> None:
        """Checks that need the whole walk: the table reaches every checkpoint."""
        last_seen = self.expected - 1
        beyond = [a for group in self.anchors.values() for a in group if a.last_seq > last_seen]
        if beyond:
            furthest = max(beyond, key=lambda a: a.last_seq)
            self.report.add(
                Problem(
                    "truncated",
                    f"the table ends at seq {last_seen} but checkpoint {furthest.number} covers seq "
                    f"{furthest.last_seq}: events {last_seen + 1}..{furthest.last_seq} were removed",
                    seq=last_seen + 1,
                    checkpoint=furthest.number,
                )
            )


def _walk(report: Report, anchors: list[Anchor], connection, progress: Progress | None) -> None:
    walk = _Walk(report, anchors, connection)
    total = _event_count(connection, report.from_seq)
    cursor = connection.connection.cursor(name=f"attest_audit_verify_{id(walk)}", withhold=False)
    psycopg2.extensions.register_type(psycopg2.extensions.BYTES, cursor)  # text columns as bytes
    cursor.itersize = BATCH_ROWS
    try:
        cursor.execute(AGREEMENT_SQL, [report.from_seq])
        with _Prefetcher(cursor) as batches:
            walk.run(batches, progress, total)
    finally:
        cursor.close()
    walk.finish()


class _Prefetcher:
    """Fetches the next batch in a thread while the caller hashes the current one.

    PostgreSQL builds rows (on its own core) while Python hashes: psycopg2 releases the GIL while it
    waits for the server. The queue holds at most two batches, so memory stays bounded.
    """

    def __init__(self, cursor):
        self.cursor = cursor
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._fetch, name="audit-verify-prefetch", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self._batches()

    def __exit__(self, *exc_info) -> None:
        self.stopping.set()
        while self.thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self.queue.get(timeout=0.05)  # unblock a pending put
        self.thread.join()

    def _fetch(self) -> None:
        try:
            while not self.stopping.is_set():
                rows = self.cursor.fetchmany(BATCH_ROWS)
                self._put(rows)
                if not rows:
                    return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put(exc)

    def _put(self, item) -> None:
        while not self.stopping.is_set():
            with contextlib.suppress(queue.Full):
                self.queue.put(item, timeout=0.05)
                return

    def _batches(self):
        while True:
            item = self.queue.get()
            if isinstance(item, BaseException):
                raise item
            if not item:
                return
            yield item


def _event_count(connection, from_seq: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(seq) FROM governance_auditevent")
        (last,) = cursor.fetchone()
    return max((last or 0) - from_seq + 1, 0)


def describe(report: Report) -> list[str]:
    """The report as lines for a terminal."""
    lines = [
        f"events checked: {report.events_checked:,}"
        + (f" (seq {report.first_seq:,}..{report.last_seq:,})" if report.events_checked else ""),
        f"checkpoints checked: {report.checkpoints_checked:,} in the database"
        + (
            f", {report.exported_checkpoints_checked:,} exported"
            if report.exported_checkpoints_checked
            else ""
        ),
        f"time: {report.seconds:.2f} s"
        + (f" ({report.events_checked / report.seconds:,.0f} events/s)" if report.seconds > 0 else ""),
    ]
    lines += [f"warning: {warning}" for warning in report.warnings]
    problems = sorted(report.problems, key=lambda p: _problem_order(asdict(p)))
    for problem in problems:
        where = f"seq {problem.seq}" if problem.seq is not None else f"checkpoint {problem.checkpoint}"
        lines.append(f"problem at {where} [{problem.code}]: {problem.message}")
    if report.problems_omitted:
        lines.append(f"… and {report.problems_omitted} more problems")
    return lines


def to_json(report: Report) -> str:
    return json.dumps(report.as_dict(), sort_keys=True)
