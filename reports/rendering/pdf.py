"""HTML templates to PDF bytes: Django templates (autoescaped), WeasyPrint in a fenced worker process.

:func:`render` is the entry point for report builders: it starts the worker, renders the template while
the worker imports WeasyPrint, sends the HTML, then draws the charts while the worker lays the document
out (layout needs only each chart's size; the worker waits for a chart's SVG only when it draws that
page). On two cores this hides most of the chart drawing behind layout.

Guarantees:

* **Nothing outside the bundle is loaded**: the worker fetches through
  :class:`~reports.rendering.fetcher.RestrictedURLFetcher` and blocks sockets and process creation; refused
  URLs and blocked attempts come back in :class:`RenderedPdf`.
* **A time limit**: the worker is killed when ``time_limit`` seconds have passed since it was started
  (its start-up included) and :class:`RenderTimeout` is raised; any other failure raises :class:`RenderError` with the worker's
  message. The worker's memory is capped (``memory_limit``) and returned to the system when it exits.
* **Deterministic output**: the PDF's dates come from ``metadata.created`` (not the clock), attachments
  carry the same dates, and the file identifier is a hash of the content, so the same inputs give the
  same bytes with the same software versions.
* **Escaping**: templates are rendered by a standalone Django engine with autoescaping on; report
  templates mark nothing safe but the HTML of a Markdown block, which ``workflow.markdown`` made
  from Markdown with raw HTML off and sanitised with nh3 (no scripts, no images, http(s) links only).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from django.template import Context, Engine

from charts import ChartSpec
from reports.rendering.protocol import ProtocolError, read_frame, write_frame

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = ROOT / "templates"
ASSETS_DIR = ROOT / "static" / "reports"
VARIANTS = (None, "pdf/a-3b")
DEFAULT_TIME_LIMIT = 120.0
DEFAULT_MEMORY_LIMIT = 4 * 2**30
# Start the next render's worker as soon as a render ends (see _SpareWorker); False starts one per render.
KEEP_SPARE_WORKER = True
# Variables the worker may see: enough for Python, fontconfig and locale; no secrets, no proxies.
_ENV_KEEP = ("PATH", "HOME", "LANG", "LANGUAGE", "TMPDIR", "SOURCE_DATE_EPOCH")
_ENV_PREFIXES = ("LC_", "XDG_", "FONTCONFIG_", "PANGO")


class RenderError(RuntimeError):
    """The PDF could not be rendered; the message says why (the worker's error or its exit status)."""


class RenderTimeout(RenderError):
    """Rendering took longer than its time limit and the worker was stopped."""


@dataclass(frozen=True, kw_only=True)
class Attachment:
    """A file embedded in the PDF (for PDF/A-3b: an associated file with this relationship)."""

    name: str
    content: bytes
    description: str = ""
    relationship: str = "Data"  # ISO 32000-2 AFRelationship: Data, Source, Supplement, Alternative


@dataclass(frozen=True, kw_only=True)
class PdfMetadata:
    """The PDF's document information; ``created`` is its creation and modification date.

    ``custom`` entries become extra document-information keys (``attest-document-id`` is written as
    ``/AttestDocumentId``): WeasyPrint keeps only letters and digits of each name.
    """

    title: str
    created: datetime
    author: str = "Attest"
    subject: str = ""
    keywords: Sequence[str] = ()
    custom: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class RenderedPdf:
    """A finished PDF and what happened while making it.

    ``html_sha256`` is the digest of the HTML that was laid out (the document's text and structure);
    ``refused`` lists URLs the fetcher refused and ``blocked`` socket/process attempts stopped in the
    worker (both empty for a healthy report); ``stats`` holds timings in seconds and memory in bytes.
    """

    pdf: bytes
    page_count: int
    html_sha256: str
    refused: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    stats: Mapping[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- API


def render(
    template: str,
    context: Mapping[str, Any],
    *,
    metadata: PdfMetadata,
    charts: Sequence[ChartSpec] = (),
    variant: str | None = None,
    attachments: Sequence[Attachment] = (),
    time_limit: float = DEFAULT_TIME_LIMIT,
    memory_limit: int = DEFAULT_MEMORY_LIMIT,
) -> RenderedPdf:
    """Render ``template`` with ``context`` to a PDF; ``charts`` are drawn while the worker lays out.

    The template sees ``context`` plus ``pdf`` (the metadata, with ``created`` as ISO 8601 UTC) and shows
    each chart with ``<img src="chart:NAME">``. Context values should be strings, lists and dicts:
    numbers and dates are formatted by the builders so the output does not depend on locale settings.
    """
    _check_variant(variant)
    started = time.perf_counter()
    with _Worker(time_limit, memory_limit) as worker:
        html = document_html(template, context, metadata=metadata)
        templated = time.perf_counter()
        rendered = worker.run(
            html, charts=charts, variant=variant, attachments=attachments, created=metadata.created
        )
    stats = {
        **rendered.stats,
        "template_seconds": templated - started,
        "total_seconds": time.perf_counter() - started,
    }
    return _with_stats(rendered, stats)


def render_html(
    html: str,
    *,
    created: datetime,
    charts: Sequence[ChartSpec] = (),
    variant: str | None = None,
    attachments: Sequence[Attachment] = (),
    time_limit: float = DEFAULT_TIME_LIMIT,
    memory_limit: int = DEFAULT_MEMORY_LIMIT,
) -> RenderedPdf:
    """Render ready-made HTML (already escaped) with the same fetcher, fences and limits as :func:`render`."""
    _check_variant(variant)
    w3c_datetime(created)  # refuses a naive datetime before a worker is started
    started = time.perf_counter()
    with _Worker(time_limit, memory_limit) as worker:
        rendered = worker.run(html, charts=charts, variant=variant, attachments=attachments, created=created)
    return _with_stats(rendered, {**rendered.stats, "total_seconds": time.perf_counter() - started})


def document_html(template: str, context: Mapping[str, Any], *, metadata: PdfMetadata) -> str:
    """The HTML :func:`render` lays out: ``template`` with ``context`` and the metadata as ``pdf``."""
    return render_template(template, {**context, "pdf": _metadata_context(metadata)})


def render_template(template: str, context: Mapping[str, Any]) -> str:
    """Render a template from ``templates/`` with autoescaping on; no settings or request needed.

    Numbers in ``context`` are turned into text first (``str``), because Django would otherwise format
    them through the locale machinery, which needs configured settings and varies with them.
    """
    return _engine().get_template(template).render(Context(_as_text(context), autoescape=True))


def w3c_datetime(moment: datetime) -> str:
    """``2025-03-01T12:00:00Z``: the UTC form WeasyPrint accepts for ``dcterms.created``."""
    if moment.tzinfo is None:
        raise ValueError("report dates must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------- worker


class _Worker:
    """One worker process: started on enter, killed on exit if still running, watched by a timer."""

    def __init__(self, time_limit: float, memory_limit: int) -> None:
        if time_limit <= 0:
            raise ValueError("time_limit must be positive")
        self._time_limit = time_limit
        self._memory_limit = memory_limit
        self._timed_out = threading.Event()

    def __enter__(self) -> _Worker:
        self._process, self._stderr = _SPARE.take() or _start_worker()
        self._watchdog = threading.Timer(self._time_limit, self._kill)
        self._watchdog.daemon = True
        self._watchdog.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._watchdog.cancel()
        _stop(self._process, self._stderr)
        if KEEP_SPARE_WORKER:
            _SPARE.refill()

    def run(
        self,
        html: str,
        *,
        charts: Sequence[ChartSpec],
        variant: str | None,
        attachments: Sequence[Attachment],
        created: datetime,
    ) -> RenderedPdf:
        """Send the job, stream the charts as they are drawn, and return the worker's result."""
        _check_unique(chart.name for chart in charts)
        try:
            self._send_job(html, charts, variant, attachments, created)
            chart_seconds = self._send_charts(charts)
            write_frame(self._process.stdin, "end")
            self._process.stdin.close()
        except OSError:
            chart_seconds = 0.0  # the worker has gone; its error frame (or the timeout) says why
        frame = self._read_result()
        stats = {
            **frame.meta.get("stats", {}),
            "chart_seconds": chart_seconds,
            "worker_pid": self._process.pid,
        }
        return RenderedPdf(
            pdf=frame.payload,
            page_count=int(frame.meta["page_count"]),
            html_sha256=hashlib.sha256(html.encode()).hexdigest(),
            refused=tuple(frame.meta.get("refused", ())),
            blocked=tuple(frame.meta.get("blocked", ())),
            warnings=tuple(frame.meta.get("warnings", ())),
            stats=stats,
        )

    def _send_job(self, html, charts, variant, attachments, created: datetime) -> None:
        stdin: BinaryIO = self._process.stdin
        meta = {
            "variant": variant,
            "created": created.astimezone(UTC).isoformat(),
            "assets_dir": str(ASSETS_DIR),
            "charts": {chart.name: [chart.width_pt, chart.height_pt] for chart in charts},
            "cpu_limit_seconds": int(self._time_limit) + 5,
            "memory_limit_bytes": self._memory_limit,
        }
        write_frame(stdin, "job", meta, html.encode("utf-8"))
        for attachment in attachments:
            info = {"name": attachment.name, "description": attachment.description}
            write_frame(
                stdin, "attachment", {**info, "relationship": attachment.relationship}, attachment.content
            )
        write_frame(stdin, "start")

    def _send_charts(self, charts: Sequence[ChartSpec]) -> float:
        """Draw each chart and send it; stop early if the worker has already ended. Returns the drawing time."""
        seconds = 0.0
        for chart in charts:
            if self._process.poll() is not None:
                break
            started = time.perf_counter()
            try:
                svg = chart.draw()
            except Exception as error:
                raise RenderError(f"chart {chart.name!r} could not be drawn: {error}") from error
            seconds += time.perf_counter() - started
            write_frame(self._process.stdin, "chart", {"name": chart.name}, svg)
        return seconds

    def _read_result(self):
        try:
            frame = read_frame(self._process.stdout)
        except (ProtocolError, OSError):
            frame = None
        if self._timed_out.is_set():
            raise RenderTimeout(f"rendering took longer than {self._time_limit:g} s and was stopped")
        if frame is None:
            status = self._process.wait()
            raise RenderError(f"the render worker exited with status {status}: {self._stderr_tail()}")
        if frame.kind != "result":
            raise RenderError(f"{frame.meta.get('error', 'error')}: {frame.meta.get('message', '')}")
        return frame

    def _kill(self) -> None:
        self._timed_out.set()
        self._process.kill()

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()[-2000:].decode("utf-8", "replace").strip() or "no output"


def _start_worker() -> tuple[subprocess.Popen, Any]:
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by _stop)
    process = subprocess.Popen(
        [sys.executable, "-m", "reports.rendering.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        cwd=ROOT,
        env=_worker_environment(),
    )
    return process, stderr


def _stop(process: subprocess.Popen, stderr: Any) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()
    for stream in (process.stdin, process.stdout, stderr):
        with contextlib.suppress(OSError):  # stdin may hold unsent bytes for a killed worker
            stream.close()


class _SpareWorker:
    """At most one worker started ahead of need, so the next render does not wait for its imports.

    Importing WeasyPrint takes a worker about a second, which layout cannot start without. After each
    render a new worker is started to wait (idle, ~50 MB) for the next one; a Celery process rendering
    reports one after another then never waits for the import. The spare belongs to the process that
    started it (a forked child does not use or kill its parent's), and is stopped at exit.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spare: tuple[subprocess.Popen, Any] | None = None
        self._owner = 0

    def take(self) -> tuple[subprocess.Popen, Any] | None:
        with self._lock:
            spare, self._spare = self._spare, None
            if spare is None or self._owner != os.getpid():
                return None
            if spare[0].poll() is not None:
                _stop(*spare)
                return None
            return spare

    def refill(self) -> None:
        with self._lock:
            if self._spare is None or self._owner != os.getpid():
                self._spare, self._owner = _start_worker(), os.getpid()

    def close(self) -> None:
        with self._lock:
            spare, self._spare = self._spare, None
            if spare is not None and self._owner == os.getpid():
                _stop(*spare)


_SPARE = _SpareWorker()
atexit.register(_SPARE.close)


# ---------------------------------------------------------------------------------------------- helpers


@functools.cache
def _engine() -> Engine:
    # A standalone engine: the project's context processors (request, user) and settings play no part.
    return Engine(dirs=[str(TEMPLATES_DIR)], autoescape=True, debug=False, string_if_invalid="")


def _as_text(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping):
        return {key: _as_text(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_as_text(item) for item in value]
    return value


def _metadata_context(metadata: PdfMetadata) -> dict[str, Any]:
    return {
        "title": metadata.title,
        "author": metadata.author,
        "subject": metadata.subject,
        "keywords": ", ".join(metadata.keywords),
        "created": w3c_datetime(metadata.created),
        "custom": sorted(metadata.custom.items()),
    }


def _worker_environment() -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items() if key in _ENV_KEEP or key.startswith(_ENV_PREFIXES)
    }
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _with_stats(rendered: RenderedPdf, stats: Mapping[str, float]) -> RenderedPdf:
    return RenderedPdf(**{**rendered.__dict__, "stats": dict(stats)})


def _check_variant(variant: str | None) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")


def _check_unique(names: Iterable[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen or not name or any(c in name for c in " \"'<>&:"):
            raise ValueError(f"chart names must be unique and URL-safe: {name!r}")
        seen.add(name)
