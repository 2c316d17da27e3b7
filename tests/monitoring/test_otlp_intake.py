"""OTLP intake of LLM applications' telemetry: the real OpenTelemetry SDK exporter against the live server,
the figures per bucket, content-free storage asserted on the whole database, the OTLP/HTTP answers, and a
breach that raises an alert, a finding and closes the gate."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import math

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from accounts.services.accounts import token_create
from monitoring.models import (
    CheckRun,
    MonitoringAlert,
    TelemetryBucket,
    TelemetryContent,
    TelemetryMonitor,
)
from monitoring.models.telemetry import LATENCY_BOUNDS
from monitoring.services.telemetry import telemetry_monitor_set
from registry.models import ModelVersion, RegisteredModel
from tests.factories.records import ModelVersionFactory, RegisteredModelFactory
from tests.workflow.helpers import move_model

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
SECRET = "SECRET-PROMPT-7f3a"  # every prompt and output sent contains it; the database must not
DURATIONS = [0.05, 0.3, 0.7, 1.1, 2.0, 0.15, 0.9, 4.0, 0.6, 12.0]


def ns(at: dt.datetime) -> int:
    return int(at.timestamp()) * 1_000_000_000


def calls() -> list[dict]:
    """40 calls: 30 in the minute from T0 (10 blocked: a block rate of 1/3), 10 in the next minute."""
    sent = []
    for i in range(40):
        minute = 0 if i < 30 else 1
        attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o-mini" if i % 2 else "claude-sonnet",
            "gen_ai.usage.input_tokens": 100 + i,
            "gen_ai.usage.output_tokens": 20 + i % 7,
            "gen_ai.client.operation.duration": DURATIONS[i % len(DURATIONS)],
            "gen_ai.response.finish_reasons": ["refusal"] if i % 11 == 3 else ["stop"],
            "attest.guardrail.action": "block" if i % 3 == 0 else ("flag" if i % 5 == 1 else "pass"),
            "gen_ai.prompt": f"{SECRET} user {i}: may I borrow 10,000?",
            "gen_ai.completion": f"{SECRET} answer {i}",
        }
        if i == 8:
            attributes["attest.refusal"] = True
        sent.append({"at": T0 + dt.timedelta(minutes=minute, seconds=i % 50), "attributes": attributes})
    return sent


def expected(sent: list[dict], minute: int) -> dict:
    """The figures of one minute, computed here independently of the intake."""
    rows = [item["attributes"] for item in sent if (item["at"] - T0).seconds // 60 == minute]
    durations = sorted(row["gen_ai.client.operation.duration"] for row in rows)
    p95_value = durations[math.ceil(0.95 * len(durations)) - 1]
    return {
        "calls": len(rows),
        "blocked": sum(row["attest.guardrail.action"] == "block" for row in rows),
        "flagged": sum(row["attest.guardrail.action"] == "flag" for row in rows),
        "refusals": sum(
            "refusal" in row["gen_ai.response.finish_reasons"] or row.get("attest.refusal") is True
            for row in rows
        ),
        "input_tokens": sum(row["gen_ai.usage.input_tokens"] for row in rows),
        "output_tokens": sum(row["gen_ai.usage.output_tokens"] for row in rows),
        "p95_edge": next(edge for edge in LATENCY_BOUNDS if p95_value <= edge),
        "latency_sum": sum(durations),
    }


@pytest.fixture
def llm_app(maya, admin_user, credit_risk):
    """A tier-1 LLM application in production, v1 monitored: block rate at most 20 % from 20 calls."""
    model = RegisteredModelFactory(
        name="loan-assistant", owner=maya, team=credit_risk, risk_tier=1, computed_tier=1
    )
    version = ModelVersionFactory(model=model, version=1)
    move_model(admin_user, model, "in_development", "in_validation", "approved", "in_production")
    telemetry_monitor_set(
        actor=maya, model_version=version, bucket_seconds=60, min_calls=20, max_block_rate=0.2
    )
    return version


def database_text_containing(needle: str) -> list[str]:
    """Every (table.column) of any text-like column in the public schema whose value contains ``needle``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type IN ('text', 'character varying', 'json', 'jsonb', 'bytea')"
        )
        columns: dict[str, list[str]] = {}
        for table, column in cursor.fetchall():
            columns.setdefault(table, []).append(column)
        found = []
        for table, names in columns.items():
            for column in names:
                cursor.execute(
                    f'SELECT 1 FROM "{table}" WHERE position(%s in "{column}"::text) > 0 LIMIT 1', [needle]
                )
                if cursor.fetchone():
                    found.append(f"{table}.{column}")
        return found


@pytest.mark.django_db(transaction=True)
def test_the_sdk_exporter_feeds_buckets_content_free_and_a_breach_closes_the_gate(
    live_server, maya, llm_app, settings
):
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    from workflow.services.findings import finding_from_alert
    from workflow.services.gate import gate_evaluate

    _, secret = token_create(actor=maya, name="otel-collector")
    provider = LoggerProvider(
        resource=Resource.create({"attest.model": "loan-assistant", "attest.model.version": "1"})
    )
    exporter = OTLPLogExporter(
        endpoint=f"{live_server.url}/otlp/v1/logs", headers={"Authorization": f"Bearer {secret}"}, timeout=10
    )
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter, max_export_batch_size=16))
    logger = provider.get_logger("loan-assistant")
    sent = calls()
    for item in sent:
        logger.emit(
            timestamp=ns(item["at"]),
            event_name="gen_ai.client.inference.operation.details",
            attributes=item["attributes"],
        )
    assert provider.force_flush(10_000)
    provider.shutdown()

    buckets = {bucket.start: bucket for bucket in TelemetryBucket.objects.filter(model_version=llm_app)}
    assert sorted(buckets) == [T0, T0 + dt.timedelta(minutes=1)]
    for minute, start in enumerate(sorted(buckets)):
        bucket, want = buckets[start], expected(sent, minute)
        assert (bucket.calls, bucket.blocked, bucket.flagged, bucket.refusals) == (
            want["calls"],
            want["blocked"],
            want["flagged"],
            want["refusals"],
        )
        assert (bucket.input_tokens, bucket.output_tokens) == (want["input_tokens"], want["output_tokens"])
        assert sum(bucket.latency_counts) == want["calls"]
        assert bucket.latency_sum == pytest.approx(want["latency_sum"])
        from monitoring.services.telemetry import figures

        assert figures(bucket)["latency_p95"] == want["p95_edge"]
        assert sum(bucket.request_models.values()) == want["calls"]
    assert buckets[T0].blocked / buckets[T0].calls > 0.2

    # content-free: no prompt or output text anywhere in the database, only digests and lengths
    assert database_text_containing(SECRET) == []
    first = f"{SECRET} user 0: may I borrow 10,000?"
    stored = TelemetryContent.objects.get(
        model_version=llm_app, sha256=hashlib.sha256(first.encode()).hexdigest()
    )
    assert (stored.attribute, stored.length, stored.text) == ("gen_ai.prompt", len(first), "")
    assert TelemetryContent.objects.filter(model_version=llm_app).count() == 80

    # the first minute breached (1/3 blocked > 20 %), the second has too few calls to be judged
    alert = MonitoringAlert.objects.get()
    assert alert.plan_id is None
    assert alert.severity == "critical"
    assert alert.metric.startswith("guardrail_block_rate")
    assert alert.value == pytest.approx(buckets[T0].blocked / buckets[T0].calls)
    run = CheckRun.objects.get(kind="telemetry")
    assert buckets[T0].check_run_id == run.pk
    assert buckets[T0 + dt.timedelta(minutes=1)].check_run_id is None
    assert run.results["metrics"]["calls"] == 30

    def gate_codes() -> list[str]:
        version = ModelVersion.objects.select_related("model").get(pk=llm_app.pk)
        return gate_evaluate(version=version, environment="production").codes

    assert "model_under_review" not in gate_codes()
    finding = finding_from_alert(alert_id=alert.pk)  # what the alert task does
    assert finding is not None
    assert finding.model_version_id == llm_app.pk
    assert finding.severity == "critical"
    assert RegisteredModel.objects.get(pk=llm_app.model_id).status == "under_review"
    assert "model_under_review" in gate_codes()

    # the version's telemetry page, the telemetry run's page and the alert inbox
    client = Client()
    client.force_login(maya)
    page = client.get(reverse("version-telemetry", args=["loan-assistant", 1]))
    assert page.status_code == 200
    body = page.content.decode()
    assert body.count("<svg") == 5
    assert "<style" not in body
    assert SECRET not in body
    assert client.get(reverse("check-detail", args=[run.pk])).status_code == 200
    assert f"#{alert.pk}" in client.get(reverse("monitoring-alert-list")).content.decode()
    detail = client.get(reverse("monitoring-alert-detail", args=[alert.pk])).content.decode()
    assert "raised by" in detail
    assert "production telemetry" in detail


def otlp_json_logs(model: str, version: str, attributes: dict) -> dict:
    values = []
    for key, value in attributes.items():
        typed = {"intValue": str(value)} if isinstance(value, int) else {"stringValue": value}
        values.append({"key": key, "value": typed})
    return {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [
                        {"key": "service.name", "value": {"stringValue": model}},
                        {"key": "service.version", "value": {"stringValue": version}},
                    ]
                },
                "scopeLogs": [
                    {"logRecords": [{"timeUnixNano": str(ns(T0)), "attributes": values, "body": {}}]}
                ],
            }
        ]
    }


def otlp_json_histogram(temporality: int) -> dict:
    return {
        "resourceMetrics": [
            {
                "resource": {
                    "attributes": [
                        {"key": "attest.model", "value": {"stringValue": "loan-assistant"}},
                        {"key": "attest.model.version", "value": {"intValue": "1"}},
                    ]
                },
                "scopeMetrics": [
                    {
                        "metrics": [
                            {
                                "name": "gen_ai.client.operation.duration",
                                "unit": "s",
                                "histogram": {
                                    "aggregationTemporality": temporality,
                                    "dataPoints": [
                                        {
                                            "timeUnixNano": str(ns(T0)),
                                            "count": "6",
                                            "sum": 9.5,
                                            "explicitBounds": [0.5, 1.0, 3.0],
                                            "bucketCounts": ["1", "2", "2", "1"],
                                        }
                                    ],
                                },
                            }
                        ]
                    }
                ],
            }
        ]
    }


@pytest.mark.django_db
def test_json_encoding_and_the_otlp_http_answers(maya, victor, olga, aaron, llm_app):
    _, secret = token_create(actor=maya, name="collector")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    logs, metrics = reverse("otlp-logs"), reverse("otlp-metrics")

    def post(url, body, content_type="application/json", **extra):
        data = body if isinstance(body, bytes) else json.dumps(body)
        return client.post(url, data=data, content_type=content_type, **extra)

    # JSON logs, the version named by service.name/service.version
    one = {"gen_ai.usage.input_tokens": 7, "attest.guardrail.action": "flag", "gen_ai.completion": SECRET}
    answer = post(logs, otlp_json_logs("loan-assistant", "1", one))
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/json"
    assert answer.json() == {}
    bucket = TelemetryBucket.objects.get(model_version=llm_app, start=T0)
    assert (bucket.calls, bucket.flagged, bucket.input_tokens) == (1, 1, 7)

    # a delta histogram of durations on other bounds: each bucket counted at its upper edge
    assert post(metrics, otlp_json_histogram(1)).json() == {}
    bucket.refresh_from_db()
    at = dict(zip([*LATENCY_BOUNDS, math.inf], bucket.latency_counts, strict=True))
    assert (at[0.64], at[1.28], at[5.12], at[math.inf]) == (1, 2, 2, 1)
    assert bucket.latency_sum == pytest.approx(9.5)
    # a cumulative one is refused in the partial success; an unknown version too
    refused = post(metrics, otlp_json_histogram(2)).json()["partialSuccess"]
    assert refused["rejectedDataPoints"] == "1"
    assert "delta" in refused["errorMessage"]
    unknown = post(logs, otlp_json_logs("loan-assistant", "9", one)).json()["partialSuccess"]
    assert unknown["rejectedLogRecords"] == "1"

    # gzip (Content-Encoding) as exporters send it when compression is on
    packed = gzip.compress(json.dumps(otlp_json_logs("loan-assistant", "1", one)).encode())
    assert post(logs, packed, HTTP_CONTENT_ENCODING="gzip").json() == {}
    bucket.refresh_from_db()
    assert bucket.calls == 2
    assert post(logs, b"\x1f\x8b broken", HTTP_CONTENT_ENCODING="gzip").status_code == 400

    # undecodable bodies: 400 (a google.rpc.Status for protobuf); other content types 415
    bad = post(logs, b"\x0a\xff\xff\xff", content_type="application/x-protobuf")
    assert bad.status_code == 400
    assert bad["Content-Type"] == "application/x-protobuf"
    assert b"ExportLogsServiceRequest" in bad.content
    assert post(logs, b"{not json").status_code == 400
    assert post(logs, b"calls=1", content_type="text/plain").status_code == 415
    # a protobuf export gets a protobuf answer
    request = json_format.ParseDict(otlp_json_logs("loan-assistant", "1", one), ExportLogsServiceRequest())
    ok = post(logs, request.SerializeToString(), content_type="application/x-protobuf")
    assert ok.status_code == 200
    assert ExportLogsServiceResponse.FromString(ok.content) == ExportLogsServiceResponse()

    # who may send (ingest_telemetry) and who may read the page and set the monitor (change):
    # no token 401; a role that may not send, or another team's engineer, 403 and nothing written
    before = sum(TelemetryBucket.objects.values_list("calls", flat=True))
    assert Client().post(logs, data="{}", content_type="application/json").status_code == 401
    page = reverse("version-telemetry", args=["loan-assistant", 1])
    # (maya last: her change of the monitor would redraw the charts for the others)
    matrix = {victor: (403, 200, 403), aaron: (403, 200, 403), olga: (403, 404, 404), maya: (200, 200, 302)}
    for person, (send, read, change) in matrix.items():
        _, token = token_create(actor=person, name="x")
        sent = Client(HTTP_AUTHORIZATION=f"Bearer {token}").post(
            logs, data=json.dumps(otlp_json_logs("loan-assistant", "1", one)), content_type="application/json"
        )
        browser = Client()
        browser.force_login(person)
        shown = browser.get(page)
        changed = browser.post(page, {"bucket_seconds": 300, "min_calls": 5, "max_refusal_rate": 0.5})
        assert (sent.status_code, shown.status_code, changed.status_code) == (send, read, change), person
        assert ('id="monitor-form"' in shown.content.decode()) is (change == 302), person
    assert sum(TelemetryBucket.objects.values_list("calls", flat=True)) == before + 1  # maya's
    assert TelemetryMonitor.objects.get(model_version=llm_app).max_refusal_rate == 0.5
    assert database_text_containing(SECRET) == []
