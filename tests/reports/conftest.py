"""Fixtures for the report tests: rendered PDFs (rendered once per module, they take seconds) and a
guard that fails the test if anything in this process opens a network connection."""

from __future__ import annotations

import contextlib
import io
import re
import socket

import pytest
from pypdf import PdfReader


@contextlib.contextmanager
def network_blocked():
    """Within the block, any attempt to connect a socket or resolve a name in this process fails the test."""

    def refuse(*args, **kwargs):
        pytest.fail(f"a network connection was attempted: {args[1:]!r}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket.socket, "connect_ex", refuse)
        patch.setattr(socket, "create_connection", refuse)
        patch.setattr(socket, "getaddrinfo", refuse)
        yield


@pytest.fixture
def no_network():
    """Any attempt to connect a socket in the test process fails the test."""
    with network_blocked():
        yield


def read_pdf(pdf: bytes) -> PdfReader:
    """A pypdf reader over PDF bytes."""
    return PdfReader(io.BytesIO(pdf))


def pdf_text(pdf: bytes) -> str:
    """All extracted text, pages joined by form feeds, whitespace runs within a line collapsed."""
    pages = [page.extract_text() for page in read_pdf(pdf).pages]
    return "\f".join(re.sub(r"[ \t]+", " ", page) for page in pages)


def outline_titles(pdf: bytes) -> list[str]:
    """Every bookmark title, depth first."""

    def walk(items):
        for item in items:
            if isinstance(item, list):
                yield from walk(item)
            else:
                yield item.title

    return list(walk(read_pdf(pdf).outline))


def contents_entries(text: str) -> dict[str, int]:
    """``{title: page}`` from the table of contents (the page after the cover)."""
    contents = text.split("\f")[1]
    entries = {}
    for line in contents.splitlines():
        match = re.match(r"^(.*?)\s*\.{3,}\s*(\d+)$", line.strip())
        if match:
            entries[match.group(1).strip()] = int(match.group(2))
    return entries
