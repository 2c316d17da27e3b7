"""Report content for LLM applications, shared by the validation report and the Annex IV document.

:class:`LlmApplicationEvidence` is what both documents show of an ``llm_application`` version beyond the
checks they already list (the ``llm_evaluation`` run has its own section in the validation report and its
judged metrics in Annex IV 2(g)): the bundle's components with their digests, the judged evaluations with
the judge's provenance and its agreement with people (Cohen's kappa beside the score), the red-team run by
OWASP Top 10 for LLM applications (2025) category with its MITRE ATLAS techniques, and the production
telemetry. ``reports.services.assemble.llm`` fills it from the records the API shows; nothing here touches
the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reports.rendering import blocks as b
from reports.rendering.common import number, percent, table, utc_text


@dataclass(frozen=True, kw_only=True)
class BundleComponent:
    """One component of the bundle: its name, its SHA-256 (RFC 8785 of the component) and what it holds."""

    name: str
    digest: str
    summary: str


@dataclass(frozen=True, kw_only=True)
class PromptTemplate:
    """A prompt template by name with its declared variables and the SHA-256 of its text."""

    name: str
    variables: Sequence[str]
    text_sha256: str
    characters: int


@dataclass(frozen=True, kw_only=True)
class JudgedMetric:
    """One metric of one imported judged evaluation (``results["metrics"]`` as stored)."""

    evaluation: int
    format: str
    imported_at: datetime
    metric: str
    items: int
    mean_score: float | None
    pass_rate: float | None
    judge_models: Sequence[str]
    judge_prompt_versions: Sequence[str]
    human_labelled: int
    kappa: float | None
    result_sha256: str


@dataclass(frozen=True, kw_only=True)
class RedTeamCategory:
    """Attack success rate in one OWASP LLM Top 10 (2025) category, with the ATLAS techniques probed."""

    id: str
    name: str
    attempts: int
    failures: int
    asr: float | None
    atlas: Sequence[str] = ()


@dataclass(frozen=True, kw_only=True)
class RedTeamEvidence:
    """The red-team run the evidence manifest pins."""

    run: int
    format: str
    tool_version: str
    target: str
    imported_at: datetime
    attempts: int
    failures: int
    asr: float | None
    report_sha256: str
    categories: Sequence[RedTeamCategory] = ()


@dataclass(frozen=True, kw_only=True)
class TelemetryAlert:
    """An alert raised from a breached telemetry bucket."""

    raised_at: datetime
    metric: str
    value: float | None
    threshold: float | None
    state: str


@dataclass(frozen=True, kw_only=True)
class TelemetrySummary:
    """The version's production telemetry, summed over its buckets (content-free counts only)."""

    buckets: int
    first: datetime | None
    last: datetime | None
    calls: int
    blocked: int
    flagged: int
    refusals: int
    input_tokens: int
    output_tokens: int
    latency_mean: float | None
    breached_buckets: int
    monitor: str = ""
    alerts: Sequence[TelemetryAlert] = ()

    def rate(self, part: int) -> float | None:
        return part / self.calls if self.calls else None


@dataclass(frozen=True, kw_only=True)
class LlmApplicationEvidence:
    """What the documents show of an LLM application version (``None`` on the input for any other model)."""

    bundle_digest: str
    foundation_model: str
    parameters: Sequence[tuple[str, str]] = ()
    components: Sequence[BundleComponent] = ()
    prompts: Sequence[PromptTemplate] = ()
    corpus: Sequence[tuple[str, str]] = ()
    tools: Sequence[tuple[str, str, str, str]] = ()
    guardrails: str = ""
    judged: Sequence[JudgedMetric] = ()
    red_team: RedTeamEvidence | None = None
    telemetry: TelemetrySummary | None = None


HASH = "hash"


def bundle_blocks(data: LlmApplicationEvidence) -> list[dict[str, Any]]:
    """The bundle digest, each component's digest, the foundation model, prompts, corpus, tools, guardrails."""
    blocks: list[dict[str, Any]] = [
        b.note(
            f"Bundle digest (SHA-256 of the RFC 8785 JSON of the component digests, what approvals sign): "
            f"{data.bundle_digest}."
        ),
        b.table_block(
            table(
                ["Component", "Contents", "SHA-256"],
                [(item.name, item.summary, item.digest) for item in data.components],
                widths=[18, 40, 42],
                classes=["", "", HASH],
            )
        ),
        b.facts([("Foundation model", data.foundation_model), *data.parameters]),
    ]
    if data.prompts:
        rows = [
            (p.name, ", ".join(p.variables) or "—", number(p.characters), p.text_sha256) for p in data.prompts
        ]
        blocks.append(
            b.table_block(
                table(
                    ["Prompt template", "Variables", "Characters", "SHA-256 of the text"],
                    rows,
                    widths=[18, 28, 12, 42],
                    classes=["", "", "num", HASH],
                )
            )
        )
    if data.corpus:
        blocks.append(
            b.table_block(
                table(["Retrieval corpus", "SHA-256"], data.corpus, widths=[58, 42], classes=["", HASH])
            )
        )
    if data.tools:
        blocks.append(
            b.table_block(table(["Tool", "Version", "Kind", "Scopes"], data.tools, widths=[28, 14, 16, 42]))
        )
    if data.guardrails:
        blocks.append(b.note(f"Guardrail configuration: {data.guardrails}"))
    return blocks


def judged_blocks(data: LlmApplicationEvidence) -> list[dict[str, Any]]:
    if not data.judged:
        return [b.note("No judged evaluation has been imported for this version.")]
    rows = [
        (
            f"#{m.evaluation} {m.format}",
            m.metric,
            number(m.items),
            number(m.mean_score),
            percent(m.pass_rate),
            number(m.kappa),
            number(m.human_labelled),
            ", ".join(m.judge_models) or "—",
            ", ".join(m.judge_prompt_versions) or "—",
        )
        for m in data.judged
    ]
    return [
        b.note(
            "Metrics scored by an LLM judge elsewhere and imported with the judge's provenance; Cohen's kappa "
            "measures the judge's agreement with people on the human-labelled items (— when none were "
            "labelled or kappa is undefined)."
        ),
        b.table_block(
            table(
                [
                    "Evaluation",
                    "Metric",
                    "Items",
                    "Mean score",
                    "Pass rate",
                    "Kappa",
                    "Labelled",
                    "Judge",
                    "Judge prompt",
                ],
                rows,
                widths=[12, 14, 7, 9, 9, 8, 8, 18, 15],
                classes=["", "", "num", "num", "num", "num", "num", "", ""],
            )
        ),
    ]


def red_team_blocks(data: LlmApplicationEvidence) -> list[dict[str, Any]]:
    run = data.red_team
    if run is None:
        return [b.note("No red-team run has been imported for this version.")]
    tool = f"{run.format} {run.tool_version}".strip()
    rows = [
        (c.id, c.name, number(c.attempts), number(c.failures), percent(c.asr), ", ".join(c.atlas) or "—")
        for c in run.categories
    ]
    return [
        b.note(
            f"Red-team run {run.run} ({tool}, target {run.target or 'not named'}, imported "
            f"{utc_text(run.imported_at)}): {run.failures} of {run.attempts} attacks succeeded, attack success "
            f"rate {percent(run.asr)}. Report SHA-256 {run.report_sha256}."
        ),
        b.table_block(
            table(
                ["OWASP", "Category", "Attempts", "Successes", "Success rate", "MITRE ATLAS"],
                rows,
                widths=[9, 33, 11, 11, 12, 24],
                classes=["", "", "num", "num", "num", ""],
            )
        ),
    ]


def telemetry_blocks(data: LlmApplicationEvidence) -> list[dict[str, Any]]:
    summary = data.telemetry
    if summary is None or not summary.buckets:
        return [b.note("No production telemetry has been received for this version.")]
    blocks: list[dict[str, Any]] = [
        b.note(
            f"{summary.calls} calls in {summary.buckets} buckets from {utc_text(summary.first)} to "
            f"{utc_text(summary.last)} (content-free counts; no prompt or output text is kept)."
        ),
        b.facts(
            [
                ("Blocked by guardrail", f"{summary.blocked} ({percent(summary.rate(summary.blocked))})"),
                ("Flagged by guardrail", f"{summary.flagged} ({percent(summary.rate(summary.flagged))})"),
                ("Refusals", f"{summary.refusals} ({percent(summary.rate(summary.refusals))})"),
                ("Mean latency", f"{number(summary.latency_mean)} s"),
                ("Tokens in / out", f"{summary.input_tokens} / {summary.output_tokens}"),
                ("Breached buckets", str(summary.breached_buckets)),
                ("Monitor", summary.monitor or "none set"),
            ]
        ),
    ]
    if summary.alerts:
        rows = [
            (utc_text(a.raised_at), a.metric, number(a.value), number(a.threshold), a.state)
            for a in summary.alerts
        ]
        blocks.append(
            b.table_block(
                table(
                    ["Alert raised", "Metric", "Value", "Threshold", "State"],
                    rows,
                    widths=[26, 30, 14, 14, 16],
                    classes=["", "", "num", "num", ""],
                )
            )
        )
    return blocks


def validation_sections(data: LlmApplicationEvidence | None) -> list[dict[str, Any]]:
    """The validation report's sections for an LLM application (none for any other model)."""
    if data is None:
        return []
    return [
        b.section("llm-bundle", "LLM application bundle", bundle_blocks(data)),
        b.section("judged-evaluations", "Judged evaluations", judged_blocks(data)),
        b.section("red-team", "Red-team results", red_team_blocks(data)),
        b.section("llm-telemetry", "Production telemetry", telemetry_blocks(data)),
    ]
