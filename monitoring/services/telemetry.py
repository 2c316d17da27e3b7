"""Production telemetry of LLM applications: OTLP intake into per-version buckets, and their judgement.

``telemetry_ingest`` writes one request's telemetry in one transaction: the buckets it touches are
locked in a fixed order and their counts added to, so concurrent requests for the same minute add up.
Content-free by default: a prompt or output leaves a ``TelemetryContent`` row with its SHA-256 and length
only; its text is kept only when ``ATTEST_OTLP_STORE_CONTENT`` is on.

A version with a ``TelemetryMonitor`` has each touched bucket judged once it holds ``min_calls`` calls;
a breach writes a ``telemetry`` check run with the bucket's figures and, through ``alerts``, one alert
(which the workflow turns into a finding and, when severe enough for the policy, puts the model under
review, closing the gate). At most one alert per bucket. Buckets are not audited one by one (telemetry
arrives many times a minute); the monitor's settings and every alert are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import access
from accounts.models import User
from audit import record
from monitoring import evidence, otlp
from monitoring.checks.base import evaluation, outcome_of
from monitoring.models import (
    CheckKind,
    CheckRun,
    RunStatus,
    TelemetryBucket,
    TelemetryContent,
    TelemetryMonitor,
)
from monitoring.models.telemetry import LATENCY_BOUNDS
from monitoring.services import alerts
from registry.models import ModelVersion

MONITOR_SOURCE = "telemetry monitor of the version"
RATE_LIMITS = ("max_block_rate", "max_flag_rate", "max_refusal_rate")


@dataclass
class Delta:
    calls: int = 0
    blocked: int = 0
    flagged: int = 0
    refusals: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    latency_counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS) + 1))
    latency_sum: float = 0.0
    finish_reasons: Counter = field(default_factory=Counter)
    request_models: Counter = field(default_factory=Counter)
    contents: list[otlp.Content] = field(default_factory=list)


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    rejected: int
    alerts: tuple[int, ...]


def telemetry_ingest(*, actor: User, batch: otlp.Batch) -> IngestResult:
    """Add an OTLP request's telemetry to its versions' buckets; judge the buckets; raise alerts.

    Guarantees: PermissionDenied and nothing written unless the actor may ``ingest_telemetry`` for
    every version named; items for versions not registered are counted in ``batch.rejected`` (the
    OTLP partial success), never stored; one transaction.
    """
    versions = _versions(batch)
    for key in list(batch.targets):
        if key not in versions:
            target = batch.targets.pop(key)
            batch.reject(target.items, f"no registered model version {key[0]} v{key[1]}")
    for version in versions.values():
        access.require(actor, "ingest_telemetry", version)
    monitors = {
        monitor.model_version_id: monitor
        for monitor in TelemetryMonitor.objects.filter(model_version__in=list(versions.values()))
    }
    deltas: dict[tuple[int, int, int], Delta] = {}
    for key, target in batch.targets.items():
        version = versions[key]
        monitor = monitors.get(version.pk)
        width = monitor.bucket_seconds if monitor else settings.ATTEST_TELEMETRY_BUCKET_SECONDS
        _add(deltas, version.pk, width, target)
    raised: list[int] = []
    store_text = settings.ATTEST_OTLP_STORE_CONTENT
    with transaction.atomic():
        contents: list[TelemetryContent] = []
        for version_id, width, start in sorted(deltas):
            delta = deltas[(version_id, width, start)]
            at = dt.datetime.fromtimestamp(start, tz=dt.UTC)
            if delta.calls or delta.input_tokens or delta.output_tokens or sum(delta.latency_counts):
                bucket = _merge(version_id, at, width, delta)
                monitor = monitors.get(version_id)
                if monitor is not None and bucket.check_run_id is None:
                    alert = _judge(bucket, monitor)
                    if alert is not None:
                        raised.append(alert.pk)
            contents += [
                TelemetryContent(
                    model_version_id=version_id,
                    bucket_start=at,
                    attribute=item.attribute[:100],
                    sha256=hashlib.sha256(item.text.encode("utf-8")).hexdigest(),
                    length=len(item.text),
                    text=item.text if store_text else "",
                )
                for item in delta.contents
            ]
        TelemetryContent.objects.bulk_create(contents, batch_size=1000)
    accepted = sum(target.items for target in batch.targets.values()) - batch.rejected
    return IngestResult(accepted=accepted, rejected=batch.rejected, alerts=tuple(raised))


def _versions(batch: otlp.Batch) -> dict[tuple[str, int], ModelVersion]:
    if not batch.targets:
        return {}
    names = {name for name, _ in batch.targets}
    found = ModelVersion.objects.select_related("model__team").filter(model__name__in=names)
    return {
        (version.model.name, version.version): version
        for version in found
        if (version.model.name, version.version) in batch.targets
    }


def _add(deltas: dict, version_id: int, width: int, target: otlp.Target) -> None:
    def delta(time_ns: int) -> Delta:
        return deltas.setdefault((version_id, width, otlp.bucket_of(time_ns, width)), Delta())

    for call in target.calls:
        into = delta(call.time_ns)
        into.calls += 1
        into.blocked += call.guardrail == "block"
        into.flagged += call.guardrail == "flag"
        into.refusals += call.refusal
        into.input_tokens += call.input_tokens
        into.output_tokens += call.output_tokens
        if call.duration is not None:
            into.latency_counts[otlp.bin_of(call.duration, LATENCY_BOUNDS)] += 1
            into.latency_sum += call.duration
        into.finish_reasons.update(call.finish_reasons)
        if call.request_model:
            into.request_models[call.request_model] += 1
    for histogram in target.latencies:
        into = delta(histogram.time_ns)
        for index, count in otlp.iter_bins(histogram, LATENCY_BOUNDS):
            into.latency_counts[index] += count
        into.latency_sum += histogram.total
    for time_ns, input_tokens, output_tokens in target.tokens:
        into = delta(time_ns)
        into.input_tokens += input_tokens
        into.output_tokens += output_tokens
    for content in target.contents:
        delta(content.time_ns).contents.append(content)


def _merge(version_id: int, at: dt.datetime, width: int, delta: Delta) -> TelemetryBucket:
    bucket, _ = TelemetryBucket.objects.select_for_update().get_or_create(
        model_version_id=version_id,
        start=at,
        width_seconds=width,
        defaults={"latency_counts": [0] * (len(LATENCY_BOUNDS) + 1)},
    )
    bucket.calls += delta.calls
    bucket.blocked += delta.blocked
    bucket.flagged += delta.flagged
    bucket.refusals += delta.refusals
    bucket.input_tokens += delta.input_tokens
    bucket.output_tokens += delta.output_tokens
    counts = bucket.latency_counts or [0] * (len(LATENCY_BOUNDS) + 1)
    bucket.latency_counts = [a + b for a, b in zip(counts, delta.latency_counts, strict=True)]
    bucket.latency_sum += delta.latency_sum
    bucket.finish_reasons = dict(Counter(bucket.finish_reasons) + delta.finish_reasons)
    bucket.request_models = dict(Counter(bucket.request_models) + delta.request_models)
    bucket.content_items += len(delta.contents)
    bucket.save()
    return bucket


# ------------------------------------------------------------------------------------------ figures


def percentile(counts: list[int], q: float) -> float | None:
    """The upper edge of the latency bucket holding the ``q`` quantile (an upper bound: never understated);
    ``inf`` when it falls in the overflow bucket, None when there are no latencies."""
    total = sum(counts)
    if not total:
        return None
    rank = math.ceil(q * total)
    running = 0
    for index, count in enumerate(counts):
        running += count
        if running >= rank:
            return LATENCY_BOUNDS[index] if index < len(LATENCY_BOUNDS) else math.inf
    return math.inf


def figures(bucket: TelemetryBucket) -> dict[str, Any]:
    """What a bucket amounts to: counts, rates (shares of calls), latency p50/p95 and mean, tokens."""
    calls = bucket.calls
    counts = list(bucket.latency_counts or [])
    timed = sum(counts)

    def rate(part: int) -> float | None:
        return part / calls if calls else None

    def finite(number: float | None) -> float | None:
        return number if number is None or math.isfinite(number) else None

    p50, p95 = percentile(counts, 0.5), percentile(counts, 0.95)
    return {
        "start": bucket.start.isoformat().replace("+00:00", "Z"),
        "width_seconds": bucket.width_seconds,
        "calls": calls,
        "blocked": bucket.blocked,
        "flagged": bucket.flagged,
        "refusals": bucket.refusals,
        "block_rate": rate(bucket.blocked),
        "flag_rate": rate(bucket.flagged),
        "refusal_rate": rate(bucket.refusals),
        "latency_count": timed,
        "latency_p50": finite(p50),
        "latency_p95": finite(p95),
        "latency_p95_overflow": p95 is not None and not math.isfinite(p95),
        "latency_mean": bucket.latency_sum / timed if timed else None,
        "input_tokens": bucket.input_tokens,
        "output_tokens": bucket.output_tokens,
        "finish_reasons": dict(sorted(bucket.finish_reasons.items())),
        "request_models": dict(sorted(bucket.request_models.items())),
        "content_items": bucket.content_items,
    }


def _judge(bucket: TelemetryBucket, monitor: TelemetryMonitor):
    if bucket.calls < monitor.min_calls:
        return None
    facts = figures(bucket)
    p95 = percentile(list(bucket.latency_counts), 0.95)
    scope = f"{bucket.start:%Y-%m-%d %H:%M} UTC ({bucket.width_seconds} s)"
    checks = (
        ("guardrail_block_rate", facts["block_rate"], "max_block_rate", "blocked by the guardrail"),
        ("guardrail_flag_rate", facts["flag_rate"], "max_flag_rate", "flagged by the guardrail"),
        ("telemetry_refusal_rate", facts["refusal_rate"], "max_refusal_rate", "refused"),
        ("latency_p95", p95, "max_p95_latency_seconds", "p95 latency"),
    )
    evaluations = []
    thresholds = {}
    for metric, value, limit_name, words in checks:
        limit = getattr(monitor, limit_name)
        if limit is None or value is None:
            continue
        thresholds[limit_name] = {"value": limit, "source": MONITOR_SOURCE}
        failed = value > limit
        shown = "above the last bucket edge" if not math.isfinite(value) else f"{value:.4g}"
        if metric == "latency_p95":
            why = f"p95 latency {shown} s (upper bucket edge) against a maximum of {limit:g} s"
        else:
            why = f"{value:.2%} of {bucket.calls} calls {words}, against a maximum of {limit:.2%}"
        evaluations.append(
            evaluation(
                metric=metric,
                scope=scope,
                value=value if math.isfinite(value) else 1e300,
                status="fail" if failed else "pass",
                explanation=why,
                threshold=limit,
                threshold_name=limit_name,
                threshold_source=MONITOR_SOURCE,
                rule=f"<= {limit:g}",
            )
        )
    if not any(item["status"] == "fail" for item in evaluations):
        return None
    results = {"format": "attest.check-results/1", "kind": "telemetry", "metrics": facts}
    outcome, reason = outcome_of(evaluations)
    now = timezone.now()
    run = CheckRun.objects.create(
        kind=CheckKind.TELEMETRY,
        model_version=bucket.model_version,
        artifact_sha256=bucket.model_version.artifact_sha256,
        config={"bucket_start": facts["start"], "width_seconds": bucket.width_seconds, "source": "otlp"},
        thresholds=thresholds,
        status=RunStatus.SUCCEEDED,
        results=results,
        result_sha256=evidence.canonical_sha256(results),
        outcome=outcome,
        outcome_reason=reason,
        evaluations=evaluations,
        started_at=now,
        finished_at=now,
        duration_seconds=0.0,
    )
    bucket.check_run = run
    bucket.save(update_fields=["check_run"])
    return alerts.alert_for_telemetry_run(run)


# ------------------------------------------------------------------------------------------ settings

MONITOR_FIELDS = ("bucket_seconds", "min_calls", *RATE_LIMITS, "max_p95_latency_seconds")


def monitor_facts(monitor: TelemetryMonitor) -> dict[str, Any]:
    return {name: getattr(monitor, name) for name in MONITOR_FIELDS}


def telemetry_monitor_set(*, actor: User, model_version: ModelVersion, **values: Any) -> TelemetryMonitor:
    """Create or change how a version's telemetry is bucketed and judged; audited.

    Guarantees: ValidationError naming the field and nothing written for a bad value: rates in [0, 1],
    p95 latency > 0 (seconds), bucket width 60..86400 s dividing a day, min_calls 1..1,000,000.
    """
    access.require(actor, "change", model_version)
    unknown = set(values) - set(MONITOR_FIELDS)
    if unknown:
        raise ValidationError({name: ["Unknown setting."] for name in sorted(unknown)})
    errors: dict[str, list[str]] = {}
    for name in RATE_LIMITS:
        limit = values.get(name)
        if limit is not None and not (isinstance(limit, int | float) and 0 <= limit <= 1):
            errors[name] = ["A share of calls between 0 and 1, or empty."]
    latency = values.get("max_p95_latency_seconds")
    if latency is not None and not (isinstance(latency, int | float) and 0 < latency <= 3600):
        errors["max_p95_latency_seconds"] = ["Seconds, above 0 and at most 3600, or empty."]
    width = values.get("bucket_seconds", 60)
    if not (isinstance(width, int) and 60 <= width <= 86400 and 86400 % width == 0):
        errors["bucket_seconds"] = ["60 to 86400 seconds, dividing a day (60, 300, 3600, ...)."]
    minimum = values.get("min_calls", 20)
    if not (isinstance(minimum, int) and 1 <= minimum <= 1_000_000):
        errors["min_calls"] = ["1 to 1,000,000 calls."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        monitor = TelemetryMonitor.objects.select_for_update().filter(model_version=model_version).first()
        before = monitor_facts(monitor) if monitor else None
        if monitor is None:
            monitor = TelemetryMonitor(model_version=model_version, created_by=actor)
        for name, given in values.items():
            setattr(monitor, name, given)
        monitor.save()
        record(
            action="monitoring.telemetry_monitor_set",
            actor=actor,
            obj=monitor,
            before=before,
            after=monitor_facts(monitor) | {"model_version": str(model_version)},
        )
    return monitor
