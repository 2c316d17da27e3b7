"""Framing of the messages between :mod:`reports.rendering.pdf` and its render worker process.

A frame is one line of JSON (the header, with ``kind`` and the payload's ``size`` in bytes) followed by
exactly ``size`` bytes of payload. JSON carries the small metadata, raw bytes carry the HTML, attachments,
chart SVGs and the finished PDF, so nothing is base64-encoded on the way.

Parent to worker: ``job`` (HTML, options), ``attachment`` (one per file), ``start``, then ``chart`` frames
as the charts are drawn, then ``end``. Worker to parent: one ``result`` (PDF) or ``error`` frame.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, BinaryIO

MAX_HEADER_BYTES = 1 << 20
MAX_PAYLOAD_BYTES = 1 << 30


class ProtocolError(RuntimeError):
    """A frame was malformed or the stream ended in the middle of one."""


@dataclass(frozen=True)
class Frame:
    """One message: its kind, its JSON metadata and its binary payload."""

    kind: str
    meta: dict[str, Any] = field(default_factory=dict)
    payload: bytes = b""


def write_frame(
    stream: BinaryIO, kind: str, meta: dict[str, Any] | None = None, payload: bytes = b""
) -> None:
    """Write one frame and flush, so the reader sees it without waiting for more."""
    header = {"kind": kind, "size": len(payload), "meta": meta or {}}
    stream.write(json.dumps(header, separators=(",", ":")).encode() + b"\n")
    if payload:
        stream.write(payload)
    stream.flush()


def read_frame(stream: BinaryIO) -> Frame | None:
    """Read the next frame; ``None`` at a clean end of stream (between frames).

    Raises :class:`ProtocolError` for an oversized or malformed header or a truncated payload.
    """
    line = stream.readline(MAX_HEADER_BYTES + 1)
    if not line:
        return None
    if len(line) > MAX_HEADER_BYTES or not line.endswith(b"\n"):
        raise ProtocolError("frame header is too long or truncated")
    try:
        header = json.loads(line)
        kind, size, meta = str(header["kind"]), int(header["size"]), dict(header["meta"])
    except (ValueError, KeyError, TypeError) as error:
        raise ProtocolError(f"malformed frame header: {line[:200]!r}") from error
    if not 0 <= size <= MAX_PAYLOAD_BYTES:
        raise ProtocolError(f"frame payload size {size} is out of range")
    payload = _read_exactly(stream, size)
    return Frame(kind, meta, payload)


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    chunks = []
    remaining = size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            raise ProtocolError(f"stream ended {remaining} bytes before the end of a frame")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
