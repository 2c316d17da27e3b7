"""PDF validation report: Attest's pipeline against WeasyPrint on the same HTML.

A synthetic validation report (20+ A4 pages, 10 charts, tables of dataset profiles, drift, evidence,
findings and controls) is rendered

* ``attest``: ``build_validation_pdf`` end to end: charts drawn (SVG) while the fenced worker process
  lays the document out, template rendering, restricted fetcher, time limit; the second report of the
  process, as in a reports worker, so a spare worker has already imported WeasyPrint;
* ``attest-cold``: the same, the first report in a fresh process (the worker imports WeasyPrint first);
* ``attest-sequential``: ``attest`` with every chart drawn before the worker starts (what the overlap
  saves);
* ``weasyprint-inline-svg`` (the baseline): the same final HTML with each chart inlined as ``<svg>``,
  rendered by ``weasyprint.HTML(string=...).write_pdf()`` with default settings (charts drawn beforehand,
  not timed);
* ``weasyprint-img-svg``: the same, charts as ``<img src="data:image/svg+xml;base64,...">``;
* ``weasyprint-png``: the same, charts as 150 dpi PNG ``<img>`` (not vector; for reference).

Each run is a fresh process, the methods interleaved round by round; times are medians. Every method
but ``attest-cold`` renders once untimed and pauses 3 s before the timed render (a reports worker between
tasks). CPU is the process's CPU time plus, for Attest, the render worker's. On a shared machine wall
times follow the neighbours' load, so the table also gives the **CPU critical path**: the CPU time, except
that Attest's parent and worker count as running side by side (two cores), and the worker's import counts
only when it was started for this render (``attest-cold``); that is the wall time on an idle machine.
Memory is the peak RSS growth while rendering; for Attest the parent's growth plus the worker's growth
beyond its imports (both processes run at the same time).

    .venv/bin/python benchmarks/reports.py              # scale 5, 3 rounds
    .venv/bin/python benchmarks/reports.py --quick      # one round
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common as common

SCRIPT = Path(__file__).resolve()
BASELINE = "weasyprint-inline-svg"
METHODS = ("attest", "attest-cold", "attest-sequential", BASELINE, "weasyprint-img-svg", "weasyprint-png")
SETTLE_SECONDS = 3.0


def _setup() -> None:
    sys.path.insert(0, str(common.REPO))


# ---------------------------------------------------------------------------------------------- prepare


def prepare(folder: Path, scale: int) -> dict[str, Any]:
    """Write the final HTML and every chart (SVG and PNG) to ``folder``; return counts."""
    _setup()
    from unittest import mock

    import charts
    from reports.rendering import pdf, validation
    from tests.reports import samples

    captured: dict[str, Any] = {}

    def capture(template, context, *, metadata, charts=(), **_):
        captured.update(html=pdf.document_html(template, context, metadata=metadata), charts=list(charts))
        raise _Captured

    with mock.patch.object(pdf, "render", capture), contextlib.suppress(_Captured):
        validation.build_validation_pdf(samples.validation_input(scale=scale))
    (folder / "report.html").write_text(captured["html"])
    (folder / "report.css").write_text((pdf.ASSETS_DIR / "report.css").read_text())
    for spec in captured["charts"]:
        (folder / f"{spec.name}.svg").write_bytes(spec.draw())
        with mock.patch.object(charts, "_svg", _png):
            (folder / f"{spec.name}.png").write_bytes(spec.draw())
    names = [spec.name for spec in captured["charts"]]
    (folder / "charts.json").write_text(json.dumps(names))
    return {"charts": len(names), "html_bytes": len(captured["html"])}


class _Captured(Exception):
    pass


def _png(fig, name: str) -> bytes:
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150, metadata={"Software": None})
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------- workers


def worker_attest(folder: str, scale: int, warm: bool) -> dict:
    _setup()
    from reports.rendering import validation
    from tests.reports import samples

    data = samples.validation_input(scale=scale)
    return _attest_run(lambda: validation.build_validation_pdf(data), warm)


def worker_attest_sequential(folder: str, scale: int, warm: bool) -> dict:
    _setup()
    from unittest import mock

    import charts
    from reports.rendering import pdf, validation
    from tests.reports import samples

    data = samples.validation_input(scale=scale)
    real_render = pdf.render

    def drawn_first(template, context, *, charts=(), **options):
        started = time.perf_counter()
        ready = [_predrawn(spec, spec.draw()) for spec in charts]
        rendered = real_render(template, context, charts=ready, **options)
        chart_seconds = time.perf_counter() - started - rendered.stats["total_seconds"]
        return pdf.RenderedPdf(
            **{**rendered.__dict__, "stats": {**rendered.stats, "chart_seconds": chart_seconds}}
        )

    def _predrawn(spec, svg: bytes):
        return charts.ChartSpec(
            name=spec.name, width_in=spec.width_in, height_in=spec.height_in, draw=lambda: svg
        )

    with mock.patch.object(pdf, "render", drawn_first):
        return _attest_run(lambda: validation.build_validation_pdf(data), warm, sequential=True)


def _attest_run(work, warm: bool, *, sequential: bool = False) -> dict:
    cpu: list[dict] = []
    measured = _measure(work, cpu, warm)
    report = measured.pop("output")
    path = _critical_path(cpu[0], cold=not warm, sequential=sequential)
    return (
        measured
        | _attest_figures(report.stats, report.page_count)
        | {
            "cpu_seconds": cpu[0]["parent"] + cpu[0]["worker"],
            "critical_cpu_seconds": path,
        }
    )


def _measure(work, cpu: list[float], warm: bool) -> dict:
    """One timed run; with ``warm``, after an untimed one and a pause (a reports worker between tasks)."""
    if warm:
        work()
        time.sleep(SETTLE_SECONDS)
    return common.measure(_cpu_timed(work, cpu), 1)


def _cpu_timed(work, record: list[dict]):
    """``work`` that appends its CPU times to ``record``: this process's and the render worker's."""

    def timed():
        started = time.process_time()
        result = work()
        stats = getattr(result, "stats", {})
        record.append(
            {
                "parent": time.process_time() - started,
                "worker": stats.get("cpu_seconds", 0.0),
                "worker_start_up": stats.get("import_cpu_seconds", 0.0),
            }
        )
        return result

    return timed


def _critical_path(cpu: dict, *, cold: bool, sequential: bool) -> float:
    """CPU seconds on the critical path with a core per process: what the wall time is on an idle machine.

    The parent (template, charts) and the worker run at the same time; the worker's import is on the
    path only when it was started for this render (cold); with the charts drawn first (sequential) the
    worker's render waits for them.
    """
    start_up = cpu["worker_start_up"] if cold else 0.0
    if sequential:
        return max(cpu["parent"], start_up) + cpu["worker"]
    return max(cpu["parent"], start_up + cpu["worker"])


def _attest_figures(stats: dict, pages: int) -> dict:
    return {
        "pages": pages,
        "chart_seconds": stats["chart_seconds"],
        "render_seconds": stats["layout_seconds"] + stats["write_seconds"],
        "worker_growth_bytes": stats["peak_rss_bytes"] - stats["rss_before_render_bytes"],
        "worker_peak_bytes": stats["peak_rss_bytes"],
    }


def _baseline(kind: str):
    def work(folder: str, scale: int, warm: bool) -> dict:
        import io

        import weasyprint
        from pypdf import PdfReader

        html = _baseline_html(Path(folder), kind)
        cpu: list[dict] = []
        measured = _measure(lambda: weasyprint.HTML(string=html).write_pdf(), cpu, warm)
        pdf = measured.pop("output")
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        figures = {"pages": pages, "chart_seconds": 0.0, "render_seconds": measured["seconds"]}
        return (
            measured | figures | {"cpu_seconds": cpu[0]["parent"], "critical_cpu_seconds": cpu[0]["parent"]}
        )

    return work


def _baseline_html(folder: Path, kind: str) -> str:
    html = (folder / "report.html").read_text()
    css = (folder / "report.css").read_text()
    html = html.replace('<link rel="stylesheet" href="asset:report.css">', f"<style>{css}</style>")
    for name in json.loads((folder / "charts.json").read_text()):
        html = re.sub(
            rf'<img src="chart:{re.escape(name)}"[^>]*>', lambda _, n=name: _chart_html(folder, n, kind), html
        )
    return html


def _chart_html(folder: Path, name: str, kind: str) -> str:
    if kind == "inline-svg":
        svg = (folder / f"{name}.svg").read_text()
        return svg[svg.index("<svg") :]
    if kind == "img-svg":
        data = base64.b64encode((folder / f"{name}.svg").read_bytes()).decode()
        return f'<img src="data:image/svg+xml;base64,{data}">'
    data = base64.b64encode((folder / f"{name}.png").read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" style="width: 100%">'


WORKERS = {
    "attest-cold": worker_attest,
    "attest": worker_attest,
    "attest-sequential": worker_attest_sequential,
    BASELINE: _baseline("inline-svg"),
    "weasyprint-img-svg": _baseline("img-svg"),
    "weasyprint-png": _baseline("png"),
}


# ---------------------------------------------------------------------------------------------- report


def run(scale: int, repeats: int, methods: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="attest-reports-") as folder:
        facts = prepare(Path(folder), scale)
        runs: dict[str, list[dict]] = {method: [] for method in methods}
        # Round robin, one fresh process per run: a shared machine's load drifts, and interleaving lets
        # every method see the same drift.
        for round_number in range(repeats):
            print(f"  round {round_number + 1} of {repeats}: {', '.join(methods)} ...", flush=True)
            for method in methods:
                args = ["--worker", method, "--folder", folder, "--scale", str(scale)]
                runs[method].append(common.run_worker(sys.executable, SCRIPT, args))
    results = {method: _median_run(method_runs) for method, method_runs in runs.items()}
    baseline = results.get(BASELINE)
    pages = {r["pages"] for r in results.values()}
    print(
        f"\nValidation report, scale {scale}: {', '.join(map(str, sorted(pages)))} pages, {facts['charts']} charts"
    )
    rows = []
    for method, result in results.items():
        growth = result["peak_growth_bytes"] + result.get("worker_growth_bytes", 0)
        ratio = result["seconds"] / baseline["seconds"] if baseline else None
        path_ratio = result["critical_cpu_seconds"] / baseline["critical_cpu_seconds"] if baseline else None
        seconds = [result["chart_seconds"], result["render_seconds"], result["seconds"], ratio]
        cpu = [result["cpu_seconds"], result["critical_cpu_seconds"], path_ratio]
        rows.append([method, *seconds, *cpu, common.megabytes(growth)])
    headers = [
        "method",
        "charts (s)",
        "render (s)",
        "wall (s)",
        "x baseline",
        "CPU (s)",
        "CPU path (s)",
        "x baseline",
    ]
    common.print_table([*headers, "peak growth (MB)"], rows)
    _verdict(results, baseline)


def _median_run(runs: list[dict]) -> dict:
    """Median of each timing over the runs; memory from the first run (the others would be the same)."""
    timed = ("seconds", "chart_seconds", "render_seconds", "cpu_seconds", "critical_cpu_seconds")
    return runs[0] | {key: statistics.median(run[key] for run in runs) for key in timed}


def _verdict(results: dict, baseline: dict | None) -> None:
    attest = results.get("attest")
    if not attest or not baseline:
        return
    growth = common.megabytes(attest["peak_growth_bytes"] + attest["worker_growth_bytes"])
    worker_peak = common.megabytes(attest["worker_peak_bytes"])
    print(
        f"  charts drawn in the parent: {attest['chart_seconds']:.2f} s wall, overlapped with the worker's layout"
    )
    print(f"  worker peak RSS (interpreter and WeasyPrint included): {worker_peak:.0f} MB")
    for key, what in (
        ("seconds", "wall time"),
        ("critical_cpu_seconds", "CPU critical path (idle-machine time)"),
    ):
        ratio = attest[key] / baseline[key]
        print(
            f"  target end to end <= 1.25x {BASELINE}, {what}: {ratio:.2f}x {'PASS' if ratio <= 1.25 else 'MISS'}"
        )
    cold = results.get("attest-cold")
    if cold:
        ratio = cold["critical_cpu_seconds"] / baseline["critical_cpu_seconds"]
        print(
            f"  first report of a process (worker imports WeasyPrint first), CPU critical path: {ratio:.2f}x"
        )
    print(f"  target peak memory growth < 150 MB: {growth:.0f} MB {'PASS' if growth < 150 else 'MISS'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=5, help="size of the synthetic report (5: 20+ pages)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per method (median)")
    parser.add_argument(
        "--methods", default=",".join(METHODS), help="comma-separated subset of " + ", ".join(METHODS)
    )
    parser.add_argument("--quick", action="store_true", help="one run per method")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        common.emit(WORKERS[args.worker](args.folder, args.scale, args.worker != "attest-cold"))
        return
    repeats = 1 if args.quick else args.repeats
    print("Each run is a fresh process, methods interleaved round by round; times are medians of the runs.")
    run(args.scale, repeats, [m for m in args.methods.split(",") if m])


if __name__ == "__main__":
    main()
