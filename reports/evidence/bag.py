"""BagIt (RFC 8493) bags, serialised as a zip, built in memory and byte-for-byte reproducible.

The zip holds one top-level folder, the bag (RFC 8493 §4.2: a serialisation contains exactly one bag,
named like the archive)::

    <name>/bagit.txt                BagIt-Version: 1.0, UTF-8
    <name>/bag-info.txt             metadata, including Payload-Oxum and Bagging-Date
    <name>/manifest-sha256.txt      SHA-256 of every payload file
    <name>/tagmanifest-sha256.txt   SHA-256 of the three tag files above
    <name>/data/...                 the payload

Once unzipped it validates with ``bagit.py --validate <dir>/<name>`` (the Library of Congress tool, the
``bagit`` package) or ``bagit.Bag(path).validate()``; changing, adding or removing a payload file makes
validation fail.

The bag is written here rather than with ``bagit.make_bag`` because that works in place on a folder on
disk and stamps today's date; here every zip entry has a fixed timestamp (the bagging time given),
fixed permissions and a fixed order, so the same files and metadata always give the same bytes.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
SOFTWARE_AGENT = "Attest BagIt writer"
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=@-]*$")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class PayloadFile:
    """A payload file: ``path`` relative to ``data/`` (segments of ``A-Z a-z 0-9 . _ + = @ -``)."""

    path: str
    content: bytes


def build_bag_zip(
    files: Iterable[PayloadFile | tuple[str, bytes]],
    *,
    name: str,
    bagged_at: datetime,
    info: Mapping[str, str | Sequence[str]] | None = None,
) -> bytes:
    """A zipped bag named ``name`` with ``files`` as payload and ``info`` added to ``bag-info.txt``.

    ``bagged_at`` (timezone-aware) gives ``Bagging-Date`` and every zip entry's timestamp.
    ``Payload-Oxum``, ``Bag-Size``, ``Bagging-Date`` and ``Bag-Software-Agent`` are filled in. Raises
    ``ValueError`` for an unsafe or duplicate path, a bad bag name or a label/value that would break the
    tag file's line format.
    """
    payload = _payload(files)
    _check_segment(name, "bag name")
    tags = _tag_files(payload, bagged_at, info or {})
    entries = [(f"{name}/{path}", content) for path, content in tags]
    entries += [(f"{name}/data/{path}", content) for path, content in sorted(payload.items())]
    directories = _directories(name, payload)
    return _zip(directories, entries, bagged_at)


def sha256_hex(content: bytes) -> str:
    """Lower-case hex SHA-256, as written in the manifests."""
    return hashlib.sha256(content).hexdigest()


# ---------------------------------------------------------------------------------------------- parts


def _payload(files: Iterable[PayloadFile | tuple[str, bytes]]) -> dict[str, bytes]:
    payload: dict[str, bytes] = {}
    for item in files:
        path, content = (item.path, item.content) if isinstance(item, PayloadFile) else item
        for segment in path.split("/"):
            _check_segment(segment, f"payload path {path!r}")
        if path in payload:
            raise ValueError(f"duplicate payload path {path!r}")
        payload[path] = bytes(content)
    return payload


def _tag_files(
    payload: dict[str, bytes], bagged_at: datetime, info: Mapping[str, str | Sequence[str]]
) -> list[tuple[str, bytes]]:
    manifest = _manifest((f"data/{path}", content) for path, content in sorted(payload.items()))
    bag_info = _bag_info(payload, bagged_at, info)
    tags = [("bagit.txt", BAGIT_TXT), ("bag-info.txt", bag_info), ("manifest-sha256.txt", manifest)]
    return [*tags, ("tagmanifest-sha256.txt", _manifest(tags))]


def _manifest(entries: Iterable[tuple[str, bytes]]) -> bytes:
    # Paths are restricted to characters that need no percent-encoding (RFC 8493 §2.1.3).
    return "".join(f"{sha256_hex(content)}  {path}\n" for path, content in entries).encode()


def _bag_info(
    payload: dict[str, bytes], bagged_at: datetime, info: Mapping[str, str | Sequence[str]]
) -> bytes:
    octets = sum(len(content) for content in payload.values())
    reserved = {
        "Bagging-Date": _utc(bagged_at).date().isoformat(),
        "Bag-Software-Agent": SOFTWARE_AGENT,
        "Payload-Oxum": f"{octets}.{len(payload)}",
        "Bag-Size": _size(octets),
    }
    clash = sorted(set(info) & set(reserved))
    if clash:
        raise ValueError(f"bag-info labels {clash} are filled in by the writer")
    lines = []
    for label, value in [*info.items(), *reserved.items()]:
        values = [value] if isinstance(value, str) else list(value)
        lines.extend(_info_line(label, item) for item in values)
    return "".join(lines).encode("utf-8")


def _info_line(label: str, value: str) -> str:
    if not _LABEL.match(label):
        raise ValueError(f"bag-info label {label!r} must be letters, digits, '.', '_' or '-'")
    # One physical line per element: line breaks inside a value become spaces.
    return f"{label}: {' '.join(value.split())}\n"


def _size(octets: int) -> str:
    size = float(octets)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{octets} bytes"


def _directories(name: str, payload: dict[str, bytes]) -> list[str]:
    folders = {f"{name}/", f"{name}/data/"}
    for path in payload:
        parts = path.split("/")[:-1]
        folders.update(f"{name}/data/{'/'.join(parts[: i + 1])}/" for i in range(len(parts)))
    return sorted(folders)


def _zip(directories: list[str], entries: list[tuple[str, bytes]], bagged_at: datetime) -> bytes:
    stamp = _utc(bagged_at).timetuple()[:6]
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for folder in directories:
            entry = _entry(folder, stamp, 0o40755)
            entry.external_attr |= 0x10  # MS-DOS directory flag
            archive.writestr(entry, b"")
        for path, content in entries:
            archive.writestr(
                _entry(path, stamp, 0o100644), content, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6
            )
    return buffer.getvalue()


def _entry(path: str, stamp: tuple, mode: int) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(path, date_time=max(stamp, (1980, 1, 1, 0, 0, 0)))
    entry.create_system = 3  # Unix, so the permission bits below are honoured on extraction
    entry.external_attr = mode << 16
    return entry


def _check_segment(segment: str, what: str) -> None:
    if not _SEGMENT.match(segment):
        raise ValueError(
            f"{what}: segments must start with a letter or digit and use only A-Z a-z 0-9 . _ + = @ -"
        )


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("bagged_at must be timezone-aware")
    return moment.astimezone(UTC)
