"""Multipart upload handling: hash while receiving, stop at the size cap.

``HashingUploadHandler`` sits in front of Django's memory and temporary-file handlers. It sees every
chunk once, feeds it to SHA-256, counts bytes and refuses the request with 413 as soon as either the
declared Content-Length or the bytes actually received pass the cap, so an oversized body is never
stored whole. Files are never read into memory: past FILE_UPLOAD_MAX_MEMORY_SIZE Django spools them to
a temporary file, which storage then moves into place.
"""

from __future__ import annotations

import hashlib

from django.core.files.uploadhandler import (
    FileUploadHandler,
    MemoryFileUploadHandler,
    TemporaryFileUploadHandler,
)
from django.http import HttpRequest

from config.api.errors import PayloadTooLarge

# Room for the multipart boundaries and the small metadata fields sent beside the file.
MULTIPART_ALLOWANCE = 256 * 1024
DIGESTS_ATTRIBUTE = "_attest_upload_digests"


class HashingUploadHandler(FileUploadHandler):
    """Computes SHA-256 and size per file field; raises PayloadTooLarge past ``max_bytes``."""

    def __init__(self, request: HttpRequest, *, max_bytes: int):
        super().__init__(request)
        self.max_bytes = max_bytes
        self._digest = hashlib.sha256()
        self._received = 0
        setattr(request, DIGESTS_ATTRIBUTE, {})

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.max_bytes + MULTIPART_ALLOWANCE:
            raise PayloadTooLarge(f"Uploads are limited to {self.max_bytes} bytes.")

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self._digest = hashlib.sha256()
        self._received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self._received += len(raw_data)
        if self._received > self.max_bytes:
            raise PayloadTooLarge(f"Uploads are limited to {self.max_bytes} bytes.")
        self._digest.update(raw_data)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        getattr(self.request, DIGESTS_ATTRIBUTE)[self.field_name] = (self._digest.hexdigest(), self._received)
        return None  # let the next handler build the file object


def install(request: HttpRequest, *, max_bytes: int) -> None:
    """Replace the request's upload handlers before its body is read."""
    request.upload_handlers = [
        HashingUploadHandler(request, max_bytes=max_bytes),
        MemoryFileUploadHandler(request),
        TemporaryFileUploadHandler(request),
    ]


def digest_of(request: HttpRequest, field_name: str) -> tuple[str, int] | None:
    """(sha256, size) computed while ``field_name`` streamed in, or None if it was not received."""
    return getattr(request, DIGESTS_ATTRIBUTE, {}).get(field_name)
