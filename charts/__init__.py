"""Charts: plain numbers in, deterministic SVG bytes out, for the PDFs and the pages alike.

A neutral library below every app: it imports numpy and matplotlib only (no Django, no app), so the
reports' PDFs and the check-run page draw with the same code. What a line or a band means (the PSI
bands, a fairness threshold) is the caller's to say: every threshold comes in as an argument.

Every function builds its own :class:`matplotlib.figure.Figure` (never ``pyplot``, whose global figure
registry leaks memory and state across Celery tasks) and renders it with the SVG backend. The output is
byte-for-byte reproducible for the same inputs and matplotlib version: element ids are salted with a fixed
string per chart instead of a random UUID, and the SVG carries no date.

Text is written as SVG ``<text>`` (``svg.fonttype = "none"``) rather than as glyph outlines: the SVG is a
third of the size, WeasyPrint lays it out with the report's own font, and chart labels stay searchable in
the PDF. Dense point clouds (the SHAP beeswarm) are capped to a fixed number of points per feature, chosen
deterministically, because each point costs WeasyPrint a separate path.
"""

from __future__ import annotations

import functools
import io
import math
import re
import textwrap
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch
from matplotlib.path import Path
from matplotlib.ticker import LogFormatterSciNotation, LogLocator, NullFormatter
from matplotlib.transforms import IdentityTransform

# Okabe-Ito: distinguishable with the common colour-vision deficiencies and in greyscale print.
REFERENCE_COLOUR = "#0072B2"
CURRENT_COLOUR = "#E69F00"
GOOD_COLOUR = "#009E73"
WARN_COLOUR = "#E69F00"
BAD_COLOUR = "#D55E00"
NEUTRAL_COLOUR = "#56B4E9"
LINE_COLOUR = "#333333"
NOT_JUDGED_COLOUR = "#DDDDDD"  # groups too small to judge: grey and hatched, never red or green
HATCH_COLOUR = "#777777"

BEESWARM_POINTS_PER_FEATURE = 200
WIDTH_IN = 6.6  # fits the A4 text block (210 mm - 2 x 18 mm margins)
MAX_HEIGHT_IN = 8.5  # a chart must fit on one page below a heading
PSI_MAX_FEATURES = 40
SQUARE = (3.6, 3.0)
SERIES = (WIDTH_IN, 2.4)

_RC = {
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 8.0,
    "axes.titlesize": 9.0,
    "axes.labelsize": 8.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "path.simplify": True,
}
# rc_context changes process-wide rcParams; the lock keeps two report threads from interleaving them.
_RC_LOCK = threading.Lock()


def _isolated(chart: Callable[..., bytes]) -> Callable[..., bytes]:
    """Draw under the report's rcParams (restored afterwards), one chart at a time.

    Figures read many rcParams when they are created, not only when saved, so the whole chart function
    runs inside the context; whatever the process's rcParams are, the chart comes out the same.
    """

    @functools.wraps(chart)
    def draw(*args: Any, **kwargs: Any) -> bytes:
        with _RC_LOCK, mpl.rc_context():
            mpl.rcdefaults()  # not the process's matplotlibrc or style: the charts look the same everywhere
            mpl.rcParams.update(_RC)
            return chart(*args, **kwargs)

    return draw


# ---------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True, kw_only=True)
class Distribution:
    """Reference and current shares of one feature over the same bins (numeric) or categories.

    ``labels`` names each bin ("[0, 1.5)") or category; ``reference`` and ``current`` are shares (or
    counts: each is normalised to sum to one before plotting).
    """

    feature: str
    labels: Sequence[str]
    reference: Sequence[float]
    current: Sequence[float]


@dataclass(frozen=True, kw_only=True)
class BeeswarmFeature:
    """One row of a SHAP beeswarm: the SHAP value of each explained row and that row's feature value.

    ``feature_values`` colours the points (low to high); ``None`` entries (missing or categorical) are
    drawn grey.
    """

    feature: str
    shap_values: Sequence[float]
    feature_values: Sequence[float | None]


@dataclass(frozen=True, kw_only=True)
class TimePoint:
    """One observation of a monitored metric; ``label`` is the x tick text, e.g. ``"2025-03-02"``.

    ``status`` is the judgement its check run recorded (``pass``, ``warn``, ``fail`` or ``info``).
    """

    label: str
    value: float | None
    status: str = "info"


# ---------------------------------------------------------------------------------------------- specs


@dataclass(frozen=True, kw_only=True)
class ChartSpec:
    """A chart to draw later: its id in the template (``<img src="chart:NAME">``), its size, its drawer.

    The size is known before drawing, so the PDF can be laid out while the chart is still being drawn.
    """

    name: str
    width_in: float
    height_in: float
    draw: Callable[[], bytes]

    @property
    def width_pt(self) -> float:
        return self.width_in * 72

    @property
    def height_pt(self) -> float:
        return self.height_in * 72


def spec(name: str, chart: Callable[..., bytes], /, *args: Any, **kwargs: Any) -> ChartSpec:
    """A :class:`ChartSpec` for ``chart(*args, **kwargs)``, sized as that call will size its figure."""
    width, height = _SIZES[chart](*args, **kwargs)
    return ChartSpec(
        name=name, width_in=width, height_in=height, draw=functools.partial(chart, *args, **kwargs)
    )


def psi_chart_size(psi: Mapping[str, float], **_: Any) -> tuple[float, float]:
    return WIDTH_IN, _height(0.22 * min(len(psi), PSI_MAX_FEATURES) + 0.9, minimum=2.2)


def distributions_chart_size(items: Sequence[Distribution], *, columns: int = 2) -> tuple[float, float]:
    return WIDTH_IN, _height(2.1 * max(1, math.ceil(len(items) / columns)))


def shap_bar_chart_size(mean_abs_shap: Mapping[str, float], *, max_features: int = 15) -> tuple[float, float]:
    return WIDTH_IN, _height(0.24 * min(len(mean_abs_shap), max_features) + 0.8, minimum=2.0)


def shap_beeswarm_chart_size(features: Sequence[BeeswarmFeature], **_: Any) -> tuple[float, float]:
    return WIDTH_IN, _height(0.32 * len(features) + 1.0, minimum=2.2)


def fairness_chart_size(metric: str, values: Mapping[str, float], **_: Any) -> tuple[float, float]:
    return WIDTH_IN, _height(0.26 * len(values) + 0.9, minimum=2.0)


def confusion_matrix_chart_size(
    matrix: Sequence[Sequence[float]], labels: Sequence[str]
) -> tuple[float, float]:
    return min(WIDTH_IN, 2.2 + 0.6 * len(labels)), min(4.0, 1.2 + 0.5 * len(labels))


def _height(height: float, *, minimum: float = 0.0) -> float:
    return min(MAX_HEIGHT_IN, max(minimum, height))


def _fixed(size: tuple[float, float]) -> Callable[..., tuple[float, float]]:
    return lambda *_, **__: size


# ---------------------------------------------------------------------------------------------- charts


@_isolated
def psi_chart(psi: Mapping[str, float], *, warn: float, alert: float) -> bytes:
    """Horizontal bars of PSI per feature, highest first, with dashed lines at ``warn`` and ``alert``.

    Bars are coloured by the band they fall in, so the chart reads in greyscale print too. At most
    :data:`PSI_MAX_FEATURES` features are drawn (the most shifted); the report's table lists them all.
    """
    items = sorted(psi.items(), key=lambda item: (-_finite(item[1]), item[0]))[:PSI_MAX_FEATURES]
    names = [name for name, _ in items]
    values = [_finite(value) for _, value in items]
    fig, ax = _figure(*psi_chart_size(psi), left=_label_width(names), top=0.3)
    colours = [_band_colour(value, warn, alert) for value in values]
    _hbars(ax, values, colours)
    _row_labels(ax, names)
    for level, label in ((warn, f"{warn:g} moderate"), (alert, f"{alert:g} significant")):
        ax.axvline(level, color=LINE_COLOUR, linestyle="--", linewidth=0.8)
        ax.text(level, 1.01, label, fontsize=7, ha="center", va="bottom", transform=ax.get_xaxis_transform())
    ax.set_xlabel("Population stability index")
    ax.set_xlim(0, max([alert * 1.2, *values]) * 1.05)
    return _svg(fig, "psi")


@_isolated
def distributions_chart(items: Sequence[Distribution], *, columns: int = 2) -> bytes:
    """Reference-vs-current bars for each feature in ``items`` (small multiples, ``columns`` per row)."""
    rows = max(1, math.ceil(len(items) / columns))
    width, height = distributions_chart_size(items, columns=columns)
    fig = _new_figure(width, height)
    cell_w, cell_h = width / columns, height / rows
    for index, item in enumerate(items[: rows * columns]):
        row, column = divmod(index, columns)
        # Each cell: room for the y labels on the left, the title on top, rotated bin labels below.
        rect = (
            (column * cell_w + 0.55) / width,
            1 - ((row + 1) * cell_h - 0.55) / height,
            (cell_w - 0.7) / width,
            (cell_h - 0.85) / height,
        )
        _distribution_axes(fig.add_axes(rect), item, legend=index == 0)
    return _svg(fig, "distributions")


@_isolated
def shap_bar_chart(mean_abs_shap: Mapping[str, float], *, max_features: int = 15) -> bytes:
    """Mean |SHAP| per feature, largest first, at most ``max_features`` bars (the rest summed in one)."""
    items = sorted(mean_abs_shap.items(), key=lambda item: (-_finite(item[1]), item[0]))
    if len(items) > max_features:
        rest = sum(_finite(value) for _, value in items[max_features - 1 :])
        items = [*items[: max_features - 1], (f"{len(items) - max_features + 1} other features (sum)", rest)]
    names = [name for name, _ in items]
    fig, ax = _figure(
        *shap_bar_chart_size(mean_abs_shap, max_features=max_features), left=_label_width(names)
    )
    _hbars(ax, [_finite(v) for _, v in items], [REFERENCE_COLOUR] * len(items))
    _row_labels(ax, names)
    ax.set_xlabel("mean(|SHAP value|)")
    return _svg(fig, "shap-bar")


@_isolated
def shap_beeswarm_chart(
    features: Sequence[BeeswarmFeature], *, points_per_feature: int = BEESWARM_POINTS_PER_FEATURE
) -> bytes:
    """SHAP beeswarm: one row per feature (in the given order), points coloured by feature value.

    At most ``points_per_feature`` points are drawn per row: evenly spaced ranks of the SHAP values, so the
    shape of the distribution is kept and the same inputs always give the same points.
    """
    names = [feature.feature for feature in features]
    fig, ax = _figure(*shap_beeswarm_chart_size(features), left=_label_width(names), right=1.0)
    cmap = mpl.colormaps["coolwarm"]
    xs: list[float] = []
    ys: list[float] = []
    shades: list[float | None] = []
    for row, feature in enumerate(features):
        shap, colour_values = _beeswarm_sample(feature, points_per_feature)
        xs.extend(shap)
        ys.extend(row + offset for offset in _swarm_offsets(shap, width=0.36))
        shades.extend(colour_values)
    ax.add_artist(_DotCloud(xs, ys, shades, cmap=cmap, radius_pt=1.3))
    ax.update_datalim(list(zip(xs, ys, strict=True)) or [(0.0, 0.0)])
    ax.set_ylim(len(features) - 0.5, -0.5)
    ax.autoscale_view(scaley=False)
    _row_labels(ax, names)
    ax.axvline(0, color=LINE_COLOUR, linewidth=0.6)
    ax.set_xlabel("SHAP value (impact on model output)")
    scale = mpl.cm.ScalarMappable(cmap=cmap, norm=mpl.colors.Normalize(0, 1))
    box = ax.get_position()
    bar = fig.colorbar(
        scale,
        cax=fig.add_axes((box.x1 + 0.12 / fig.get_figwidth(), box.y0, 0.1 / fig.get_figwidth(), box.height)),
        ticks=[0, 1],
    )
    bar.ax.set_yticklabels(["low", "high"])
    bar.set_label("feature value")
    return _svg(fig, "shap-beeswarm")


@_isolated
def fairness_chart(
    metric: str,
    values: Mapping[str, float | None],
    *,
    threshold: float,
    higher_is_better: bool = True,
    not_judged: Mapping[str, int] | None = None,
    min_group_size: int | None = None,
) -> bytes:
    """Bars of ``metric`` per group with a dashed line at ``threshold``; groups on the wrong side in red.

    ``higher_is_better`` says which side passes, e.g. True for a disparate-impact ratio against 0.8.
    Groups in ``not_judged`` (label -> rows; smaller than the check's ``min_group_size``) are drawn as
    grey hatched bars labelled "not judged (n < min)": shown, but neither passing nor failing.
    """
    small = dict(not_judged or {})
    names = list(values)
    numbers = [_finite(values[name]) for name in names]
    passed = [(v >= threshold) if higher_is_better else (v <= threshold) for v in numbers]
    colours = [
        NOT_JUDGED_COLOUR if n in small else GOOD_COLOUR if ok else BAD_COLOUR
        for n, ok in zip(names, passed, strict=True)
    ]
    fig, ax = _figure(*fairness_chart_size(metric, values), left=_label_width(names), top=0.3)
    _hbars(ax, numbers, colours, hatched={NOT_JUDGED_COLOUR})
    _row_labels(ax, names)
    high = max([threshold, *numbers]) * 1.08
    if small:
        # Room right of the longest grey bar for its label (about 1.3 in of the axes' width).
        axes_width = ax.get_position().width * fig.get_figwidth()
        longest = max(numbers[i] for i, name in enumerate(names) if name in small)
        high = max(high, longest / max(0.2, 1 - 1.3 / axes_width))
    ax.set_xlim(min([0.0, *numbers]) * 1.05, high)
    minimum = f" < {min_group_size}" if min_group_size is not None else " too small"
    for row, name in enumerate(names):
        if name in small:
            label = f"not judged (n = {small[name]}{minimum})"
            ax.text(
                numbers[row],
                row,
                f" {label}",
                fontsize=7,
                ha="left",
                va="center",
                color="#444444",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6},  # over the threshold line
            )
    ax.axvline(threshold, color=LINE_COLOUR, linestyle="--", linewidth=0.8)
    ax.text(
        threshold,
        1.01,
        f"threshold {threshold:g}",
        fontsize=7,
        ha="center",
        va="bottom",
        transform=ax.get_xaxis_transform(),
    )
    ax.set_xlabel(metric)
    return _svg(fig, f"fairness-{metric}")


@_isolated
def confusion_matrix_chart(matrix: Sequence[Sequence[float]], labels: Sequence[str]) -> bytes:
    """Confusion matrix as a heat map, actual classes down, predicted across, counts in each cell."""
    size = len(labels)
    fig, ax = _figure(
        *confusion_matrix_chart_size(matrix, labels), left=_label_width(labels) + 0.2, bottom=0.6
    )
    peak = max((max(row) for row in matrix), default=1) or 1
    # Cells as vector quads (imshow would embed a bitmap in the SVG).
    edges = [i - 0.5 for i in range(size + 1)]
    ax.pcolormesh(edges, edges, matrix, cmap="Blues", vmin=0, vmax=peak)
    ax.set_ylim(size - 0.5, -0.5)
    ax.set_aspect("equal")
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            colour = "white" if count > peak / 2 else "black"
            ax.text(j, i, f"{count:g}", ha="center", va="center", color=colour)
    ax.set_xticks(list(range(size)), [_short(label, 12) for label in labels])
    ax.set_yticks(list(range(size)), [_short(label) for label in labels])
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.spines[:].set_visible(False)
    return _svg(fig, "confusion-matrix")


@_isolated
def roc_chart(fpr: Sequence[float], tpr: Sequence[float], *, auc: float | None = None) -> bytes:
    """ROC curve with the chance diagonal; the legend shows the AUC when given."""
    fig, ax = _figure(*SQUARE, left=0.6, bottom=0.5)
    label = f"model (AUC = {auc:.3f})" if auc is not None else "model"
    ax.plot(fpr, tpr, color=REFERENCE_COLOUR, linewidth=1.4, label=label)
    ax.plot([0, 1], [0, 1], color=LINE_COLOUR, linestyle=":", linewidth=0.8, label="chance")
    _unit_square(ax, "false positive rate", "true positive rate")
    ax.legend(loc="lower right")
    return _svg(fig, "roc")


@_isolated
def calibration_chart(mean_predicted: Sequence[float], fraction_positive: Sequence[float]) -> bytes:
    """Reliability diagram: observed frequency per bin against mean predicted probability."""
    fig, ax = _figure(*SQUARE, left=0.6, bottom=0.5)
    ax.plot([0, 1], [0, 1], color=LINE_COLOUR, linestyle=":", linewidth=0.8, label="perfectly calibrated")
    ax.plot(
        mean_predicted, fraction_positive, marker="o", markersize=3, color=REFERENCE_COLOUR, label="model"
    )
    _unit_square(ax, "mean predicted probability", "fraction of positives")
    ax.legend(loc="upper left")
    return _svg(fig, "calibration")


@_isolated
def time_series_chart(
    metric: str,
    points: Sequence[TimePoint],
    *,
    thresholds: Sequence[float] = (),
    log_scale: bool = False,
) -> bytes:
    """A metric over time with its threshold lines; each point coloured by the status its run gave it.

    The chart never decides what breaches: a point is amber when its run judged it ``warn`` and red when
    ``fail`` (the check applied the metric's declared direction), so a p-value and a PSI cannot be drawn
    the same way. ``log_scale`` draws p-values, which span many orders of magnitude. Missing values
    (``None``) leave a gap. At most about eight x labels are shown (more overlap at this width).
    """
    label_lines = _wrapped_axis_label(metric, SERIES[1] - 0.75 - 0.3)
    fig, ax = _figure(*SERIES, left=0.6 + 0.15 * len(label_lines), bottom=0.75, top=0.3)
    xs = list(range(len(points)))
    ys = [math.nan if p.value is None else float(p.value) for p in points]
    if log_scale:
        floor = min([y for y in ys if y > 0] or [1e-300])
        ys = [max(y, floor) if not math.isnan(y) else y for y in ys]  # a p-value of 0 sits on the floor
        ax.set_yscale("log")
    ax.plot(xs, ys, color=REFERENCE_COLOUR, linewidth=1.2, marker="o", markersize=2.5)
    for level in dict.fromkeys(thresholds):
        ax.axhline(level, color=LINE_COLOUR, linestyle="--", linewidth=0.8, label=f"threshold {level:g}")
    for status, colour, label in (("warn", WARN_COLOUR, "warn"), ("fail", BAD_COLOUR, "fail")):
        marked = [(x, y) for x, y, p in zip(xs, ys, points, strict=True) if p.status == status]
        if marked:
            ax.scatter(*zip(*marked, strict=True), color=colour, s=16, zorder=3, label=label)
    if thresholds or any(p.status in {"warn", "fail"} for p in points):
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=4, fontsize=7)
    step = max(1, math.ceil(len(points) / 8))
    ax.set_xticks(xs[::step], [p.label for p in points][::step], rotation=30, ha="right")
    if log_scale:
        _sparse_log_labels(ax)
    ax.set_ylabel("\n".join(label_lines))
    return _svg(fig, f"series-{metric}")


@dataclass(frozen=True, kw_only=True)
class StackedSeries:
    """One layer of a stacked bar chart: its legend label, one value per x position, its colour."""

    label: str
    values: Sequence[float]
    colour: str


@_isolated
def stacked_bars_chart(labels: Sequence[str], series: Sequence[StackedSeries], *, ylabel: str) -> bytes:
    """Counts per x position (e.g. a month) stacked by category (e.g. a lifecycle status), bottom-up in the
    order of ``series``; a layer that is zero everywhere is left out of the legend. At most about twelve x
    labels are shown."""
    fig, ax = _figure(*SERIES, left=0.6, bottom=0.55, top=0.45)
    xs = list(range(len(labels)))
    bottoms = [0.0] * len(labels)
    for layer in series:
        values = [_finite(v) for v in layer.values]
        boxes = [
            [(x - 0.35, b), (x + 0.35, b), (x + 0.35, b + v), (x - 0.35, b + v)]
            for x, b, v in zip(xs, bottoms, values, strict=True)
            if v > 0
        ]
        if boxes:
            _add_boxes(ax, boxes, [layer.colour] * len(boxes), label=layer.label)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set_ylim(0, max([1.0, *bottoms]) * 1.08)
    ax.yaxis.get_major_locator().set_params(integer=True)
    step = max(1, math.ceil(len(labels) / 12))
    ax.set_xticks(xs[::step], list(labels)[::step], fontsize=7)
    ax.tick_params(axis="x", length=0)
    ax.set_ylabel(ylabel)
    if any(layer.values and max(_finite(v) for v in layer.values) > 0 for layer in series):
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=4, fontsize=7)
    return _svg(fig, "stacked-bars")


def _wrapped_axis_label(label: str, height_in: float, *, max_lines: int = 2) -> list[str]:
    """``label`` in at most ``max_lines`` lines that fit along an axis ``height_in`` inches long.

    A long metric name ("chi-square test of homogeneity p-value (column 'x')") used to run off the
    chart; the heading above the chart carries the full name.
    """
    per_line = max(8, int(height_in * 72 / (_RC["axes.labelsize"] * 0.6)))
    lines = textwrap.wrap(label, per_line) or [label]
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], _short(" ".join(lines[max_lines - 1 :]), per_line)]
    return lines


def _sparse_log_labels(ax) -> None:
    """On a log axis, label minor ticks only at 2 and 5 times a power of ten, and none over wide ranges.

    matplotlib labels every minor tick when a log axis spans about a decade, and on a short chart the
    labels overlap ("3 x 10^-2" over "4 x 10^-2").
    """
    low, high = ax.get_ylim()
    if low <= 0 or high <= low:
        return
    if math.log10(high / low) > 1.5:
        ax.yaxis.set_minor_formatter(NullFormatter())
        return
    ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
    ax.yaxis.set_minor_formatter(
        LogFormatterSciNotation(labelOnlyBase=False, minor_thresholds=(math.inf, math.inf))
    )


_SIZES: dict[Callable[..., bytes], Callable[..., tuple[float, float]]] = {
    psi_chart: psi_chart_size,
    distributions_chart: distributions_chart_size,
    shap_bar_chart: shap_bar_chart_size,
    shap_beeswarm_chart: shap_beeswarm_chart_size,
    fairness_chart: fairness_chart_size,
    confusion_matrix_chart: confusion_matrix_chart_size,
    roc_chart: _fixed(SQUARE),
    calibration_chart: _fixed(SQUARE),
    time_series_chart: _fixed(SERIES),
}


# ---------------------------------------------------------------------------------------------- helpers


class _DotCloud(Artist):
    """Many small dots drawn as one path per colour band.

    ``Axes.scatter`` writes one SVG element per point, and WeasyPrint draws each of them separately
    (about a millisecond apiece). Here each dot is a (nearly) zero-length line with round caps, which
    SVG and PDF paint as a filled circle of the line's width: two coordinates per dot, one path per
    colour.
    Colours are quantised to ``bands`` steps of the colour map.
    """

    def __init__(self, xs, ys, shades, *, cmap, radius_pt: float, bands: int = 12) -> None:
        super().__init__()
        self._xy = np.column_stack([np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)])
        self._band = np.array(
            [-1 if s is None else min(bands - 1, int(s * bands)) for s in shades], dtype=int
        )
        self._colours = {band: cmap((band + 0.5) / bands) for band in range(bands)} | {-1: "#999999"}
        self._radius_pt = radius_pt
        self.set_zorder(2)

    def draw(self, renderer) -> None:
        if not len(self._xy):
            return
        centres = self.axes.transData.transform(self._xy)
        gc = renderer.new_gc()
        gc.set_clip_rectangle(self.axes.bbox)
        gc.set_linewidth(2 * self._radius_pt)
        gc.set_capstyle("round")
        gc.set_snap(False)  # snapping to pixels would make the tiny segments zero-length again
        for band, colour in self._colours.items():
            points = centres[self._band == band]
            if len(points):
                gc.set_foreground(colour)
                renderer.draw_path(gc, _dots(points), IdentityTransform(), None)
        gc.restore()


def _dots(centres: np.ndarray) -> Path:
    # A hundredth of a pixel long rather than zero: some rasterisers (Agg) skip zero-length segments.
    vertices = np.repeat(centres, 2, axis=0)
    vertices[1::2, 0] += 0.01
    codes = np.tile(np.array([Path.MOVETO, Path.LINETO], dtype=Path.code_type), len(centres))
    path = Path(vertices, codes)
    path.should_simplify = False  # simplification would drop the zero-length segments
    return path


def _figure(
    width: float,
    height: float,
    *,
    left: float = 0.6,
    bottom: float = 0.45,
    top: float = 0.12,
    right: float = 0.2,
):
    """A figure with one axes placed by margins in inches.

    Fixed margins instead of ``layout="constrained"``: the constrained solver draws the figure an extra
    time to measure it, which doubled the time of every chart.
    """
    fig = _new_figure(width, height)
    left = min(left, width * 0.45)
    rect = (left / width, bottom / height, 1 - (left + right) / width, 1 - (bottom + top) / height)
    return fig, fig.add_axes(rect)


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height))
    FigureCanvasSVG(fig)
    return fig


def _hbars(
    ax,
    values: Sequence[float],
    colours: Sequence[str],
    *,
    height: float = 0.7,
    hatched: frozenset | set = frozenset(),
) -> None:
    """Horizontal bars at y = 0, 1, ... as one path per colour, and axes limits that fit them.

    ``Axes.barh`` adds a patch per bar (and updates the data limits for each), and every patch becomes
    an SVG element that WeasyPrint draws separately; a compound path per colour looks the same. Bars of
    a colour in ``hatched`` are outlined and hatched, so they read apart in greyscale print too.
    """
    half = height / 2
    boxes = [[(0, y - half), (v, y - half), (v, y + half), (0, y + half)] for y, v in enumerate(values)]
    _add_boxes(ax, boxes, colours, hatched=hatched)
    high = max([0.0, *values])
    ax.set_xlim(min([0.0, *values]) * 1.05, high * 1.05 if high > 0 else 1.0)
    ax.set_ylim(len(values) - 0.5, -0.5)


def _row_labels(ax, labels: Sequence[str]) -> None:
    """One label per row y = 0, 1, ... left of the axes, as plain texts.

    Tick labels would do the same, but matplotlib builds a tick (two lines and two texts) per row and
    measures them all again to place the axis label: a third of a 40-feature chart's drawing time.
    """
    ax.set_yticks([])
    to_axes = ax.get_yaxis_transform()  # x in axes fractions, y in data units
    for row, label in enumerate(labels):
        ax.text(-0.012, row, _short(label), transform=to_axes, ha="right", va="center")


def _vbars(
    ax, xs: Sequence[float], heights: Sequence[float], colour: str, label: str, *, width: float = 0.4
) -> None:
    half = width / 2
    boxes = [
        [(x - half, 0), (x + half, 0), (x + half, h), (x - half, h)] for x, h in zip(xs, heights, strict=True)
    ]
    _add_boxes(ax, boxes, [colour] * len(boxes), label=label)
    ax.autoscale_view()


def _add_boxes(
    ax,
    boxes: list,
    colours: Sequence[str],
    *,
    label: str | None = None,
    hatched: frozenset | set = frozenset(),
) -> None:
    by_colour: dict[str, list] = {}
    for box, colour in zip(boxes, colours, strict=True):
        by_colour.setdefault(colour, []).append(box)
    for colour, group in by_colour.items():
        path = Path.make_compound_path_from_polys(np.asarray(group, dtype=float))
        if colour in hatched:
            patch = PathPatch(path, facecolor=colour, edgecolor=HATCH_COLOUR, hatch="////", linewidth=0.6)
        else:
            patch = PathPatch(path, facecolor=colour, edgecolor="none", label=label)
        ax.add_patch(patch)
        label = None  # one legend entry per call


def _label_width(labels: Sequence[str]) -> float:
    """Left margin (inches) for horizontal tick labels at 8 pt: DejaVu Sans averages ~0.6 em per char."""
    longest = max((len(_short(label)) for label in labels), default=4)
    return 0.2 + longest * 8 * 0.6 / 72


def _short(label: str, limit: int = 32) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


SVG_STYLE_ELEMENT = re.compile(
    rb"\s*<style type=\"text/css\">\*\{stroke-linejoin: round; stroke-linecap: butt\}</style>"
)


def _svg(fig: Figure, name: str) -> bytes:
    buffer = io.BytesIO()
    # A fixed salt per chart instead of a random UUID: stable ids, unique if charts are ever inlined.
    with mpl.rc_context({"svg.hashsalt": f"attest:{name}"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "Attest"})
    return _without_style_element(buffer.getvalue())


def _without_style_element(svg: bytes) -> bytes:
    """Matplotlib puts its one CSS rule in a ``<style>`` element, which the pages' Content-Security-Policy
    refuses when the chart is inlined (style-src 'self'); the same rule as inherited presentation
    attributes on the root draws the same chart, in the browser and in the PDF."""
    svg = SVG_STYLE_ELEMENT.sub(b"", svg, count=1)
    return svg.replace(b"<svg ", b'<svg stroke-linejoin="round" stroke-linecap="butt" ', 1)


def _distribution_axes(ax, item: Distribution, *, legend: bool) -> None:
    reference = _shares(item.reference)
    current = _shares(item.current)
    positions = list(range(len(item.labels)))
    _vbars(ax, [p - 0.2 for p in positions], reference, REFERENCE_COLOUR, "reference")
    _vbars(ax, [p + 0.2 for p in positions], current, CURRENT_COLOUR, "current")
    step = max(1, math.ceil(len(positions) / 8))
    ax.set_xticks(positions[::step], list(item.labels)[::step], rotation=30, ha="right", fontsize=6)
    ax.tick_params(axis="x", length=0)
    ax.set_title(_short(item.feature, 40))
    ax.set_ylabel("share")
    if legend:
        ax.legend(loc="upper right", fontsize=6)


def _shares(values: Sequence[float]) -> list[float]:
    numbers = [_finite(v) for v in values]
    total = sum(numbers)
    return [v / total for v in numbers] if total > 0 else numbers


def _beeswarm_sample(feature: BeeswarmFeature, limit: int) -> tuple[list[float], list[float | None]]:
    pairs = sorted(
        zip((_finite(v) for v in feature.shap_values), feature.feature_values, strict=True),
        key=lambda pair: pair[0],
    )
    if len(pairs) > limit:
        pairs = [pairs[round(i * (len(pairs) - 1) / (limit - 1))] for i in range(limit)]
    known = [v for _, v in pairs if v is not None and math.isfinite(v)]
    low, high = (min(known), max(known)) if known else (0.0, 1.0)
    span = (high - low) or 1.0
    colours = [None if v is None or not math.isfinite(v) else (v - low) / span for _, v in pairs]
    return [s for s, _ in pairs], colours


def _swarm_offsets(sorted_values: Sequence[float], *, width: float) -> list[float]:
    """Vertical jitter that grows with local density, alternating above and below the row line."""
    if not sorted_values:
        return []
    low, high = sorted_values[0], sorted_values[-1]
    bins = 60
    span = (high - low) or 1.0
    counts: dict[int, int] = {}
    offsets = []
    for value in sorted_values:
        slot = min(bins - 1, int((value - low) / span * bins))
        seen = counts.get(slot, 0)
        counts[slot] = seen + 1
        sign = 1 if seen % 2 else -1
        offsets.append(sign * min(width, 0.025 * ((seen + 1) // 2)))
    return offsets


def _unit_square(ax, xlabel: str, ylabel: str) -> None:
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def _band_colour(value: float, warn: float, alert: float) -> str:
    if value >= alert:
        return BAD_COLOUR
    return WARN_COLOUR if value >= warn else GOOD_COLOUR


def _finite(value: float | None) -> float:
    # A NaN or infinite value would make matplotlib drop the bar silently; draw it as zero instead
    # (the tables next to the charts print the real value).
    if value is None:
        return 0.0
    number = float(value)
    return number if math.isfinite(number) else 0.0
