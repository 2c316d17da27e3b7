"""OTLP/HTTP bodies (protobuf or the OTLP JSON encoding) read into what Attest keeps of them: per version
and per time, the GenAI calls' counts, tokens, latencies and guardrail outcomes, and, for prompts and
outputs, only what ``telemetry_ingest`` decides to keep (by default their SHA-256 and length).

No Django here: the services decide what is stored. docs/OTLP.md names every attribute read.

Resource attributes pick the version: ``attest.model`` + ``attest.model.version`` (the registered model's
name and its version number), else ``service.name`` + ``service.version``.

A log record is one LLM call when it carries any of ``CALL_ATTRIBUTES`` (the GenAI semantic conventions'
``gen_ai.request.model``, ``gen_ai.usage.*_tokens``, ``gen_ai.response.finish_reasons``,
``gen_ai.client.operation.duration`` in seconds, or Attest's ``attest.guardrail.action`` =
``block`` · ``flag`` · ``pass`` and ``attest.refusal``); a refusal is ``attest.refusal`` true or a finish
reason ``refusal``. Metrics read: the ``gen_ai.client.operation.duration`` histogram (latency) and the
``gen_ai.client.token.usage`` histogram (its sum by ``gen_ai.token.type``), delta temporality only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtobufDecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

MODEL_KEYS = (("attest.model", "attest.model.version"), ("service.name", "service.version"))
CALL_ATTRIBUTES = frozenset(
    {
        "gen_ai.request.model",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.response.finish_reasons",
        "gen_ai.client.operation.duration",
        "attest.guardrail.action",
        "attest.refusal",
    }
)
# Attributes that carry prompt or output text (and the indexed forms gen_ai.prompt.0.content, ...).
CONTENT_ATTRIBUTES = frozenset(
    {
        "gen_ai.prompt",
        "gen_ai.completion",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
    }
)
CONTENT_PREFIXES = ("gen_ai.prompt.", "gen_ai.completion.")
GUARDRAIL_ACTIONS = frozenset({"block", "flag", "pass"})
DURATION_METRIC = "gen_ai.client.operation.duration"
TOKEN_METRIC = "gen_ai.client.token.usage"  # noqa: S105 (a metric name)


class DecodeError(ValueError):
    """The body is not an OTLP export request of this signal in the declared encoding."""


@dataclass
class Call:
    time_ns: int
    request_model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    duration: float | None = None
    finish_reasons: tuple[str, ...] = ()
    guardrail: str = ""
    refusal: bool = False


@dataclass
class Content:
    time_ns: int
    attribute: str
    text: str


@dataclass
class Histogram:
    time_ns: int
    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    total: float


@dataclass
class Target:
    """What one version's telemetry in one request amounts to."""

    calls: list[Call] = field(default_factory=list)
    contents: list[Content] = field(default_factory=list)
    latencies: list[Histogram] = field(default_factory=list)
    tokens: list[tuple[int, int, int]] = field(default_factory=list)  # (time_ns, input, output)
    items: int = 0  # log records or metric data points read for it (what a partial success counts)


@dataclass
class Batch:
    """An export request read: per ``(model name, version)`` its items; what was refused and ignored."""

    signal: str
    targets: dict[tuple[str, int], Target] = field(default_factory=dict)
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)
    ignored: int = 0

    def reject(self, count: int, reason: str) -> None:
        if count:
            self.rejected += count
            if reason not in self.reasons:
                self.reasons.append(reason)

    def message(self) -> str:
        parts = list(self.reasons)
        if self.ignored:
            parts.append(f"{self.ignored} item(s) carried no GenAI attribute Attest reads and were ignored")
        return "; ".join(parts)


# ------------------------------------------------------------------------------------------ decoding


def _parse(message, body: bytes, *, json_encoding: bool):
    try:
        if json_encoding:
            json_format.Parse(body.decode("utf-8"), message, ignore_unknown_fields=True)
        else:
            message.ParseFromString(body)
    except (
        ProtobufDecodeError,
        json_format.ParseError,
        UnicodeDecodeError,
        RecursionError,
        ValueError,
    ) as exc:
        encoding = "OTLP JSON" if json_encoding else "protobuf"
        raise DecodeError(f"Not a {type(message).__name__} in {encoding}: {exc}") from None
    return message


def value(any_value: AnyValue) -> Any:
    """An AnyValue as Python (strings, numbers, booleans, lists, dicts; bytes as hex)."""
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [value(item) for item in any_value.array_value.values]
    if kind == "kvlist_value":
        return {item.key: value(item.value) for item in any_value.kvlist_value.values}
    if kind == "bytes_value":
        return any_value.bytes_value.hex()
    return getattr(any_value, kind)


def attributes(items: list[KeyValue]) -> dict[str, Any]:
    return {item.key: value(item.value) for item in items}


def _target(batch: Batch, resource: dict[str, Any]) -> Target | None:
    for name_key, version_key in MODEL_KEYS:
        name, number = resource.get(name_key), resource.get(version_key)
        if name is None and number is None:
            continue
        text = str(number).strip().removeprefix("v") if number is not None else ""
        if not isinstance(name, str) or not name or not text.isdigit() or int(text) > 2**31 - 1:
            return None
        return batch.targets.setdefault((name, int(text)), Target())
    return None


def _int(raw: Any) -> int:
    if isinstance(raw, bool):
        return 0
    if isinstance(raw, int):
        return max(raw, 0)
    if isinstance(raw, float) and raw == raw and raw >= 0:
        return int(raw)
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    return 0


def _seconds(raw: Any) -> float | None:
    if isinstance(raw, int | float) and not isinstance(raw, bool) and raw == raw and 0 <= raw < 1e9:
        return float(raw)
    return None


def _text(raw: Any) -> str:
    return raw if isinstance(raw, str) else json.dumps(raw, sort_keys=True, ensure_ascii=False)


def _is_content(key: str) -> bool:
    return key in CONTENT_ATTRIBUTES or key.startswith(CONTENT_PREFIXES)


def read_logs(body: bytes, *, json_encoding: bool) -> Batch:
    request = _parse(ExportLogsServiceRequest(), body, json_encoding=json_encoding)
    batch = Batch(signal="logs")
    now = time.time_ns()
    for resource_logs in request.resource_logs:
        records = [record for scope in resource_logs.scope_logs for record in scope.log_records]
        target = _target(batch, attributes(resource_logs.resource.attributes))
        if target is None:
            batch.reject(
                len(records),
                "resource names no registered model version (attest.model and attest.model.version, "
                "or service.name and service.version with an integer version)",
            )
            continue
        target.items += len(records)
        for record in records:
            at = record.time_unix_nano or record.observed_time_unix_nano or now
            attrs = attributes(record.attributes)
            contents = [Content(at, key, _text(raw)) for key, raw in attrs.items() if _is_content(key)]
            event = record.event_name or str(attrs.get("event.name", ""))
            if event.startswith("gen_ai.") and record.HasField("body"):
                raw = value(record.body)
                if raw not in (None, "", [], {}):
                    contents.append(Content(at, f"body:{event}"[:100], _text(raw)))
            target.contents.extend(contents)
            if CALL_ATTRIBUTES & attrs.keys():
                target.calls.append(_call(at, attrs))
            elif not contents:
                batch.ignored += 1
    return batch


def _call(at: int, attrs: dict[str, Any]) -> Call:
    reasons = attrs.get("gen_ai.response.finish_reasons") or ()
    if isinstance(reasons, str):
        reasons = (reasons,)
    reasons = tuple(str(reason)[:50] for reason in reasons if reason is not None)[:10]
    guardrail = str(attrs.get("attest.guardrail.action", "")).strip().lower()
    refusal = attrs.get("attest.refusal")
    return Call(
        time_ns=at,
        request_model=str(attrs.get("gen_ai.request.model", ""))[:200],
        input_tokens=_int(attrs.get("gen_ai.usage.input_tokens")),
        output_tokens=_int(attrs.get("gen_ai.usage.output_tokens")),
        duration=_seconds(attrs.get(DURATION_METRIC)),
        finish_reasons=reasons,
        guardrail=guardrail if guardrail in GUARDRAIL_ACTIONS else "",
        refusal=refusal is True or str(refusal).lower() == "true" or "refusal" in reasons,
    )


def read_metrics(body: bytes, *, json_encoding: bool) -> Batch:
    request = _parse(ExportMetricsServiceRequest(), body, json_encoding=json_encoding)
    batch = Batch(signal="metrics")
    now = time.time_ns()
    for resource_metrics in request.resource_metrics:
        metrics = [metric for scope in resource_metrics.scope_metrics for metric in scope.metrics]
        target = _target(batch, attributes(resource_metrics.resource.attributes))
        if target is None:
            batch.reject(
                sum(len(points) for points in map(_points, metrics)),
                "resource names no registered model version (attest.model and attest.model.version, "
                "or service.name and service.version with an integer version)",
            )
            continue
        for metric in metrics:
            points = _points(metric)
            target.items += len(points)
            if metric.name not in (DURATION_METRIC, TOKEN_METRIC) or metric.WhichOneof("data") != "histogram":
                batch.ignored += len(points)
                continue
            if (
                metric.histogram.aggregation_temporality
                != AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
            ):
                batch.reject(
                    len(points),
                    f"{metric.name}: only delta temporality is accepted "
                    "(OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta)",
                )
                continue
            scale = 0.001 if metric.unit == "ms" else 1.0
            for point in metric.histogram.data_points:
                at = point.time_unix_nano or now
                if metric.name == DURATION_METRIC:
                    bounds = tuple(bound * scale for bound in point.explicit_bounds)
                    counts = tuple(point.bucket_counts)
                    if counts and len(counts) != len(bounds) + 1:
                        batch.reject(1, f"{metric.name}: bucket_counts must have one more entry than bounds")
                        continue
                    target.latencies.append(Histogram(at, bounds, counts, point.sum * scale))
                else:
                    kind = str(attributes(point.attributes).get("gen_ai.token.type", ""))
                    total = int(point.sum) if point.HasField("sum") and point.sum > 0 else 0
                    if kind == "input":
                        target.tokens.append((at, total, 0))
                    elif kind == "output":
                        target.tokens.append((at, 0, total))
                    else:
                        batch.ignored += 1
    return batch


def _points(metric) -> list:
    kind = metric.WhichOneof("data")
    return list(getattr(metric, kind).data_points) if kind else []


# ------------------------------------------------------------------------------------------ answers


def response(batch: Batch, *, json_encoding: bool) -> bytes:
    """The Export*ServiceResponse: empty on full success, ``partial_success`` when something was
    refused (or, with nothing refused, ignored: a warning)."""
    if batch.signal == "logs":
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

        answer = ExportLogsServiceResponse()
        if batch.rejected or batch.ignored:
            answer.partial_success.rejected_log_records = batch.rejected
            answer.partial_success.error_message = batch.message()
    else:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse

        answer = ExportMetricsServiceResponse()
        if batch.rejected or batch.ignored:
            answer.partial_success.rejected_data_points = batch.rejected
            answer.partial_success.error_message = batch.message()
    if json_encoding:
        return json_format.MessageToJson(answer, indent=None).encode()
    return answer.SerializeToString()


def status(code: int, message: str) -> bytes:
    """A google.rpc.Status (``code`` 1, ``message`` 2) in protobuf, as OTLP/HTTP answers failures."""

    def varint(number: int) -> bytes:
        out = bytearray()
        while True:
            byte, number = number & 0x7F, number >> 7
            out.append(byte | (0x80 if number else 0))
            if not number:
                return bytes(out)

    text = message.encode("utf-8")
    return b"\x08" + varint(code) + b"\x12" + varint(len(text)) + text


def bucket_of(time_ns: int, width_seconds: int) -> int:
    """The start (Unix seconds) of the ``width_seconds`` bucket holding ``time_ns``."""
    seconds = time_ns // 1_000_000_000
    return seconds - seconds % width_seconds


def iter_bins(histogram: Histogram, bounds: tuple[float, ...]) -> Iterator[tuple[int, int]]:
    """``(bin index in bounds + overflow, count)`` for a histogram drawn on other bounds: each source
    bucket is counted at its upper edge (so a percentile read from the result is never understated);
    the source's overflow bucket goes to the overflow bin."""
    if histogram.bounds == bounds:
        yield from ((index, count) for index, count in enumerate(histogram.counts) if count)
        return
    for index, count in enumerate(histogram.counts):
        if not count:
            continue
        if index >= len(histogram.bounds):
            yield len(bounds), count
            continue
        yield bin_of(histogram.bounds[index], bounds), count


def bin_of(seconds: float, bounds: tuple[float, ...]) -> int:
    """The first bin whose upper edge is >= ``seconds`` (OTel explicit buckets), else the overflow bin."""
    for index, edge in enumerate(bounds):
        if seconds <= edge:
            return index
    return len(bounds)
