"""Evidence documents as safe HTML, the same way in the PDF reports and on the web pages.

Markdown documents (``.md``, ``.markdown``) are rendered as CommonMark with raw HTML off and images off
(markdown-it-py), then the HTML is sanitised with nh3 against a short allow-list (headings, paragraphs,
lists, emphasis, code, quotes, rules and http(s)/mailto links), so a ``<script>`` or a ``javascript:``
link never reaches a page or a PDF. Any other text document is plain text: :func:`literal` quotes it
into Markdown so that it renders as exactly its characters, line breaks kept.

A document's headings are demoted below the headings of the page that shows it (``top_heading``): a
memo's ``# Title`` becomes an ``<h3>`` under a report's section and item headings, so it never breaks
the document outline, the PDF bookmarks or the tagged structure.

Report inputs carry Markdown *source* (plain strings, part of the inputs digest); the HTML is made when
the report or page is laid out.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

import nh3
from markdown_it import MarkdownIt

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
PREVIEW_MAX_BYTES = 64 * 1024
ALLOWED_TAGS = frozenset(
    {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "code"}
    | {"em", "strong", "a"}
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})

# Characters that start inline markup anywhere, and block markup at the start of a line.
_INLINE = re.compile(r"([\\`*_\[\]<&])")
_BLOCK_START = re.compile(r"^([#>+=~|-])")
_ORDERED = re.compile(r"^(\d{1,9})([.)])")


@dataclass(frozen=True)
class DocumentText:
    """The text of a stored document and whether it is Markdown (otherwise plain text)."""

    text: str
    markdown: bool

    @property
    def source(self) -> str:
        """The document as Markdown source: as written, or quoted by :func:`literal`."""
        return self.text if self.markdown else literal(self.text)


def is_markdown(file_name: str) -> bool:
    """Whether a document is Markdown, by its file name's suffix."""
    return PurePosixPath(file_name.lower()).suffix in MARKDOWN_SUFFIXES


def decode_text(content: bytes, *, file_name: str) -> DocumentText | None:
    """``content`` as text when it is UTF-8 without NUL bytes (a text document); None otherwise."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text.strip() or "\x00" in text:
        return None
    return DocumentText(text=text.strip(), markdown=is_markdown(file_name))


def evidence_text(document, *, limit: int = PREVIEW_MAX_BYTES) -> DocumentText | None:
    """The text of an evidence document of at most ``limit`` bytes; None for binary or larger ones."""
    from registry import storage  # storage is only needed by callers that read blobs

    if document.size > limit:
        return None
    with storage.open_blob(document.file_key) as handle:
        content = handle.read(limit + 1)
    if len(content) > limit:
        return None
    return decode_text(content, file_name=document.file_name)


def to_html(source: str, *, top_heading: int = 3) -> str:
    """Markdown source as sanitised HTML; a ``#`` heading becomes ``<h{top_heading}>``, deeper ones follow.

    Levels below ``<h6>`` stay ``<h6>``. The result is safe to insert into a page or a report as it is.
    """
    if not 1 <= top_heading <= 6:
        raise ValueError(f"top_heading must be 1 to 6, not {top_heading!r}")
    parser = _parser()
    tokens = parser.parse(source)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = min(6, int(token.tag[1]) + top_heading - 1)
            token.tag = f"h{level}"
    return sanitise(parser.renderer.render(tokens, parser.options, {}))


def tokens(source: str) -> list:
    """markdown-it's block tokens for ``source`` (raw HTML and images off), for renderers other than HTML
    (the DOCX export lays them out as Word paragraphs)."""
    return _parser().parse(source)


def sanitise(html: str) -> str:
    """``html`` with only the allowed tags, attributes and link schemes; scripts and styles dropped whole.

    The second line of defence: the Markdown parser already escapes raw HTML and refuses
    ``javascript:`` links, and this holds even if it did not.
    """
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
    ).strip()


def literal(text: str) -> str:
    """Markdown source that renders as ``text`` itself: markup characters escaped, line breaks kept.

    Each line break inside a paragraph becomes a hard break, blank lines separate paragraphs, and leading
    indentation is kept as no-break spaces (so it is neither a code block nor lost).
    """
    lines = [_literal_line(line) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out: list[str] = []
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        out.append(line + "\\" if line and following else line)
    return "\n".join(out).strip("\n")


def _literal_line(line: str) -> str:
    stripped = line.rstrip()
    body = stripped.lstrip(" \t")
    if not body:
        return ""
    indent = stripped[: len(stripped) - len(body)].expandtabs(4).replace(" ", "\u00a0")
    body = _INLINE.sub(r"\\\1", body)
    body = _ORDERED.sub(r"\1\\\2", body)
    body = _BLOCK_START.sub(r"\\\1", body)
    return indent + body


@functools.cache
def _parser() -> MarkdownIt:
    # CommonMark, raw HTML off; images off so a document cannot make a page or the PDF renderer fetch.
    return MarkdownIt("commonmark", {"html": False}).disable("image")
