"""The stored form of a check run's results, typed: what every reader outside the check kinds reads.

A run stores two JSON documents: ``results`` (``{"format", "kind", "metrics", "charts"}``, hashed into
``result_sha256`` and signed through the evidence manifest) and ``evaluations`` (the judged numbers).
The models below describe both, per check kind, and are the only way other apps read them
(``results.of(run).metrics.data_drift.columns``, ``results.evaluations_of(run)``), so a renamed key
fails here and in the type checker instead of silently in a report.

Versions: ``format`` is ``attest-check-results/<FORMAT_VERSION>``. Results are upgraded on read: a
document without ``format`` is version 1, and ``UPGRADES`` maps each older version to the function
that lifts it one step. A document from a newer version than this code knows is refused.

Reading never changes what was stored: every model keeps the keys it does not declare (``extra``), and
``to_stored()`` gives back exactly the keys that were read (unset defaults are left out), so the stored
bytes, and the digest an approval signed, are reproduced. Parts a reader may find missing (a run that
stored less, results of an older release) have defaults; the published JSON Schema
(``docs/schemas/check-results.json``) marks them optional for that reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

if TYPE_CHECKING:
    from monitoring.models import CheckRun

FORMAT_VERSION = 1
FORMAT_PREFIX = "attest-check-results/"
FORMAT = f"{FORMAT_PREFIX}{FORMAT_VERSION}"

Number = int | float
Label = str | int | float | bool | None  # a class or group label as the data spells it
Status = Literal["pass", "warn", "fail", "info"]


class ResultsFormatError(ValueError):
    """Stored results in a format this code cannot read (a newer version, or not results at all)."""


class Stored(BaseModel):
    """A part of a stored JSON document: undeclared keys are kept, and written back as read."""

    model_config = ConfigDict(extra="allow", frozen=True)

    def to_stored(self) -> dict[str, Any]:
        """The JSON document: the keys that were read or given, never the defaults filled in on read."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


# ------------------------------------------------------------------------------------------ evaluations


class Evaluation(Stored):
    """One judged number (``monitoring.checks.base.evaluation``): metric, scope, value, rule, status."""

    metric: str = ""
    direction: str | None = None
    scope: str = ""
    value: Number | None = None
    threshold: Number | None = None
    threshold_name: str | None = None
    threshold_source: str | None = None
    rule: str | None = None
    status: Status = "info"
    explanation: str = ""


# ------------------------------------------------------------------------------------------------ drift


class PsiBins(Stored):
    edges: list[Number | None] = []
    reference_shares: list[Number | None] = []
    current_shares: list[Number | None] = []


class PsiStatistic(Stored):
    value: Number | None = None
    band: str | None = None
    bins: PsiBins | None = None


class CategoryShares(Stored):
    labels: list[Label] = []
    reference_shares: list[Number | None] = []
    current_shares: list[Number | None] = []


class ColumnStatistics(Stored):
    """A column's drift statistics: each declared one (``monitoring.metrics.drift_statistics.TESTS``)
    under its name, with the members its declaration names; PSI and the category shares are typed
    here because the charts read them."""

    psi: PsiStatistic | None = None
    categories: CategoryShares | None = None
    distinct_values: int | None = None

    def of_test(self, name: str) -> dict[str, Any]:
        """The numbers the named statistic stored (empty when the column has none)."""
        if name == "psi":
            return self.psi.to_stored() if self.psi else {}
        found = (self.model_extra or {}).get(name)
        return found if isinstance(found, dict) else {}


class DriftTest(Stored):
    """The test that decided a column's drift, with its score and threshold."""

    name: str | None = None
    label: str = ""
    score: Number | None = None
    score_name: str | None = None
    threshold: Number | None = None
    threshold_source: str | None = None
    rule: str | None = None
    reason: str | None = None


class ColumnDrift(Stored):
    """One column compared: ``status`` ``tested`` or why not, its statistics and the deciding test."""

    column: str = ""
    status: str = ""
    reason: str | None = None
    drift_detected: bool | None = None
    statistics: ColumnStatistics = Field(default_factory=ColumnStatistics)
    test: DriftTest | None = None


class DriftSummary(Stored):
    dataset_drift: bool | None = None
    share_of_drifted_columns: Number | None = None
    number_of_drifted_columns: int | None = None
    tested_columns: int | None = None
    drift_share: Number | None = None


class DataDrift(Stored):
    columns: list[ColumnDrift] = []
    summary: DriftSummary = Field(default_factory=DriftSummary)


class PredictionDrift(Stored):
    prediction: ColumnDrift | None = None


class DriftMetrics(Stored):
    data_drift: DataDrift = Field(default_factory=DataDrift)
    prediction_drift: PredictionDrift | None = None


class PsiBar(Stored):
    column: str
    psi: Number | None = None
    band: str | None = None


class DistributionData(Stored):
    """Reference and current shares of one column: PSI bins (``histogram``) or ``categories``."""

    column: str
    type: Literal["histogram", "categories"]
    edges: list[Number | None] = []
    labels: list[Label] = []
    reference_shares: list[Number | None] = []
    current_shares: list[Number | None] = []


class DriftCharts(Stored):
    psi_bars: list[PsiBar] = []
    distributions: list[DistributionData] = []


# --------------------------------------------------------------------------------------------- fairness


class Aggregate(Stored):
    value: Number | None = None
    reason: str | None = None


class Aggregates(Stored):
    """A grouping's disparities (fairlearn's conventions), each a value or why it is undefined."""

    demographic_parity_difference: Aggregate | None = None
    demographic_parity_ratio: Aggregate | None = None
    disparate_impact: Aggregate | None = None
    equal_opportunity_difference: Aggregate | None = None
    equal_opportunity_ratio: Aggregate | None = None
    equalized_odds_difference: Aggregate | None = None
    equalized_odds_ratio: Aggregate | None = None
    judged_groups: int | None = None


class Grouping(Stored):
    features: list[str] = []
    aggregates: Aggregates = Field(default_factory=Aggregates)


class FairnessReport(Stored):
    min_group_size: int | None = None
    positive_label: Label = None
    groupings: list[Grouping] = []


class FairnessMetrics(Stored):
    fairness: FairnessReport = Field(default_factory=FairnessReport)
    bands: dict[str, Any] = {}


class GroupBar(Stored):
    label: Label = None
    count: int | None = None
    judged: bool = True
    selection_rate: Number | None = None
    true_positive_rate: Number | None = None
    false_positive_rate: Number | None = None
    disparate_impact: Number | None = None


class GroupingBars(Stored):
    features: list[str] = []
    groups: list[GroupBar] = []


class FairnessCharts(Stored):
    group_bars: list[GroupingBars] = []
    disparate_impact_line: Number | None = None


# ------------------------------------------------------------------------------------------ performance


class PerformanceReport(Stored):
    """Headline metrics of a binary classifier or a regression model (``kind``)."""

    kind: str = ""
    roc_auc: Number | None = None
    accuracy: Number | None = None
    precision: Number | None = None
    recall: Number | None = None
    f1: Number | None = None
    gini: Number | None = None
    r2: Number | None = None
    rmse: Number | None = None
    mae: Number | None = None

    def headline(self, name: str) -> Number | None:
        """A headline metric by its declared name (``monitoring.metrics.catalogue``), None if absent."""
        value = getattr(self, name, None) if name in HEADLINE_METRICS else None
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None


HEADLINE_METRICS = ("roc_auc", "accuracy", "precision", "recall", "f1", "gini", "r2", "rmse", "mae")


class PerformanceMetrics(Stored):
    performance: PerformanceReport = Field(default_factory=PerformanceReport)


class ConfusionMatrix(Stored):
    labels: list[Label] = []
    matrix: list[list[int]] = []


class RocCurve(Stored):
    fpr: list[Number] = []
    tpr: list[Number] = []


class Calibration(Stored):
    mean_predicted: list[Number | None] = []
    observed_rate: list[Number | None] = []


class PerformanceCharts(Stored):
    confusion_matrix: ConfusionMatrix | None = None
    roc: RocCurve | None = None
    calibration: Calibration | None = None


# --------------------------------------------------------------------------------------- explainability


class Importance(Stored):
    feature: str
    mean_abs_shap: Number | None = None


class Explanation(Stored):
    explainer: str | None = None
    output: str | None = None
    rows_available: int | None = None
    rows_explained: int | None = None
    global_importance: list[Importance] = []


class ExplainabilityMetrics(Stored):
    """The SHAP explanation, the reliance on declared features and the rank stability (see
    ``monitoring.checks.explainability``; ``describe`` words them for documents)."""

    explanation: Explanation = Field(default_factory=Explanation)
    reliance: dict[str, Any] = {}
    stability: dict[str, Any] = {}


class BeeswarmData(Stored):
    feature: str
    points: list[list[Any]] = []  # [feature value (any JSON), SHAP value] per explained row


class ExplainabilityCharts(Stored):
    shap_bar: list[Importance] = []
    beeswarm: list[BeeswarmData] = []


# ------------------------------------------------------------------------------------------ data quality


class QualityIssue(Stored):
    code: str
    column: str | None = None
    severity: Literal["error", "warning", "info"]
    message: str = ""
    share: Number | None = None


class QualityReport(Stored):
    columns: list[dict[str, Any]] = []
    issues: list[QualityIssue] = []
    summary: dict[str, Any] = {}


class QualityMetrics(Stored):
    quality: QualityReport = Field(default_factory=QualityReport)


class MissingShare(Stored):
    column: str
    reference: Number | None = None
    current: Number | None = None


class QualityCharts(Stored):
    issues_by_severity: dict[str, int] = {}
    missing_shares: list[MissingShare] = []


# ----------------------------------------------------------------------------------------- LLM evaluation


class LlmMetric(Stored):
    """A metric's mean over the rows it applies to, how many rows that is, and why it is undefined."""

    value: Number | None = None
    rows: int = 0
    count: int | None = None
    reason: str | None = None


class PiiCount(Stored):
    rows: int = 0
    rate: Number | None = None


class LlmSummary(Stored):
    rows: int = 0
    metrics: dict[str, LlmMetric] = {}
    pii: dict[str, PiiCount] = {}


class LlmGroup(LlmSummary):
    value: Label = None
    judged: bool = True


class LlmSlice(Stored):
    column: str = ""
    groups: list[LlmGroup] = []
    omitted_groups: int = 0


class LlmEvaluationReport(Stored):
    """``monitoring.metrics.llm_evaluation.llm_evaluation_report``: overall, per slice, per human label."""

    columns: dict[str, Any] = {}
    phone_region: str | None = None
    min_slice_rows: int | None = None
    overall: LlmSummary = Field(default_factory=LlmSummary)
    missing_outputs: int | None = None
    missing_references: int | None = None
    slices: list[LlmSlice] = []
    by_label: LlmSlice | None = None
    refusal_patterns: list[str] = []


class LlmEvaluationMetrics(Stored):
    llm_evaluation: LlmEvaluationReport = Field(default_factory=LlmEvaluationReport)


class LlmMean(Stored):
    metric: str
    value: Number | None = None


class LlmEvaluationCharts(Stored):
    means: list[LlmMean] = []
    pii_rows: dict[str, int] = {}


# ------------------------------------------------------------------------------------------- documents


class CheckResults(Stored):
    """The ``results`` document of a run: its format, its kind, the metrics and the chart data."""

    format: str = FORMAT

    @property
    def format_version(self) -> int:
        return version_of({"format": self.format})

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> Self:
        return cls.model_validate(upgraded(stored))


class DriftResults(CheckResults):
    kind: Literal["drift"] = "drift"
    metrics: DriftMetrics = Field(default_factory=DriftMetrics)
    charts: DriftCharts = Field(default_factory=DriftCharts)


class FairnessResults(CheckResults):
    kind: Literal["fairness"] = "fairness"
    metrics: FairnessMetrics = Field(default_factory=FairnessMetrics)
    charts: FairnessCharts = Field(default_factory=FairnessCharts)


class PerformanceResults(CheckResults):
    kind: Literal["performance"] = "performance"
    metrics: PerformanceMetrics = Field(default_factory=PerformanceMetrics)
    charts: PerformanceCharts = Field(default_factory=PerformanceCharts)


class ExplainabilityResults(CheckResults):
    kind: Literal["explainability"] = "explainability"
    metrics: ExplainabilityMetrics = Field(default_factory=ExplainabilityMetrics)
    charts: ExplainabilityCharts = Field(default_factory=ExplainabilityCharts)


class QualityResults(CheckResults):
    kind: Literal["data_quality"] = "data_quality"
    metrics: QualityMetrics = Field(default_factory=QualityMetrics)
    charts: QualityCharts = Field(default_factory=QualityCharts)


class TelemetryResults(CheckResults):
    """One time bucket of a version's production telemetry (OTLP intake) that breached: its figures."""

    kind: Literal["telemetry"] = "telemetry"
    metrics: dict[str, Any] = {}


class LlmEvaluationResults(CheckResults):
    kind: Literal["llm_evaluation"] = "llm_evaluation"
    metrics: LlmEvaluationMetrics = Field(default_factory=LlmEvaluationMetrics)
    charts: LlmEvaluationCharts = Field(default_factory=LlmEvaluationCharts)


BY_KIND: dict[str, type[CheckResults]] = {
    "drift": DriftResults,
    "fairness": FairnessResults,
    "performance": PerformanceResults,
    "explainability": ExplainabilityResults,
    "data_quality": QualityResults,
    "telemetry": TelemetryResults,
    "llm_evaluation": LlmEvaluationResults,
}
AnyResults = Annotated[
    DriftResults
    | FairnessResults
    | PerformanceResults
    | ExplainabilityResults
    | QualityResults
    | TelemetryResults
    | LlmEvaluationResults,
    Field(discriminator="kind"),
]
EVALUATIONS = TypeAdapter(list[Evaluation])

# version n -> a function lifting a stored document from n to n + 1 (none yet: version 1 is the first)
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def version_of(stored: dict[str, Any]) -> int:
    """The format version of a stored document; one without ``format`` is version 1."""
    text = stored.get("format")
    if text is None:
        return 1
    if not (
        isinstance(text, str) and text.startswith(FORMAT_PREFIX) and text[len(FORMAT_PREFIX) :].isdigit()
    ):
        raise ResultsFormatError(f"Not a check-results format: {text!r}.")
    return int(text[len(FORMAT_PREFIX) :])


def upgraded(stored: dict[str, Any]) -> dict[str, Any]:
    """``stored`` lifted to ``FORMAT_VERSION`` step by step (itself when it is current)."""
    version = version_of(stored)
    if version > FORMAT_VERSION:
        raise ResultsFormatError(
            f"Check results of format version {version}; this release reads up to {FORMAT_VERSION}."
        )
    while version < FORMAT_VERSION:
        stored = UPGRADES[version](stored)
        version += 1
    return stored


def parse(kind: str, stored: dict[str, Any] | None) -> CheckResults:
    """The typed results of a run of ``kind`` (its stored ``kind`` may be missing: the run names it)."""
    return BY_KIND[kind].from_stored(stored or {})


def of(run: CheckRun) -> CheckResults:
    """The typed results of ``run`` (empty parts when it has none yet)."""
    return parse(run.kind, run.results)


def evaluations_of(run: CheckRun) -> list[Evaluation]:
    """The typed evaluations of ``run``, in their stored order."""
    return EVALUATIONS.validate_python(run.evaluations or [])


def stored_evaluations(evaluations: list[Evaluation]) -> list[dict[str, Any]]:
    return [item.to_stored() for item in evaluations]


def json_schemas() -> dict[str, dict[str, Any]]:
    """The published JSON Schemas (``manage.py results_schemas`` writes them to ``docs/schemas``)."""
    results = TypeAdapter(AnyResults).json_schema()
    results |= {"title": "Attest check results", "$comment": f"format {FORMAT}"}
    evaluations = EVALUATIONS.json_schema() | {
        "title": "Attest check evaluations",
        "$comment": f"format {FORMAT} (a run's evaluations, stored beside its results)",
    }
    return {"check-results": results, "check-evaluations": evaluations}
