"""Zip archives from uploads, inspected from their central directory before any member is read.

A 200 KB zip can declare gigabytes of members (a zip bomb); reading a member inflates it in memory. The
central directory lists every member with its inflated size, and ``zipfile`` never yields more bytes than
that declared size (a member that inflates further fails its CRC instead), so checking the directory bounds
everything read afterwards. The caps are settings (docs/OPERATIONS.md):

- ``ATTEST_ARCHIVE_MAX_MEMBERS``: members in one archive (default 10,000);
- ``ATTEST_ARCHIVE_MAX_BYTES``: their inflated total (default 2 GiB);
- ``ATTEST_ARCHIVE_MAX_RATIO``: inflated total / archive size, once past 1 MiB inflated (default 200; a
  fitted model's arrays compress far less, a zip bomb by thousands).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings

ZIP_MAGIC = b"PK\x03\x04"
RATIO_APPLIES_ABOVE = 1024 * 1024
DEFAULTS = {
    "ATTEST_ARCHIVE_MAX_MEMBERS": 10_000,
    "ATTEST_ARCHIVE_MAX_BYTES": 2 * 1024**3,
    "ATTEST_ARCHIVE_MAX_RATIO": 200,
}


class ArchiveRefused(ValueError):
    """The archive is larger inside than the caps allow."""


class NotAZip(ArchiveRefused):
    """The bytes start like a zip but have no readable central directory."""


@dataclass(frozen=True)
class ArchiveSummary:
    members: int
    inflated_bytes: int
    names: frozenset[str]


def is_zip(head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC)


def limit(name: str) -> int:
    return getattr(settings, name, DEFAULTS[name])


def inspect_zip(fileobj: BinaryIO, size: int) -> ArchiveSummary:
    """Read the central directory of the zip in ``fileobj`` (``size`` bytes) and refuse it past the caps.

    Nothing is inflated. Raises ArchiveRefused with a sentence for the uploader (NotAZip when the
    directory cannot be read at all).
    """
    try:
        with zipfile.ZipFile(fileobj) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise NotAZip(f"The zip archive cannot be read: {exc}.") from None
    finally:
        fileobj.seek(0)
    summary = ArchiveSummary(
        members=len(infos),
        inflated_bytes=sum(info.file_size for info in infos),
        names=frozenset(info.filename for info in infos),
    )
    _require_within_caps(summary, size)
    return summary


def _require_within_caps(summary: ArchiveSummary, size: int) -> None:
    members, total, ratio = (
        limit("ATTEST_ARCHIVE_MAX_MEMBERS"),
        limit("ATTEST_ARCHIVE_MAX_BYTES"),
        limit("ATTEST_ARCHIVE_MAX_RATIO"),
    )
    if summary.members > members:
        raise ArchiveRefused(
            f"The zip archive holds {summary.members:,} files; at most {members:,} are accepted."
        )
    if summary.inflated_bytes > total:
        raise ArchiveRefused(
            f"The zip archive inflates to {summary.inflated_bytes:,} bytes; at most {total:,} are accepted."
        )
    if summary.inflated_bytes > RATIO_APPLIES_ABOVE and summary.inflated_bytes > ratio * max(size, 1):
        raise ArchiveRefused(
            f"The zip archive inflates {summary.inflated_bytes / max(size, 1):,.0f}-fold "
            f"({size:,} to {summary.inflated_bytes:,} bytes); at most {ratio}-fold is accepted."
        )
