"""Drift settings and the choice of the deciding test per column.

The defaults reproduce Evidently's ``DataDriftPreset`` (0.7.23): the test is picked from the reference size
and the column's kind and number of distinct values (``_get_default_stattest`` in
``evidently.legacy.calculations.stattests.registry``), each test has Evidently's default threshold, and the
dataset drifts when at least half of its columns do. Every choice is written into the result with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ._values import NUMERIC
from .drift_statistics import TESTS
from .errors import InvalidInputError

EVIDENTLY_SOURCE = "Evidently DataDriftPreset default (evidently 0.7.23)"


@dataclass(frozen=True)
class DriftConfig:
    """Thresholds and overrides for a drift run; the defaults are Evidently's DataDriftPreset defaults.

    ``column_tests`` forces a test for a column (names in :data:`TESTS`); ``column_thresholds`` and
    ``test_thresholds`` replace thresholds for a column or for every use of a test (column wins).
    """

    psi_bins: int = 10
    psi_floor: float = 1e-4
    # The PSI bands, declared here only: the metric catalogue's psi_warn/psi_fail defaults, the run page's
    # and the PDFs' threshold lines and the band names in a drift result all read these two fields.
    psi_moderate: float = 0.1
    psi_significant: float = 0.25
    std_floor: float = 0.001
    small_reference_rows: int = 1000
    few_values: int = 5
    drift_share: float = 0.5
    infinite: str = "missing"
    workers: int = 2
    max_categories_reported: int = 100
    column_tests: Mapping[str, str] = field(default_factory=dict)
    column_thresholds: Mapping[str, float] = field(default_factory=dict)
    test_thresholds: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for column, test in self.column_tests.items():
            if test not in TESTS:
                raise InvalidInputError(
                    f"Column {column!r}: unknown drift test {test!r}; use one of {sorted(TESTS)}",
                    column=column,
                )
        for test in self.test_thresholds:
            if test not in TESTS:
                raise InvalidInputError(f"Unknown drift test {test!r} in test_thresholds")
        if not 0.0 < self.drift_share <= 1.0:
            raise InvalidInputError(f"drift_share must be in (0, 1], not {self.drift_share!r}")
        if self.workers < 1:
            raise InvalidInputError(f"workers must be at least 1, not {self.workers!r}")

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain JSON data, for the result's ``method`` block."""
        data = asdict(self)
        for key in ("column_tests", "column_thresholds", "test_thresholds"):
            data[key] = dict(data[key])
        return data

    def threshold_for(self, column: str, test: str) -> tuple[float, str]:
        """The threshold that applies and where it comes from."""
        if column in self.column_thresholds:
            return float(self.column_thresholds[column]), f"configured for column {column!r}"
        if test in self.test_thresholds:
            return float(self.test_thresholds[test]), f"configured for test {test!r}"
        return TESTS[test].default_threshold, EVIDENTLY_SOURCE


@dataclass(frozen=True)
class ChosenTest:
    """The deciding test for a column and why it was chosen."""

    name: str
    reason: str
    source: str


def choose_test(
    column: str, kind: str, reference_rows: int, distinct: int, config: DriftConfig
) -> ChosenTest:
    """Pick the deciding test as Evidently does, unless ``config.column_tests`` names one.

    ``reference_rows`` counts the reference's non-missing finite values (Evidently drops NaN and inf first);
    ``distinct`` counts distinct values in reference and current together (Evidently's ``n_values``).
    """
    forced = config.column_tests.get(column)
    if forced is not None:
        _check_forced(column, kind, forced, distinct)
        return ChosenTest(forced, f"configured for column {column!r}", "configuration")
    small = reference_rows <= config.small_reference_rows
    size_text = (
        f"reference has {reference_rows} non-missing rows ({config.small_reference_rows} or fewer)"
        if small
        else f"reference has {reference_rows} non-missing rows (more than {config.small_reference_rows})"
    )
    test, shape_text = _default_test(kind, distinct, small, config.few_values)
    return ChosenTest(test, f"{size_text} and the column is {shape_text}", EVIDENTLY_SOURCE)


def _default_test(kind: str, distinct: int, small: bool, few_values: int) -> tuple[str, str]:
    values_text = f"{distinct} distinct value{'s' if distinct != 1 else ''} in reference and current together"
    if kind == NUMERIC and distinct > few_values:
        shape = f"numeric with {values_text}"
        return ("ks" if small else "wasserstein"), shape
    if kind == NUMERIC:
        shape = f"numeric with {values_text} ({few_values} or fewer, so compared as categories)"
    else:
        shape = f"categorical with {values_text}"
    if not small:
        return "jensen_shannon", shape
    if distinct > 2:
        return "chi_square", shape
    return "z_test", shape + " (binary)"


def _check_forced(column: str, kind: str, test: str, distinct: int) -> None:
    spec = TESTS[test]
    if kind not in spec.kinds:
        raise InvalidInputError(
            f"Column {column!r} is {kind}; the {spec.label} needs a {' or '.join(spec.kinds)} column",
            column=column,
        )
    if spec.max_distinct is not None and distinct > spec.max_distinct:
        raise InvalidInputError(
            f"Column {column!r} has {distinct} distinct values; the {spec.label} needs at most "
            f"{spec.max_distinct}",
            column=column,
        )
