"""The only way a report's HTML can load anything: bundled assets, ``data:`` URIs and our charts.

WeasyPrint's default fetcher opens ``file:``, ``http(s):`` and ``ftp:`` URLs and follows redirects, so a
stray ``<img src="file:///etc/passwd">`` or ``url(http://169.254.169.254/)`` (the cloud metadata service)
in a report would read local files or reach the network from the worker. This fetcher answers:

* ``asset:PATH`` - a file under the bundled assets folder (``static/reports/``), by a known suffix;
  no ``..``, no absolute paths, no symlinks that lead outside the folder;
* ``chart:NAME`` - a small SVG of the chart's size that draws ``chart-body:NAME`` (layout needs only
  the size, so the chart itself may still be being drawn by the parent process);
* ``chart-body:NAME`` - the chart's SVG, waiting for it if necessary;
* ``data:`` - inline data up to :data:`MAX_DATA_BYTES` (matplotlib inlines raster parts of a chart);

and refuses everything else, recording each refused URL. It never opens a socket and never follows a
redirect, because it never speaks a network protocol at all.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote_to_bytes

from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

MAX_DATA_BYTES = 20 * 2**20
ASSET_TYPES = {
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
}


class URLRefused(ValueError):
    """A URL outside what reports may load; WeasyPrint logs it and leaves the resource out."""


class ChartSource(Protocol):
    """Where the fetcher finds charts: their sizes up front, their SVG when drawing needs it."""

    def size(self, name: str) -> tuple[float, float] | None:
        """Width and height in points, or ``None`` for an unknown chart."""

    def svg(self, name: str) -> bytes | None:
        """The chart's SVG (may block until it has been drawn), or ``None`` if it never arrives."""


class StaticCharts:
    """A :class:`ChartSource` over charts that are all drawn already."""

    def __init__(self, charts: Mapping[str, tuple[float, float, bytes]]) -> None:
        self._charts = dict(charts)

    def size(self, name: str) -> tuple[float, float] | None:
        entry = self._charts.get(name)
        return None if entry is None else (entry[0], entry[1])

    def svg(self, name: str) -> bytes | None:
        entry = self._charts.get(name)
        return None if entry is None else entry[2]


class RestrictedURLFetcher(URLFetcher):
    """WeasyPrint URL fetcher that serves bundled assets, ``data:`` URIs and charts, and nothing else.

    ``refused`` lists every refused URL in order; ``failures`` lists charts that could not be served
    (the render must then be treated as failed, see :mod:`reports.rendering.worker`); ``served`` counts
    the chart bodies delivered.
    """

    def __init__(self, *, assets_dir: Path, charts: ChartSource | None = None) -> None:
        # No protocols, no redirects: the urllib machinery of the base class is never used.
        super().__init__(allowed_protocols=(), allow_redirects=False, fail_on_errors=False)
        self._assets_dir = assets_dir.resolve()
        self._charts = charts
        self._lock = threading.Lock()
        self.refused: list[str] = []
        self.failures: list[str] = []
        self.served: set[str] = set()

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        """Return the resource for ``url`` or raise :class:`URLRefused` (recorded in ``refused``)."""
        scheme, _, rest = url.partition(":")
        scheme = scheme.lower()
        if scheme == "asset":
            return self._asset(url, rest)
        if scheme == "chart":
            return self._chart_frame(url, rest)
        if scheme == "chart-body":
            return self._chart_body(url, rest)
        if scheme == "data":
            return self._data(url, rest)
        raise self._refuse(url, "only bundled assets, data: URIs and charts may be loaded")

    # ------------------------------------------------------------------------------------------ kinds

    def _asset(self, url: str, rest: str) -> URLFetcherResponse:
        relative = unquote_to_bytes(rest.split("?", 1)[0].split("#", 1)[0]).decode("utf-8", "replace")
        if not relative or relative.startswith(("/", "\\")) or "\\" in relative or "\x00" in relative:
            raise self._refuse(url, "asset paths are relative to the assets folder")
        if any(part in ("", ".", "..") for part in relative.split("/")):
            raise self._refuse(url, "asset paths may not contain empty, '.' or '..' segments")
        path = (self._assets_dir / relative).resolve()
        content_type = ASSET_TYPES.get(path.suffix.lower())
        if not path.is_relative_to(self._assets_dir) or not path.is_file() or content_type is None:
            raise self._refuse(url, "no such bundled asset")
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})

    def _chart_frame(self, url: str, name: str) -> URLFetcherResponse:
        size = self._charts.size(name) if self._charts else None
        if size is None:
            self._fail(f"chart {name!r} is referenced by the template but was not supplied")
        width, height = size
        # Layout needs only the chart's size; the <image> inside is fetched when the page is drawn.
        frame = (
            f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'width="{width:.3f}pt" height="{height:.3f}pt" viewBox="0 0 {width:.3f} {height:.3f}">'
            f'<image x="0" y="0" width="{width:.3f}" height="{height:.3f}" xlink:href="chart-body:{name}"/>'
            f"</svg>"
        )
        return URLFetcherResponse(url, frame.encode(), {"Content-Type": "image/svg+xml"})

    def _chart_body(self, url: str, name: str) -> URLFetcherResponse:
        body = self._charts.svg(name) if self._charts else None
        if body is None:
            self._fail(f"chart {name!r} was never delivered")
        with self._lock:
            self.served.add(name)
        return URLFetcherResponse(url, body, {"Content-Type": "image/svg+xml"})

    def _data(self, url: str, rest: str) -> URLFetcherResponse:
        header, comma, payload = rest.partition(",")
        if not comma:
            raise self._refuse(url[:80], "malformed data: URI")
        is_base64 = header.lower().endswith(";base64")
        content_type = header.split(";", 1)[0] or "text/plain"
        try:
            body = base64.b64decode(payload, validate=False) if is_base64 else unquote_to_bytes(payload)
        except ValueError as error:
            raise self._refuse(url[:80], "undecodable data: URI") from error
        if len(body) > MAX_DATA_BYTES:
            raise self._refuse(url[:80], "data: URI is too large")
        return URLFetcherResponse("data:", body, {"Content-Type": content_type})

    # ------------------------------------------------------------------------------------------ errors

    def _refuse(self, url: str, reason: str) -> URLRefused:
        with self._lock:
            self.refused.append(url)
        return URLRefused(f"refused {url!r}: {reason}")

    def _fail(self, message: str) -> None:
        # Recorded as well as raised: a failure while drawing an SVG is swallowed by WeasyPrint, and
        # the worker turns any recorded failure into a failed render instead of a PDF with a hole.
        with self._lock:
            self.failures.append(message)
        raise FatalURLFetchingError(message)
