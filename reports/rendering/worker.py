"""The render worker: a short-lived process that turns one HTML document into one PDF.

Started by :func:`reports.rendering.pdf.render_html` as ``python -m reports.rendering.worker`` and
spoken to over stdin/stdout with :mod:`reports.rendering.protocol`. Running WeasyPrint in its own process
gives what a thread or ``signal.alarm`` cannot: the parent can kill it at the time limit wherever it is
(even inside Pango), its memory goes back to the system when it exits, and it can be fenced in. Before
it reads any input the worker

* blocks socket and process creation with an audit hook (and records any attempt),
* caps its CPU time and address space with ``setrlimit`` (a backstop should the parent die),

and it renders with :class:`~reports.rendering.fetcher.RestrictedURLFetcher`. Charts arrive while the
worker is already laying out the document; a reader thread files them as they come, and the fetcher
waits for a chart only when a page that shows it is drawn.
"""

from __future__ import annotations

import logging
import os
import resource
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from reports.rendering.protocol import Frame, ProtocolError, read_frame, write_frame

BLOCKED_EVENTS = frozenset(
    {
        "socket.__new__",
        "socket.connect",
        "socket.bind",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.sendto",
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.fork",
        "os.forkpty",
    }
)
MAX_WARNINGS = 200
_blocked_attempts: list[str] = []


def _audit(event: str, args: tuple) -> None:
    if event in BLOCKED_EVENTS:
        _blocked_attempts.append(event)
        raise PermissionError(f"{event} is not allowed in the report renderer")


class _ChartInbox:
    """Charts as they arrive from the parent; :meth:`svg` waits for one that has not arrived yet."""

    def __init__(self, stream: BinaryIO, sizes: dict[str, tuple[float, float]]) -> None:
        self._stream = stream
        self._sizes = sizes
        self._charts: dict[str, bytes] = {}
        self._closed = False
        self._ready = threading.Condition()
        self.error: str | None = None
        self.waited = 0.0
        threading.Thread(target=self._pump, name="chart-inbox", daemon=True).start()

    def size(self, name: str) -> tuple[float, float] | None:
        return self._sizes.get(name)

    def svg(self, name: str) -> bytes | None:
        if name not in self._sizes:
            return None
        started = time.perf_counter()
        with self._ready:
            self._ready.wait_for(lambda: name in self._charts or self._closed)
            self.waited += time.perf_counter() - started
            return self._charts.get(name)

    def _pump(self) -> None:
        try:
            while (frame := read_frame(self._stream)) is not None and frame.kind == "chart":
                with self._ready:
                    self._charts[str(frame.meta["name"])] = frame.payload
                    self._ready.notify_all()
        except (ProtocolError, OSError, KeyError) as error:
            self.error = f"{type(error).__name__}: {error}"
        finally:
            with self._ready:
                self._closed = True
                self._ready.notify_all()


class _WarningLog(logging.Handler):
    """Keeps WeasyPrint's warnings and errors (unsupported CSS, refused URLs) for the parent."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.messages) < MAX_WARNINGS:
            self.messages.append(record.getMessage())


def main() -> int:
    """Run one render job from stdin to stdout; the exit status is 0 when a result frame was written."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print() from a library must not corrupt the frame stream
    source = sys.stdin.buffer
    sys.addaudithook(_audit)
    started = time.perf_counter()
    try:
        # Imported before the job is read: the parent renders the template and starts drawing charts
        # meanwhile, so this second or so is not on the critical path.
        import weasyprint

        # cffi looks for WeasyPrint's libraries with ldconfig/gcc when a first-choice name is missing;
        # the hook refuses those (cffi then tries the next name, which is faster). Only attempts made
        # while rendering count.
        _blocked_attempts.clear()
        start_up = {
            "import_seconds": time.perf_counter() - started,
            "import_cpu_seconds": time.process_time(),
        }
        job = _read_job(source)
        _limit_resources(job.meta)
        write_frame(out, *_render(weasyprint, job, source, start_up))
    except BaseException as error:  # report every failure, including WeasyPrint's fatal fetch errors
        write_frame(out, "error", {"error": type(error).__name__, "message": str(error)[:4000]})
        return 1
    return 0


def _read_job(source: BinaryIO) -> Frame:
    job = read_frame(source)
    if job is None or job.kind != "job":
        raise ProtocolError("expected a job frame")
    attachments = []
    while (frame := read_frame(source)) is not None and frame.kind == "attachment":
        attachments.append(frame)
    if frame is None or frame.kind != "start":
        raise ProtocolError("expected a start frame after the attachments")
    return Frame("job", {**job.meta, "attachments": attachments}, job.payload)


def _limit_resources(meta: dict) -> None:
    cpu = int(meta.get("cpu_limit_seconds") or 0)
    if cpu > 0:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    memory = int(meta.get("memory_limit_bytes") or 0)
    if memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def _render(weasyprint, job: Frame, source: BinaryIO, start_up: dict) -> tuple[str, dict, bytes]:
    from reports.rendering.fetcher import RestrictedURLFetcher

    # fontTools stamps font subsets with the current time unless SOURCE_DATE_EPOCH is set.
    created = datetime.fromisoformat(job.meta["created"])
    os.environ["SOURCE_DATE_EPOCH"] = str(int(created.timestamp()))
    rss_before = _rss_bytes()
    cpu_before = time.process_time()
    started = time.perf_counter()
    sizes = {name: (float(w), float(h)) for name, (w, h) in job.meta["charts"].items()}
    inbox = _ChartInbox(source, sizes)
    fetcher = RestrictedURLFetcher(assets_dir=Path(job.meta["assets_dir"]), charts=inbox)
    warnings = _WarningLog()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(warnings)
    logger.propagate = False
    html = weasyprint.HTML(string=job.payload.decode("utf-8"), url_fetcher=fetcher, media_type="print")
    document = html.render()
    laid_out = time.perf_counter()
    pdf = document.write_pdf(**_pdf_options(job.meta, _attachments(job.meta, weasyprint)))
    written = time.perf_counter()
    _check_charts(fetcher, inbox, set(sizes))
    stats = {
        **start_up,
        "layout_seconds": laid_out - started,
        "write_seconds": written - laid_out,
        "chart_wait_seconds": inbox.waited,
        "cpu_seconds": time.process_time() - cpu_before,
        "rss_before_render_bytes": rss_before,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    meta = {
        "page_count": len(document.pages),
        "refused": fetcher.refused,
        "blocked": list(_blocked_attempts),
        "warnings": warnings.messages,
        "stats": stats,
    }
    return "result", meta, pdf


def _rss_bytes() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _pdf_options(meta: dict, attachments: list) -> dict:
    return {
        "pdf_variant": meta.get("variant"),
        "attachments": attachments,
        "custom_metadata": True,
        # Same identifier for the same content: WeasyPrint hashes the PDF objects when this is True.
        "pdf_identifier": True,
        # Tagged PDF (structure tree from the HTML: headings, paragraphs, tables, lists; /Lang from
        # <html lang>), so screen readers and text extraction follow the document; PDF/A-3b allows it.
        "pdf_tags": True,
    }


def _attachments(meta: dict, weasyprint) -> list:
    created = datetime.fromisoformat(meta["created"])
    return [
        weasyprint.Attachment(
            string=frame.payload,
            name=frame.meta["name"],
            description=frame.meta.get("description"),
            created=created,
            modified=created,
            relationship=frame.meta.get("relationship", "Data"),
        )
        for frame in meta["attachments"]
    ]


def _check_charts(fetcher, inbox: _ChartInbox, declared: set[str]) -> None:
    if fetcher.failures:
        raise RuntimeError("; ".join(fetcher.failures))
    if inbox.error:
        raise RuntimeError(f"the chart stream broke: {inbox.error}")
    unused = sorted(declared - fetcher.served)
    if unused:
        raise RuntimeError(f"charts supplied but not shown by the template: {', '.join(unused)}")


if __name__ == "__main__":
    sys.exit(main())
