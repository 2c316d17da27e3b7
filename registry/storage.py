"""Content-addressed blob storage for artifacts and dataset files, on Django's storage API.

Blobs are named by their SHA-256 only (``artifacts/sha256/ab/cd/abcd…``), so the client's file name never
reaches a path, identical bytes are stored once, and a stored blob can be re-verified against its name.
Writing a blob is idempotent and happens before the database transaction that references it: a rolled
back request may leave an unreferenced blob behind, never a row pointing at a missing one.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import BinaryIO

from django.core.files import File
from django.core.files.storage import default_storage

CHUNK_BYTES = 1024 * 1024
MAX_DISPLAY_NAME = 255
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x1f\x7f/\\]")


@dataclass(frozen=True)
class Upload:
    """A received file: a seekable binary file object, its SHA-256 and size (computed while streaming
    in), and the sanitised name the client gave it."""

    file: BinaryIO
    sha256: str
    size: int
    filename: str

    def temporary_path(self) -> str | None:
        """The file's path on local disk when Django spooled it there, else None (small uploads)."""
        getter = getattr(self.file, "temporary_file_path", None)
        return getter() if getter else None


def content_key(prefix: str, sha256: str) -> str:
    """The storage name of a blob: ``<prefix>/sha256/ab/cd/<digest>`` (fan-out keeps folders small)."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError("a storage key needs a lowercase hex SHA-256")
    return f"{prefix}/sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def store(prefix: str, upload: Upload) -> str:
    """Put the upload's bytes under their content key and return the key; a no-op when already stored.

    With local storage, a spooled upload is moved into place rather than copied.
    """
    key = content_key(prefix, upload.sha256)
    if default_storage.exists(key):
        return key
    upload.file.seek(0)
    saved = default_storage.save(key, upload.file if isinstance(upload.file, File) else File(upload.file))
    if saved != key:  # a concurrent request stored the same bytes first; theirs are identical
        default_storage.delete(saved)
    return key


def open_blob(key: str) -> File:
    return default_storage.open(key, "rb")


def iter_chunks(fileobj: BinaryIO, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    while chunk := fileobj.read(chunk_bytes):
        yield chunk


def hash_file(fileobj: BinaryIO) -> tuple[str, int]:
    """SHA-256 and size of a file object, read in chunks from its start (for uploads made in-process)."""
    digest = hashlib.sha256()
    size = 0
    fileobj.seek(0)
    for chunk in iter_chunks(fileobj):
        digest.update(chunk)
        size += len(chunk)
    fileobj.seek(0)
    return digest.hexdigest(), size


def upload_from_file(fileobj: BinaryIO, filename: str) -> Upload:
    """An Upload for a file already open in this process (seed data, benchmarks, tests)."""
    sha256, size = hash_file(fileobj)
    return Upload(file=fileobj, sha256=sha256, size=size, filename=display_name(filename, "upload"))


def display_name(raw: str | None, fallback: str) -> str:
    """A client file name made safe to show and to put in a Content-Disposition header.

    Only the last path component survives (POSIX or Windows separators), control characters and NUL
    are dropped, the result is NFC-normalised and cut to 255 characters keeping the extension.
    """
    name = unicodedata.normalize("NFC", raw or "")
    name = PureWindowsPath(PurePosixPath(name.replace("\x00", "")).name).name
    name = _UNSAFE_CHARACTERS.sub("", name).strip().strip(".")
    if not name:
        return fallback
    if len(name) > MAX_DISPLAY_NAME:
        _stem, dot, extension = name.rpartition(".")
        keep = extension if dot and 0 < len(extension) <= 16 else ""
        name = (name[: MAX_DISPLAY_NAME - len(keep) - 1] + "." + keep) if keep else name[:MAX_DISPLAY_NAME]
    return name
