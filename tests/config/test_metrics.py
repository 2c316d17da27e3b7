"""/metrics: Prometheus text behind a bearer token; its gauges agree with the database, its request counters
with the requests made, and the counters of several processes add up (multiprocess mode)."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.db import transaction
from django.db.models import Max
from django.test import Client
from django.urls import resolve
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from audit import record
from audit.models import AuditEvent, AuditVerification
from config import metrics as config_metrics
from config.celery_app import app as celery_app
from workers.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-for-tests-0123456789"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def metrics_on(settings):
    settings.ATTEST_METRICS_TOKEN = TOKEN


def scrape(client: Client) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape, keyed by name and sorted labels."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


# --- access ----------------------------------------------------------------------------------------
def test_it_is_not_there_without_a_token_configured(client, settings):
    settings.ATTEST_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token-of-the-same-kind-0123", f"Basic {TOKEN}", "Bearer "]
)
def test_it_refuses_a_missing_or_wrong_token(client, metrics_on, authorization):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    response = client.get("/metrics", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"attest_" not in response.content


# --- values against the database -------------------------------------------------------------------
def test_job_gauges_count_the_rows_and_age_the_oldest_waiting_one(client, metrics_on):
    now = timezone.now()
    old, _ = AuditVerification.objects.create(), AuditVerification.objects.create()
    AuditVerification.objects.filter(pk=old.pk).update(created_at=now - timedelta(seconds=900))
    # claimed once and waiting for its retry's backoff: queued in the rows, but not waiting for a worker
    AuditVerification.objects.create(attempts=1, next_attempt_at=now + timedelta(minutes=5))
    AuditVerification.objects.create(status="running", attempts=1)
    AuditVerification.objects.create(status="succeeded", attempts=1, intact=True, finished_at=now)

    samples = scrape(client)

    kind = {"kind": "audit_verification", "queue": "default"}
    assert value(samples, "attest_jobs", state="queued", **kind) == 3
    assert value(samples, "attest_jobs", state="running", **kind) == 1
    assert value(samples, "attest_jobs", state="succeeded", **kind) == 1
    assert value(samples, "attest_jobs", state="failed", **kind) == 0
    assert value(samples, "attest_jobs_waiting", **kind) == 2
    assert 900 <= value(samples, "attest_jobs_oldest_waiting_seconds", **kind) < 3600
    assert value(samples, "attest_queue_waiting_jobs", queue="default") == 2
    # every declared kind and queue is there, at zero when it has no rows
    assert value(samples, "attest_jobs_waiting", kind="report", queue="reports") == 0
    assert value(samples, "attest_jobs_oldest_waiting_seconds", kind="check", queue="checks") == 0
    assert value(samples, "attest_queue_waiting_jobs", queue="sandbox") == 0


def test_audit_gauges_follow_the_chain_and_the_last_verification(client, metrics_on):
    with transaction.atomic():
        record(action="system.worker_ping", actor=None, after={"note": "metrics"})
    finished = timezone.now() - timedelta(minutes=3)
    AuditVerification.objects.create(status="succeeded", attempts=1, intact=False, finished_at=finished)

    samples = scrape(client)

    head = AuditEvent.objects.aggregate(seq=Max("seq"))["seq"]
    last = AuditEvent.objects.get(seq=head)
    assert value(samples, "attest_audit_head_seq") == head
    assert value(samples, "attest_audit_head_timestamp_seconds") == pytest.approx(
        last.occurred_at.timestamp()
    )
    assert value(samples, "attest_audit_checkpoint_age_seconds") == math.inf  # none signed yet
    assert value(samples, "attest_audit_verification_intact") == 0
    assert value(samples, "attest_audit_verification_timestamp_seconds") == pytest.approx(
        finished.timestamp()
    )


def test_queue_gauges_read_the_worker_heartbeats(client, metrics_on):
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        hostname="celery@metrics",
        pid=1,
        queues=["checks"],
        concurrency=1,
        started_at=now - timedelta(minutes=10),
        seen_at=now - timedelta(seconds=5),
        executed_at=now - timedelta(seconds=40),
    )

    samples = scrape(client)

    assert value(samples, "attest_queue_consumed", queue="checks") == 1
    assert value(samples, "attest_queue_workers", queue="checks") == 1
    assert 40 <= value(samples, "attest_queue_last_executed_age_seconds", queue="checks") < 90
    assert 5 <= value(samples, "attest_queue_last_heartbeat_age_seconds", queue="checks") < 90
    assert value(samples, "attest_queue_consumed", queue="reports") == 0  # nobody listens
    assert value(samples, "attest_queue_last_executed_age_seconds", queue="reports") == math.inf
    assert value(samples, "attest_metrics_collect_seconds") > 0


def test_requests_are_counted_by_route_template_not_path(client, metrics_on):
    route = resolve("/api/v1/models/credit-scorecard/").route
    assert route.startswith("api/v1/models/(?P<name>")
    before = scrape(client)
    client.get("/healthz")
    client.get("/api/v1/models/credit-scorecard/")  # 401: anonymous
    client.get("/api/v1/models/another-model/")
    client.get("/no/such/page/for/metrics/")

    after = scrape(client)

    def grew(name, **labels):
        return (value(after, name, **labels) or 0) - (value(before, name, **labels) or 0)

    assert grew("attest_http_requests_total", method="GET", route="healthz", status="2xx") == 1
    assert grew("attest_http_requests_total", method="GET", route=route, status="4xx") == 2
    assert grew("attest_http_requests_total", method="GET", route="<unmatched>", status="4xx") == 1
    assert grew("attest_http_request_duration_seconds_count", route=route) == 2
    assert grew("attest_http_request_duration_seconds_bucket", route=route, le="+Inf") == 2
    assert not [key for key in after if "credit-scorecard" in str(key)]


def test_counters_of_several_processes_add_up_in_multiprocess_mode(tmp_path, monkeypatch):
    """Two processes (as two gunicorn workers) count into files; one scrape sums them."""
    count = (
        "from config.metrics import REQUESTS, LATENCY\n"
        "REQUESTS.labels('GET', 'healthz', '2xx').inc()\n"
        "LATENCY.labels('healthz').observe(0.02)\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, cwd=ROOT, check=True, timeout=60)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in config_metrics._request_metrics().collect()
        for sample in family.samples
    }

    labels = (("method", "GET"), ("route", "healthz"), ("status", "2xx"))
    assert samples[("attest_http_requests_total", labels)] == 2
    assert samples[("attest_http_request_duration_seconds_count", (("route", "healthz"),))] == 2


# --- the documented Prometheus configuration ---------------------------------------------------------
def _documented_yaml() -> list:
    """The YAML blocks of docs/OPERATIONS.md's *Metrics* section, parsed."""
    text = (ROOT / "docs" / "OPERATIONS.md").read_text()
    section = text.split("\n## Metrics\n", 1)[1].split("\n## ", 1)[0]
    return [yaml.safe_load(block.split("```", 1)[0]) for block in section.split("```yaml\n")[1:]]


def test_the_documented_alert_rules_parse_and_name_served_metrics(client, metrics_on):
    blocks = _documented_yaml()
    scrape_config = next(block for block in blocks if "scrape_configs" in block)
    rules = next(block for block in blocks if "groups" in block)

    job = scrape_config["scrape_configs"][0]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["type"] == "Bearer"
    alerts = rules["groups"][0]["rules"]
    assert {"AttestQueueNotConsumed", "AttestJobWaitingTooLong", "AttestAuditVerificationFailed"} <= {
        rule["alert"] for rule in alerts
    }
    AuditVerification.objects.create(status="succeeded", attempts=1, intact=True, finished_at=timezone.now())
    client.get("/healthz")  # a request counted before the scrape, however this test is run
    served = {name for name, _ in scrape(client)}
    for rule in alerts:
        assert isinstance(rule["expr"], str)
        assert rule["annotations"]["summary"]
        for name in re.findall(r"\battest_[a-z_]+", rule["expr"]):
            assert name in served, f"{rule['alert']} names {name}, which /metrics does not serve"


def test_broker_depth_counts_the_messages_in_a_queue(client, metrics_on, settings):
    queue = "metrics-test-queue"  # consumed by no worker, emptied afterwards
    settings.ATTEST_WORKER_QUEUES = [*settings.ATTEST_WORKER_QUEUES, queue]
    for note in ("one", "two"):
        celery_app.send_task("governance.tasks.worker_ping", args=[note], queue=queue)
    try:
        samples = scrape(client)
    finally:
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)

    assert value(samples, "attest_queue_messages", queue=queue) == 2
    assert value(samples, "attest_queue_consumed", queue=queue) == 0
