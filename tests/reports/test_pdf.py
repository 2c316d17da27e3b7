"""The render pipeline itself: fenced worker, refusals, time limit, failures as clear exceptions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import charts
from reports.rendering import pdf, worker
from tests.reports.conftest import pdf_text, read_pdf

CREATED = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
HOSTILE = """<!doctype html><html><head><title>t</title>
<link rel="stylesheet" href="asset:report.css">
<link rel="stylesheet" href="http://169.254.169.254/latest/meta-data/style.css">
<style>body { background: url(http://169.254.169.254/); }</style></head>
<body><h1 id="a">Heading</h1><p>Body text</p>
<img src="file:///etc/passwd"><img src="chart:psi">
<link rel="attachment" href="file:///etc/hostname">
</body></html>"""


def _psi():
    return charts.spec("psi", charts.psi_chart, {"income": 0.3, "age": 0.05}, warn=0.1, alert=0.25)


def test_it_refuses_local_files_and_the_network_and_still_renders(no_network):
    rendered = pdf.render_html(HOSTILE, created=CREATED, charts=[_psi()])
    assert "file:///etc/passwd" in rendered.refused
    assert "file:///etc/hostname" in rendered.refused
    assert "http://169.254.169.254/" in rendered.refused
    assert "http://169.254.169.254/latest/meta-data/style.css" in rendered.refused
    assert rendered.blocked == ()  # the worker's audit hook saw no socket or process attempt
    assert "Body text" in pdf_text(rendered.pdf)
    assert not read_pdf(rendered.pdf).attachments


def test_it_stops_a_render_that_exceeds_its_time_limit():
    with pytest.raises(pdf.RenderTimeout, match=r"longer than 0\.01 s"):
        pdf.render_html(HOSTILE, created=CREATED, charts=[_psi()], time_limit=0.01)


def test_it_fails_clearly_when_the_template_shows_a_chart_nobody_drew():
    with pytest.raises(
        pdf.RenderError, match="chart 'psi' is referenced by the template but was not supplied"
    ):
        pdf.render_html(HOSTILE, created=CREATED)


def test_it_fails_clearly_when_a_drawn_chart_is_not_shown():
    extra = charts.spec("roc", charts.roc_chart, [0, 1], [0, 1])
    with pytest.raises(pdf.RenderError, match="not shown by the template: roc"):
        pdf.render_html(HOSTILE, created=CREATED, charts=[_psi(), extra])


def test_it_fails_clearly_when_a_chart_cannot_be_drawn():
    broken = charts.ChartSpec(name="psi", width_in=2, height_in=1, draw=lambda: 1 / 0)
    with pytest.raises(pdf.RenderError, match="chart 'psi' could not be drawn: division by zero"):
        pdf.render_html(HOSTILE, created=CREATED, charts=[broken])


def test_it_refuses_an_unknown_variant():
    with pytest.raises(ValueError, match="variant"):
        pdf.render_html("<p>x</p>", created=CREATED, variant="pdf/x-4")


def test_it_blocks_sockets_and_processes_inside_the_worker():
    with pytest.raises(PermissionError):
        worker._audit("socket.connect", ())
    with pytest.raises(PermissionError):
        worker._audit("subprocess.Popen", ())
    worker._audit("open", ())  # everything else passes


def test_it_escapes_template_values_without_needing_settings():
    html = pdf.render_template(
        "reports/pdf/_table.html",
        {"table": {"columns": [{"text": "<b>", "class": ""}], "rows": [[{"text": 1.5, "class": ""}]]}},
    )
    assert "&lt;b&gt;" in html
    assert '<td class="">1.5</td>' in html


def test_it_keeps_the_worker_environment_free_of_secrets(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://secret")
    monkeypatch.setenv("SECRET_KEY", "x" * 50)
    env = pdf._worker_environment()
    assert "DATABASE_URL" not in env
    assert "SECRET_KEY" not in env
    assert env["PYTHONPATH"] == str(pdf.ROOT)


def test_it_renders_the_next_report_with_a_worker_started_in_advance(monkeypatch):
    monkeypatch.setattr(pdf, "KEEP_SPARE_WORKER", True)
    pdf.render_html("<p>first</p>", created=CREATED)
    spare = pdf._SPARE._spare[0].pid
    second = pdf.render_html("<p>second</p>", created=CREATED)
    assert second.stats["worker_pid"] == spare
    assert "second" in pdf_text(second.pdf)


def test_it_keeps_no_spare_when_told_not_to(monkeypatch):
    monkeypatch.setattr(pdf, "KEEP_SPARE_WORKER", False)
    pdf._SPARE.close()
    pdf.render_html("<p>alone</p>", created=CREATED)
    assert pdf._SPARE._spare is None
