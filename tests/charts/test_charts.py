"""Charts: plain data in, reproducible SVG out, no global matplotlib state touched."""

from __future__ import annotations

import math
import random
import subprocess
import sys
from xml.etree import ElementTree

import matplotlib as mpl
import pytest
from matplotlib._pylab_helpers import Gcf

import charts

RNG = random.Random(4)
BANDS = {"warn": 0.1, "alert": 0.25}  # the caller's bands: the chart declares none of its own
SHAP = [RNG.gauss(0, 1) for _ in range(500)]
CASES = {
    "psi": lambda: charts.psi_chart({"income": 0.31, "age": 0.12, "region": 0.01}, **BANDS),
    "distributions": lambda: charts.distributions_chart(
        [
            charts.Distribution(
                feature="income", labels=["a", "b", "c"], reference=[1, 2, 3], current=[3, 2, 1]
            )
        ]
    ),
    "shap-bar": lambda: charts.shap_bar_chart({f"f{i}": 1 / (i + 1) for i in range(20)}),
    "beeswarm": lambda: charts.shap_beeswarm_chart(
        [
            charts.BeeswarmFeature(
                feature="income",
                shap_values=SHAP,
                feature_values=[None] * 500,
            )
        ]
    ),
    "fairness": lambda: charts.fairness_chart("disparate impact", {"a": 0.7, "b": 1.0}, threshold=0.8),
    "confusion": lambda: charts.confusion_matrix_chart([[50, 5], [7, 40]], ["no", "yes"]),
    "roc": lambda: charts.roc_chart([0, 0.2, 1], [0, 0.7, 1], auc=0.81),
    "calibration": lambda: charts.calibration_chart([0.1, 0.5, 0.9], [0.12, 0.48, 0.93]),
    "series": lambda: charts.time_series_chart(
        "AUC",
        [
            charts.TimePoint(label=f"d{i}", value=0.8 - i / 100, status="fail" if i > 5 else "pass")
            for i in range(9)
        ],
        thresholds=[0.75],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_it_draws_the_same_svg_every_time(name):
    first, second = CASES[name](), CASES[name]()
    assert first == second
    root = ElementTree.fromstring(first)  # noqa: S314 (our own output, not untrusted input)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert b"<dc:date>" not in first


def test_it_leaves_global_matplotlib_state_alone():
    before = dict(mpl.rcParams)
    for draw in CASES.values():
        draw()
    assert dict(mpl.rcParams) == before
    assert Gcf.get_all_fig_managers() == []


def test_it_ignores_the_processes_rcparams():
    with mpl.rc_context({"font.size": 30, "axes.facecolor": "red", "svg.fonttype": "path"}):
        changed = CASES["psi"]()
    assert changed == CASES["psi"]()


def test_it_draws_non_finite_values_as_zero_instead_of_failing():
    svg = charts.psi_chart({"a": math.nan, "b": math.inf, "c": 0.2}, **BANDS)
    assert b"<svg" in svg


def test_it_draws_the_psi_lines_at_the_bands_it_is_given():
    svg = charts.psi_chart({"income": 0.31}, warn=0.2, alert=0.4).decode()
    assert "0.2 moderate" in svg
    assert "0.4 significant" in svg
    assert "0.1 moderate" not in svg


def test_it_imports_no_app_and_no_django():
    """The PDFs and the pages share this library: it sits below every app."""
    code = "import sys, charts; print(sorted(m for m in sys.modules if m.split('.')[0] in APPS))"
    apps = [
        "django",
        "config",
        "accounts",
        "jobs",
        "governance",
        "registry",
        "monitoring",
        "workflow",
        "reports",
        "workers",
    ]
    out = subprocess.run(
        [sys.executable, "-c", f"APPS = {apps!r}; {code}"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_it_caps_the_beeswarm_to_a_fixed_number_of_points_per_feature():
    feature = charts.BeeswarmFeature(
        feature="f", shap_values=list(range(1000)), feature_values=list(range(1000))
    )
    shap, colours = charts._beeswarm_sample(feature, 50)
    assert len(shap) == len(colours) == 50
    assert (shap[0], shap[-1]) == (0, 999)


def test_it_sizes_a_chart_before_drawing_it():
    spec = charts.spec("psi", charts.psi_chart, {f"f{i}": 0.1 for i in range(10)}, **BANDS)
    assert spec.width_pt == pytest.approx(charts.WIDTH_IN * 72)
    assert f'width="{spec.width_pt:g}pt"'.encode() in spec.draw()
    tall = charts.spec("psi", charts.psi_chart, {f"f{i}": 0.1 for i in range(500)}, **BANDS)
    assert tall.height_in <= charts.MAX_HEIGHT_IN


def test_a_time_series_colours_each_point_as_its_run_judged_it():
    """A p-value that warned is amber however small it is, one that passed is not marked; the chart
    re-judges nothing (a p-value drawn with a PSI's direction once showed p = 0.44 as a breach)."""
    points = [
        charts.TimePoint(label="d1", value=0.44, status="pass"),
        charts.TimePoint(label="d2", value=1.2e-18, status="warn"),
        charts.TimePoint(label="d3", value=0.03, status="warn"),
        charts.TimePoint(label="d4", value=0.2, status="fail"),
    ]

    svg = charts.time_series_chart("KS p-value (column 'age')", points, thresholds=[0.05], log_scale=True)
    text = svg.decode()

    plotted = text.split('id="legend_1"')[0]  # the legend repeats one marker per status
    markers = [line for line in plotted.splitlines() if "<use " in line]
    assert sum(charts.WARN_COLOUR.lower() in line.lower() for line in markers) == 2
    assert sum(charts.BAD_COLOUR.lower() in line.lower() for line in markers) == 1
    assert "threshold 0.05" in text
