"""Table columns wide enough for their words, and how each cell may wrap.

The report tables use CSS ``table-layout: fixed`` (column widths from ``<col>``; measuring every cell
with the automatic layout made long tables several times slower to lay out), so a column narrower than
its longest word used to break that word anywhere ("conceptual_s / oundness_m / emo"). Here each
column's narrowest width is measured with the report font's own advance widths (DejaVu Sans, the font
``static/reports/report.css`` uses) and a builder's widths are moved from columns with room to spare to
columns that need it. Cells then wrap at spaces (and after a hyphen or a slash) only:

* ``hash`` (and ``uri``) cells are the only ones that may break anywhere: a digest, a URI, or a cell that
  contains one (``DIFFERENT: 9f86d0…``) is classed ``uri`` automatically;
* a column still too narrow when the words of the whole table cannot fit side by side (rare: very many
  columns) is classed ``tight``: hyphenated where needed, and broken as a last resort rather than
  running over its neighbour. No other word is hyphenated: every word fits its column.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path

import matplotlib
from fontTools.ttLib import TTFont

TEXT_WIDTH_PT = (210 - 2 * 18) / 25.4 * 72  # A4 less the page margins of report.css
CELL_FONT_PT = 7.8  # table.data
CELL_PADDING_PT = 2 * 1.2 / 25.4 * 72 + 1.0  # left and right padding, and a point for rounding
HASH_MIN_CHARS = 8
BREAK_ANYWHERE = frozenset({"hash", "uri"})

_HASH = re.compile(r"\b(?:sha256:)?[0-9a-f]{32,}\b")
_URI = re.compile(r"(?:\b[a-z][a-z0-9+.-]*://|(?<!\S)/)\S{8,}", re.IGNORECASE)
# Break opportunities inside a word that the line breaker (UAX #14) also takes: after a hyphen
# followed by a letter, and after a slash.
_BREAK_INSIDE = re.compile(r"(?<=-)(?=[^\W\d_])|(?<=/)(?=.)")


def cell_class(text: str, given: str = "") -> str:
    """The CSS classes of a cell showing ``text``: ``given``, plus ``uri`` when it holds a digest or URI."""
    classes = given.split()
    if not BREAK_ANYWHERE & set(classes) and (_HASH.search(text) or _URI.search(text)):
        classes.append("uri")
    return " ".join(classes)


def fit_widths(
    widths: Sequence[float], header: Sequence[str], rows: Sequence[Sequence[tuple[str, str]]]
) -> tuple[list[float], list[bool]]:
    """Widths (percent of the text block) in which every column holds its longest word.

    ``rows`` are ``(text, css class)`` cells. Returns the new widths and, per column, whether it is
    still too narrow (the table's words cannot all fit side by side).
    """
    count = len(header)
    given = list(widths) if len(widths) == count else [100.0 / count] * count
    total = sum(given) or 1.0
    given = [w * 100.0 / total for w in given]
    need = [_percent(_column_need(header[j], [row[j] for row in rows if j < len(row)])) for j in range(count)]
    short = {j: need[j] - given[j] for j in range(count) if need[j] > given[j]}
    if not short:
        return [round(w, 2) for w in given], [False] * count
    spare = {j: given[j] - need[j] for j in range(count) if j not in short}
    deficit, room = sum(short.values()), sum(spare.values())
    taken = min(deficit, room)
    fitted = [
        given[j] + short[j] * taken / deficit if j in short else given[j] - spare[j] * taken / (room or 1.0)
        for j in range(count)
    ]
    return [round(w, 2) for w in fitted], [j in short and taken < deficit for j in range(count)]


def _column_need(heading: str, cells: Sequence[tuple[str, str]]) -> float:
    widest = _longest_word(heading, bold=True)
    for text, classes in cells:
        if "hash" in classes.split():
            continue  # breaks anywhere; HASH_MIN_CHARS below covers it
        widest = max(widest, _longest_word(text, breakable="uri" in classes.split()))
    return max(widest, HASH_MIN_CHARS * 0.6 * CELL_FONT_PT) + CELL_PADDING_PT


def _longest_word(text: str, *, bold: bool = False, breakable: bool = False) -> float:
    widest = 0.0
    for word in text.split():
        if breakable and (_HASH.fullmatch(word) or _URI.fullmatch(word)):
            continue
        for part in _BREAK_INSIDE.split(word):
            widest = max(widest, text_width(part, bold=bold))
    return widest


def _percent(points: float) -> float:
    return points / TEXT_WIDTH_PT * 100.0


def text_width(text: str, *, size: float = CELL_FONT_PT, bold: bool = False) -> float:
    """Width in points of ``text`` set in DejaVu Sans (bold) at ``size`` points, without kerning."""
    advances, units = _advances(bold)
    fallback = units * 0.65
    return sum(advances.get(ord(char), fallback) for char in text) * size / units


@functools.cache
def _advances(bold: bool) -> tuple[dict[int, int], int]:
    # matplotlib ships the same DejaVu fonts that fontconfig gives WeasyPrint.
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    font = TTFont(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name, lazy=True)
    metrics = font["hmtx"].metrics
    advances = {code: metrics[glyph][0] for code, glyph in font.getBestCmap().items()}
    return advances, font["head"].unitsPerEm
