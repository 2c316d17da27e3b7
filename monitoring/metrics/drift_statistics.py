"""Every drift statistic, declared once: how it is computed, which number is its score, how it decides.

A :class:`DriftStatistic` is all that the drift computation, the drift check, the metric catalogue and
the reports know of a statistic. ``compute`` takes a column's prepared samples (:class:`Comparison`,
built once per column by ``drift``) and returns the statistic's JSON block, or None where it does not
apply (a KS test on a categorical column); ``score_key`` names the block's member that is compared with
the threshold, ``shown_key`` the one a report prints beside the p-value. Adding a statistic is adding one
entry to :data:`TESTS` (and its function in ``stattests``); the numeric and categorical paths, the
``column_tests``/``test_thresholds`` options, the catalogue's ``drift_test:<name>`` metric and the
validation report's stability table all read it from here. Evidently's default test choice
(``drift_config.choose_test``) picks among the built-in ones; any declared test can be forced per column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import stattests
from ._values import CATEGORICAL, NUMERIC

if TYPE_CHECKING:
    from .drift_config import DriftConfig

P_VALUE = "p_value"
DISTANCE = "distance"


@dataclass(frozen=True)
class Cells:
    """Reference and current counts over the same cells (bins, distinct values or categories)."""

    reference: np.ndarray
    current: np.ndarray
    binning: str
    labels: list[str] | None = None


@dataclass(frozen=True)
class NumericSamples:
    """A numeric column's sorted valid values and their merge (``_kernels.merge_sorted``)."""

    reference: np.ndarray
    current: np.ndarray
    d_plus: float
    d_minus: float
    area: float
    reference_std: float | None


@dataclass(frozen=True)
class Comparison:
    """One column's two samples, prepared once for every statistic.

    ``bins`` are the PSI's cells (a numeric column's reference-decile bins, a categorical column's
    categories); ``discrete`` the cells when the column is compared as categories (categorical, or numeric
    with few distinct values), else None; ``numeric`` the sorted samples of a numeric column, else None.
    ``deciding`` is the test that decides for the column and ``alpha`` the significance it is read at.
    """

    kind: str
    bins: Cells
    discrete: Cells | None
    numeric: NumericSamples | None
    deciding: str
    alpha: float
    config: DriftConfig


@dataclass(frozen=True)
class DriftStatistic:
    """One drift statistic: its computation, its score and the rule that reads it.

    ``score_name`` is ``p_value`` (drift when below the threshold) or ``distance`` (drift at or above it);
    ``kinds`` the column kinds it may be forced on; ``max_distinct`` a limit on the column's distinct
    values when it is forced (the two-proportion test compares two); ``method`` how it is computed, for
    the result's ``method`` block.
    """

    name: str
    label: str
    score_name: str
    default_threshold: float
    kinds: tuple[str, ...]
    compute: Callable[[Comparison], dict[str, Any] | None]
    score_key: str
    statistic_key: str | None = None
    method: str = ""
    max_distinct: int | None = None

    def __post_init__(self) -> None:
        if self.score_name not in (P_VALUE, DISTANCE):
            raise ValueError(f"{self.name}: score_name must be {P_VALUE!r} or {DISTANCE!r}")

    @property
    def is_p_value(self) -> bool:
        """True when the score is a p-value (smaller means more evidence of drift)."""
        return self.score_name == P_VALUE

    @property
    def shown_key(self) -> str:
        """The block's member a report prints as the statistic (the score itself for distances)."""
        return self.statistic_key or self.score_key

    def drifted(self, score: float, threshold: float) -> bool:
        """Evidently's rule: ``p < threshold`` for p-values, ``distance >= threshold`` for distances."""
        return score < threshold if self.is_p_value else score >= threshold

    @property
    def rule(self) -> str:
        """The decision rule as text for the result."""
        return "p_value < threshold" if self.is_p_value else "distance >= threshold"

    def score(self, statistics: dict[str, Any]) -> float | None:
        """The score in a column's ``statistics``; KeyError when the statistic was not computed there."""
        return statistics[self.name][self.score_key]


def _psi(c: Comparison) -> dict[str, Any]:
    block = stattests.psi(c.bins.reference, c.bins.current, floor=c.config.psi_floor)
    block["band"] = stattests.psi_band(
        block["value"], moderate=c.config.psi_moderate, significant=c.config.psi_significant
    )
    return block


def _ks(c: Comparison) -> dict[str, Any] | None:
    n = c.numeric
    if n is None:
        return None
    return stattests.ks_test(n.d_plus, n.d_minus, n.reference, n.current, alpha=c.alpha)


def _wasserstein(c: Comparison) -> dict[str, Any] | None:
    if c.numeric is None:
        return None
    return stattests.wasserstein(c.numeric.area, c.numeric.reference_std, std_floor=c.config.std_floor)


def _jensen_shannon(c: Comparison) -> dict[str, Any]:
    cells = c.discrete if c.discrete is not None else c.bins
    return {
        "distance": stattests.jensen_shannon(cells.reference, cells.current),
        "binning": cells.binning,
        "base": "e",
    }


def _chi_square(c: Comparison) -> dict[str, Any] | None:
    # On a many-valued numeric column only when it decides (on the PSI bins): elsewhere KS says more.
    cells = c.discrete if c.discrete is not None else (c.bins if c.deciding == "chi_square" else None)
    if cells is None:
        return None
    return stattests.chi_square(cells.reference, cells.current) | {"binning": cells.binning}


def _z_test(c: Comparison) -> dict[str, Any] | None:
    cells = c.discrete
    if cells is None or len(cells.labels or ()) > 2:
        return None
    ref, cur = cells.reference, cells.current
    z = stattests.proportion_z_test(int(ref[1:].sum()), int(ref.sum()), int(cur[1:].sum()), int(cur.sum()))
    # Evidently's convention: the first label (in sorted order) against the rest.
    positive = len(cells.labels) - 1
    z["proportion_of"] = cells.labels[positive] if positive > 0 else None
    return z


TESTS: dict[str, DriftStatistic] = {
    spec.name: spec
    for spec in (
        DriftStatistic(
            "ks",
            "Kolmogorov-Smirnov test",
            P_VALUE,
            0.05,
            (NUMERIC,),
            _ks,
            score_key="p_value",
            statistic_key="statistic",
            method="two-sided; statistic and p-value as scipy.stats.ks_2samp(method='auto'), see p_value_method",
        ),
        DriftStatistic(
            "chi_square",
            "chi-square test of homogeneity",
            P_VALUE,
            0.05,
            (NUMERIC, CATEGORICAL),
            _chi_square,
            score_key="p_value",
            statistic_key="statistic",
            method="scipy.stats.chi2_contingency on the 2 x k table of reference and current counts",
        ),
        DriftStatistic(
            "z_test",
            "two-proportion Z-test",
            P_VALUE,
            0.05,
            (NUMERIC, CATEGORICAL),
            _z_test,
            score_key="p_value",
            statistic_key="statistic",
            max_distinct=2,
        ),
        DriftStatistic(
            "wasserstein",
            "Wasserstein distance (normed)",
            DISTANCE,
            0.1,
            (NUMERIC,),
            _wasserstein,
            score_key="normalised",
            method="scipy.stats.wasserstein_distance divided by max(reference std (ddof 0), std_floor)",
        ),
        DriftStatistic(
            "jensen_shannon",
            "Jensen-Shannon distance",
            DISTANCE,
            0.1,
            (NUMERIC, CATEGORICAL),
            _jensen_shannon,
            score_key="distance",
            method="scipy.spatial.distance.jensenshannon, natural logarithm (base e); numeric columns on the "
            "PSI bins (few-valued numeric columns on their values), categorical on category shares",
        ),
        # Its method depends on the run's bins and floor: drift.method_description writes it.
        DriftStatistic(
            "psi",
            "population stability index",
            DISTANCE,
            0.1,
            (NUMERIC, CATEGORICAL),
            _psi,
            score_key="value",
        ),
    )
}


def statistic(name: str) -> DriftStatistic:
    """The declaration of ``name``; a KeyError naming the declared ones for anything else.

    Readers of stored results (the reports) ask here rather than guess a block's keys, so a result naming
    a statistic nobody declared fails loudly instead of printing an empty cell.
    """
    try:
        return TESTS[name]
    except KeyError:
        raise KeyError(f"drift statistic {name!r} is not declared in drift_statistics.TESTS") from None


def compute_all(comparison: Comparison) -> dict[str, Any]:
    """Every declared statistic that applies to the column, in declaration order."""
    blocks = {name: spec.compute(comparison) for name, spec in TESTS.items()}
    return {name: block for name, block in blocks.items() if block is not None}
