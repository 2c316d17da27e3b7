"""An LLM application version's report content (``reports.rendering.llm.LlmApplicationEvidence``).

Read from the records the API shows: the version's stored bundle (components and digests as registered),
the judged evaluations and the red-team run the described evidence manifest pins (the signed record, not
"the latest"; with no approval, those a request would freeze now), and the version's telemetry buckets,
monitor and alerts (production monitoring keeps arriving after approval, so it is read as it stands).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db.models import Sum

from monitoring.models import JudgedEvaluation, MonitoringAlert, RedTeamRun, TelemetryBucket, TelemetryMonitor
from monitoring.services.judged import evaluation_metrics
from monitoring.services.redteam import run_categories
from registry.bundles import COMPONENTS
from registry.models import ModelVersion
from reports.rendering.common import number, percent
from reports.rendering.llm import (
    BundleComponent,
    JudgedMetric,
    LlmApplicationEvidence,
    PromptTemplate,
    RedTeamCategory,
    RedTeamEvidence,
    TelemetryAlert,
    TelemetrySummary,
)

MAX_GUARDRAIL_TEXT = 2_000


def llm_application_evidence(version: ModelVersion, evidence) -> LlmApplicationEvidence | None:
    """The LLM content of ``version``'s documents; None for a version that is not a bundle."""
    if not version.is_bundle:
        return None
    bundle = version.bundle
    components = bundle.get("components") or {}
    digests = bundle.get("component_digests") or {}
    model = components.get("foundation_model") or {}
    parameters = model.get("parameters") or {}
    return LlmApplicationEvidence(
        bundle_digest=bundle["digest"],
        foundation_model=_foundation(model),
        parameters=[(f"Parameter {key}", _value(value)) for key, value in sorted(parameters.items())],
        components=[
            BundleComponent(name=name, digest=digest, summary=_summary(name, components.get(name)))
            for name in (*COMPONENTS, *sorted(set(digests) - set(COMPONENTS)))
            if (digest := digests.get(name))
        ],
        prompts=[
            PromptTemplate(
                name=str(item.get("name", "")),
                variables=[str(name) for name in item.get("variables") or []],
                text_sha256=hashlib.sha256(str(item.get("text", "")).encode()).hexdigest(),
                characters=len(str(item.get("text", ""))),
            )
            for item in components.get("prompt_templates") or []
        ],
        corpus=_corpus(components.get("retrieval_corpus") or {}),
        tools=[
            (
                str(tool.get("name", "")),
                str(tool.get("version", "")),
                str(tool.get("kind", "")),
                ", ".join(tool.get("scopes") or []),
            )
            for tool in components.get("tools") or []
        ],
        guardrails=_guardrails(components.get("guardrails")),
        judged=_judged(evidence.manifest),
        red_team=_red_team(evidence.manifest),
        telemetry=telemetry_summary(version),
    )


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _foundation(model: dict[str, Any]) -> str:
    named = " ".join(str(model[key]) for key in ("provider", "model_id", "version") if model.get(key))
    if model.get("snapshot_date"):
        named += f" (snapshot {model['snapshot_date']})"
    return named or "not named"


def _summary(name: str, component: Any) -> str:
    """What a component holds, in words (its digest covers all of it)."""
    if name == "foundation_model":
        return _foundation(component or {})
    if name == "prompt_templates":
        names = [str(item.get("name", "")) for item in component or []]
        return f"{len(names)} template(s): {', '.join(names)}"
    if name == "retrieval_corpus":
        corpus = component or {}
        return (
            f"{len(corpus.get('datasets') or [])} dataset version(s), "
            f"{len(corpus.get('manifest') or [])} file(s)"
        )
    if name == "tools":
        names = [f"{item.get('name', '')} {item.get('version', '')}".strip() for item in component or []]
        return f"{len(names)} tool(s): {', '.join(names)}" if names else "no tools"
    if name == "guardrails":
        keys = sorted((component or {}).keys())
        return f"{len(keys)} setting(s): {', '.join(keys)}" if keys else "none configured"
    return ""


def _corpus(corpus: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        (f"dataset {item.get('dataset')} v{item.get('version')}", str(item.get("sha256", "")))
        for item in corpus.get("datasets") or []
    ]
    rows += [(str(item.get("uri", "")), str(item.get("sha256", ""))) for item in corpus.get("manifest") or []]
    return rows


def _guardrails(config: Any) -> str:
    if not config:
        return ""
    text = json.dumps(config, sort_keys=True, ensure_ascii=False)
    if len(text) > MAX_GUARDRAIL_TEXT:
        text = text[:MAX_GUARDRAIL_TEXT] + " … (truncated; the component digest covers all of it)"
    return text


def _judged(manifest) -> list[JudgedMetric]:
    ids = [item.id for item in manifest.judged_evaluations]
    evaluations = JudgedEvaluation.objects.filter(pk__in=ids).order_by("pk")
    return [
        JudgedMetric(
            evaluation=evaluation.pk,
            format=evaluation.format,
            imported_at=evaluation.created_at,
            metric=str(metric["metric"]),
            items=int(metric.get("items") or 0),
            mean_score=metric.get("mean_score"),
            pass_rate=metric.get("pass_rate"),
            judge_models=list(
                metric.get("judge_models") or ([evaluation.judge_model] if evaluation.judge_model else [])
            ),
            judge_prompt_versions=list(
                metric.get("judge_prompt_versions")
                or ([evaluation.judge_prompt_version] if evaluation.judge_prompt_version else [])
            ),
            human_labelled=int(metric.get("human_labelled") or 0),
            kappa=metric.get("kappa"),
            result_sha256=evaluation.result_sha256,
        )
        for evaluation in evaluations
        for metric in evaluation_metrics(evaluation)
    ]


def _red_team(manifest) -> RedTeamEvidence | None:
    if manifest.red_team is None:
        return None
    run = RedTeamRun.objects.filter(pk=manifest.red_team.run).first()
    if run is None:
        return None
    return RedTeamEvidence(
        run=run.pk,
        format=run.format,
        tool_version=run.tool_version,
        target=run.target,
        imported_at=run.created_at,
        attempts=run.attempts,
        failures=run.failures,
        asr=run.attack_success_rate,
        report_sha256=run.report_sha256,
        categories=[
            RedTeamCategory(
                id=str(category["id"]),
                name=str(category.get("name", "")),
                attempts=int(category.get("attempts") or 0),
                failures=int(category.get("failures") or 0),
                asr=category.get("asr"),
                atlas=[str(item) for item in category.get("atlas") or []],
            )
            for category in run_categories(run)
        ],
    )


def telemetry_summary(version: ModelVersion) -> TelemetrySummary | None:
    """The version's telemetry buckets summed, its monitor's limits and the alerts raised from breaches."""
    buckets = TelemetryBucket.objects.filter(model_version=version)
    if not buckets.exists():
        return None
    totals = buckets.aggregate(
        calls=Sum("calls"),
        blocked=Sum("blocked"),
        flagged=Sum("flagged"),
        refusals=Sum("refusals"),
        input_tokens=Sum("input_tokens"),
        output_tokens=Sum("output_tokens"),
        latency_sum=Sum("latency_sum"),
    )
    timed = sum(sum(counts or []) for counts in buckets.values_list("latency_counts", flat=True))
    ordered = buckets.order_by("start")
    alerts = MonitoringAlert.objects.filter(check_run__telemetry_bucket__model_version=version).order_by(
        "created_at", "pk"
    )
    return TelemetrySummary(
        buckets=buckets.count(),
        first=ordered.first().start,
        last=ordered.last().start,
        calls=totals["calls"] or 0,
        blocked=totals["blocked"] or 0,
        flagged=totals["flagged"] or 0,
        refusals=totals["refusals"] or 0,
        input_tokens=totals["input_tokens"] or 0,
        output_tokens=totals["output_tokens"] or 0,
        latency_mean=(totals["latency_sum"] or 0.0) / timed if timed else None,
        breached_buckets=buckets.filter(check_run__isnull=False).count(),
        monitor=_monitor(version),
        alerts=[
            TelemetryAlert(
                raised_at=alert.created_at,
                metric=alert.metric,
                value=alert.value,
                threshold=alert.threshold,
                state=alert.state,
            )
            for alert in alerts
        ],
    )


def _monitor(version: ModelVersion) -> str:
    monitor = TelemetryMonitor.objects.filter(model_version=version).first()
    if monitor is None:
        return ""
    limits = [
        f"{label} ≤ {percent(value)}"
        for label, value in (
            ("block rate", monitor.max_block_rate),
            ("flag rate", monitor.max_flag_rate),
            ("refusal rate", monitor.max_refusal_rate),
        )
        if value is not None
    ]
    if monitor.max_p95_latency_seconds is not None:
        limits.append(f"p95 latency ≤ {number(monitor.max_p95_latency_seconds)} s")
    return (
        f"{monitor.bucket_seconds} s buckets judged from {monitor.min_calls} calls: "
        f"{', '.join(limits) or 'no limits'}"
    )
