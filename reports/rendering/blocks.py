"""Report content as data: sections of blocks that ``templates/reports/pdf/_sections.html`` prints.

Builders describe *what* a report says (headings, paragraphs, fact lists, tables, charts) and the
templates decide *how* it looks, so every report shares one layout, one table of contents and one set of
bookmarks. All values are strings by the time they reach the template; the template escapes them, except
the HTML of a :func:`markdown` block, which :func:`workflow.markdown.to_html` has sanitised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from charts import ChartSpec
from reports.rendering.widths import cell_class
from workflow.markdown import to_html

Block = dict[str, Any]


def section(section_id: str, title: str, blocks: Iterable[Block]) -> dict[str, Any]:
    """A top-level section: starts a page, appears in the contents, the bookmarks and the page header."""
    return {"id": _check_id(section_id), "title": title, "blocks": list(blocks)}


def heading(text: str, anchor: str = "") -> Block:
    """A subsection heading; with an ``anchor`` it is listed in the contents too."""
    return {"kind": "heading", "text": text, "id": _check_id(anchor) if anchor else ""}


def text(value: str) -> Block:
    """A paragraph; line breaks in ``value`` are kept."""
    return {"kind": "text", "text": value}


def markdown(source: str) -> Block:
    """Markdown source (an evidence document, or plain text quoted by ``workflow.markdown.literal``).

    Its headings start at ``<h3>``, below the section (``<h1>``) and subsection (``<h2>``) headings that
    introduce it, so they are neither bookmarks nor page breaks.
    """
    return {"kind": "markdown", "html": to_html(source, top_heading=3)}


def note(value: str) -> Block:
    """A small grey paragraph for explanations and "nothing supplied" notices."""
    return {"kind": "note", "text": value}


def facts(rows: Iterable[tuple[str, str] | tuple[str, str, str]]) -> Block:
    """Label/value rows; an optional third item is a CSS class for the value (``hash``, ``outcome``...)."""
    return {"kind": "facts", "rows": [fact(*row) for row in rows]}


def fact(label: str, value: str, css_class: str = "") -> dict[str, str]:
    """One label/value row, as used on covers and in :func:`facts`."""
    return {"label": label, "value": value, "class": cell_class(value, css_class)}


def table_block(table: dict[str, Any]) -> Block:
    """A table made by :func:`reports.rendering.common.table`."""
    return {"kind": "table", "table": table}


def chart(spec: ChartSpec, caption: str) -> Block:
    """A full-width chart."""
    return {"kind": "chart", "chart": {"name": spec.name, "caption": caption}}


def chart_row(*charts: tuple[ChartSpec, str]) -> Block:
    """Two small charts side by side."""
    return {
        "kind": "chart-row",
        "charts": [{"name": spec.name, "caption": caption} for spec, caption in charts],
    }


def bullet_list(items: Iterable[str], *, css_class: str = "") -> Block:
    """A bulleted list (``css_class="missing"`` prints it in the warning colour)."""
    return {"kind": "list", "items": list(items), "class": css_class}


def contents(sections: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Table-of-contents entries: every section (level 1) and every anchored heading (level 2)."""
    entries = []
    for item in sections:
        entries.append({"id": item["id"], "title": item["title"], "level": 1})
        entries.extend(
            {"id": block["id"], "title": block["text"], "level": 2}
            for block in item["blocks"]
            if block["kind"] == "heading" and block["id"]
        )
    return entries


def anchor(*parts: str) -> str:
    """A safe, readable id from arbitrary text: ``anchor("fair", "Sex / age")`` -> ``fair-sex-age``."""
    slug = "-".join(re.sub(r"[^a-z0-9]+", "-", part.lower()).strip("-") for part in parts)
    return slug or "section"


def _check_id(value: str) -> str:
    # Ids go into href="#..." and target-counter(); only builder-made slugs are accepted.
    if not re.fullmatch(r"[a-z][a-z0-9-]*", value):
        raise ValueError(f"not a safe anchor id: {value!r}")
    return value
