"""Signed checkpoints of the chain head, and their export outside the database.

A checkpoint signs (number, time, last seq, chain head, previous checkpoint's signature, key id) with
the Ed25519 key from ``ATTEST_AUDIT_SIGNING_KEY``. After commit it is written to
``ATTEST_AUDIT_EXPORT_DIR`` twice: appended as one JSON line to ``checkpoints.jsonl`` and as its own
file ``checkpoint-<number>.json`` (one immutable object per checkpoint for S3 Object Lock). An export
line is the signed payload plus ``signature``: drop that member, canonicalise with RFC 8785 and you
have the signed bytes. Rewriting the events and the checkpoint table together therefore still
disagrees with the exported copies.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from audit import keys
from audit.chain import canonical_bytes, checkpoint_payload, format_time
from audit.models import AuditCheckpoint, AuditEvent
from audit.recorder import lock_chain, record

EXPORT_FILE = "checkpoints.jsonl"
ANNOUNCEMENT = "audit.checkpoint_signed"


class CheckpointError(RuntimeError):
    """The export could not be read or written."""


def create(*, actor=None, force: bool = False) -> AuditCheckpoint | None:
    """Sign the current chain head; returns None when there is nothing new to sign.

    Guarantees: taken under the chain lock, so (last seq, head) is a real, committed state of the
    chain; numbered gaplessly and linked to the previous checkpoint's signature; announced by an
    ``audit.checkpoint_signed`` event in the same transaction; exported after commit. "Nothing new"
    means no event since the last checkpoint other than that checkpoint's own announcement, so an
    idle system does not sign every hour; ``force`` signs anyway.
    """
    private_key, _created = keys.signing_key(create_if_missing=not settings.PRODUCTION)
    public_id = keys.key_id(private_key.public_key())
    with transaction.atomic():
        lock_chain()
        head = AuditEvent.objects.order_by("-seq").values("seq", "hash", "action").first()
        previous = AuditCheckpoint.objects.order_by("-number").first()
        if head is None or (not force and _nothing_new(head, previous)):
            return None
        payload = checkpoint_payload(
            number=previous.number + 1 if previous else 1,
            created_at=format_time(_database_now()),
            last_seq=head["seq"],
            chain_head=head["hash"],
            previous_signature=previous.signature if previous else "",
            key_id=public_id,
        )
        signed = canonical_bytes(payload)
        checkpoint = AuditCheckpoint.objects.create(
            number=payload["number"],
            created_at=payload["created_at"],
            last_seq=payload["last_seq"],
            chain_head=payload["chain_head"],
            previous_signature=payload["previous_signature"],
            key_id=public_id,
            payload=signed,
            signature=private_key.sign(signed).hex(),
        )
        record(action=ANNOUNCEMENT, actor=actor, obj=checkpoint, after=_summary(payload))
        transaction.on_commit(export_pending)
    return checkpoint


def _nothing_new(head: dict[str, Any], previous: AuditCheckpoint | None) -> bool:
    if previous is None:
        return False
    if head["seq"] == previous.last_seq:
        return True
    return head["seq"] == previous.last_seq + 1 and head["action"] == ANNOUNCEMENT


def _database_now():
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def _summary(payload: dict[str, Any]) -> dict[str, Any]:
    return {key: payload[key] for key in ("number", "last_seq", "chain_head", "key_id")}


def export_line(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    """The exported form: the signed payload's members plus ``signature``."""
    return {**json.loads(bytes(checkpoint.payload)), "signature": checkpoint.signature}


def signed_bytes(line: dict[str, Any]) -> bytes:
    """The bytes an exported line's signature covers."""
    return canonical_bytes({key: value for key, value in line.items() if key != "signature"})


def export_dir() -> Path:
    return Path(settings.ATTEST_AUDIT_EXPORT_DIR)


def default_export() -> Path | None:
    """The configured export folder when it holds checkpoints, for verifications that name none."""
    directory = export_dir()
    if directory.is_dir() and any(directory.glob("checkpoint*.json*")):
        return directory
    return None


def export_pending(directory: Path | None = None) -> list[int]:
    """Export every checkpoint not exported yet; returns their numbers. Safe to run concurrently.

    Each checkpoint's own file is created exclusively first, so two exporters never both append the
    same line; the JSON line is then appended and flushed to disk.
    """
    directory = directory or export_dir()
    directory.mkdir(parents=True, exist_ok=True)
    exported = []
    for checkpoint in AuditCheckpoint.objects.filter(number__gt=_last_exported(directory)):
        line = json.dumps(export_line(checkpoint), sort_keys=True) + "\n"
        try:
            descriptor = os.open(
                _file_for(directory, checkpoint.number), os.O_WRONLY | os.O_CREAT | os.O_EXCL
            )
        except FileExistsError:
            continue
        with os.fdopen(descriptor, "w") as handle:
            handle.write(line)
        _append(directory / EXPORT_FILE, line)
        exported.append(checkpoint.number)
    return exported


def _file_for(directory: Path, number: int) -> Path:
    return directory / f"checkpoint-{number:012d}.json"


def _last_exported(directory: Path) -> int:
    numbers = [int(path.stem.split("-")[1]) for path in directory.glob("checkpoint-*.json")]
    return max(numbers, default=0)


def _append(path: Path, line: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def read_export(path: Path) -> list[dict[str, Any]]:
    """Exported checkpoints from a JSON-lines file, or from every ``*.json``/``*.jsonl`` in a folder.

    Duplicates (the same checkpoint in the file and in its own file) are merged; two different lines
    for one number are both kept, so the verifier reports the conflict.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint export {path} does not exist")
    files = sorted(path.glob("*.json*")) if path.is_dir() else [path]
    lines: dict[str, dict[str, Any]] = {}
    for file in files:
        for number, text in _lines(file):
            try:
                line = json.loads(text)
            except ValueError:
                raise CheckpointError(f"{file}, line {number}: not JSON") from None
            if not isinstance(line, dict) or "number" not in line:
                raise CheckpointError(f"{file}, line {number}: not a checkpoint")
            lines.setdefault(json.dumps(line, sort_keys=True), line)
    return sorted(lines.values(), key=lambda line: (str(type(line["number"])), line["number"]))


def _lines(file: Path) -> Iterator[tuple[int, str]]:
    with file.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if text.strip():
                yield number, text
