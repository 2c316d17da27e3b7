"""OTLP intake throughput: GenAI log records from the OpenTelemetry SDK's OTLP/HTTP exporter (protobuf)
into a live Attest web process, in events per second.

    .venv/bin/python benchmarks/otlp_intake.py                       # 20,000 events, content-free and with text
    .venv/bin/python benchmarks/otlp_intake.py --events 100000 --workers 2 --batch 512

Uses a fresh ``attest_bench_otlp`` database next to DATABASE_URL's (or the embedded PostgreSQL under
var/pg) and a real gunicorn (``--workers``, bound to 127.0.0.1 only). The client is the SDK's
``LoggerProvider`` with a ``BatchLogRecordProcessor`` (queue as large as the run, so nothing is dropped)
and ``OTLPLogExporter`` over HTTP with protobuf; the time runs from the first ``emit`` to the end of
``force_flush`` (every batch answered). Each record is one LLM call with the GenAI attributes the intake
reads (model, tokens, duration, finish reasons, guardrail action); the second pass adds a prompt and an
output of ~200 characters each, which the intake hashes (content-free mode) and stores as digests.
Afterwards the buckets are read back: the calls counted must equal the events sent.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as common

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BENCH_DATABASE = "attest_bench_otlp"
MODEL = "bench-llm-app"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000, help="log records per pass (1 to 1,000,000)")
    parser.add_argument("--batch", type=int, default=512, help="records per export request (1 to 10,000)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (1 to 16)")
    args = parser.parse_args()
    if not (1 <= args.events <= 1_000_000 and 1 <= args.batch <= 10_000 and 1 <= args.workers <= 16):
        parser.error("--events 1..1,000,000, --batch 1..10,000, --workers 1..16")
    media = Path(tempfile.mkdtemp(prefix="attest-bench-otlp-"))
    os.environ["ATTEST_ALERT_TASK"] = ""
    server = common.fresh_django_database(BENCH_DATABASE, media)
    web = None
    try:
        secret, versions = _fixtures()
        port = _free_port()
        web = _start_gunicorn(port, media, args.workers)
        _wait_until_up(port)
        print(
            f"OTLP/HTTP log intake, gunicorn {args.workers} worker(s), batches of {args.batch}, {os.cpu_count()} CPU(s)"
        )
        print(f"{'pass':<28} {'events':>9} {'seconds':>8} {'events/s':>10} {'counted':>9}")
        for label, version, content in (
            ("content-free, no text", versions[0], False),
            ("prompt + output hashed", versions[1], True),
        ):
            seconds = _send(port, secret, version.version, args.events, args.batch, content)
            counted = _counted(version)
            print(
                f"{label:<28} {args.events:>9,} {seconds:>8.2f} {args.events / seconds:>10,.0f} {counted:>9,}"
            )
            if counted != args.events:
                print(f"MISMATCH: {counted} calls counted for {args.events} sent")
                return 1
    finally:
        if web is not None:
            web.terminate()
            web.wait(timeout=30)
        if server is not None:
            server.cleanup()
    return 0


def _send(port: int, secret: str, version: int, events: int, batch: int, content: bool) -> float:
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    provider = LoggerProvider(
        resource=Resource.create({"attest.model": MODEL, "attest.model.version": version})
    )
    exporter = OTLPLogExporter(
        endpoint=f"http://127.0.0.1:{port}/otlp/v1/logs",
        headers={"Authorization": f"Bearer {secret}"},
        timeout=60,
    )
    provider.add_log_record_processor(
        BatchLogRecordProcessor(
            exporter, max_queue_size=events + 1, max_export_batch_size=batch, schedule_delay_millis=50
        )
    )
    logger = provider.get_logger("bench")
    filler = "lorem ipsum dolor sit amet " * 8
    start = time.perf_counter()
    for i in range(events):
        attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "bench-model",
            "gen_ai.usage.input_tokens": 120 + i % 50,
            "gen_ai.usage.output_tokens": 40 + i % 30,
            "gen_ai.client.operation.duration": 0.1 + (i % 40) / 10,
            "gen_ai.response.finish_reasons": ["stop"],
            "attest.guardrail.action": "block" if i % 50 == 0 else "pass",
        }
        if content:
            attributes["gen_ai.prompt"] = f"question {i}: {filler}"
            attributes["gen_ai.completion"] = f"answer {i}: {filler}"
        logger.emit(event_name="gen_ai.client.inference.operation.details", attributes=attributes)
    if not provider.force_flush(600_000):
        raise RuntimeError("the exporter did not finish")
    seconds = time.perf_counter() - start
    provider.shutdown()
    return seconds


def _counted(version) -> int:
    from django.db.models import Sum

    from monitoring.models import TelemetryBucket

    return TelemetryBucket.objects.filter(model_version=version).aggregate(total=Sum("calls"))["total"] or 0


def _fixtures():
    """An ML engineer of team bench, a model with two versions, the engineer's API token."""
    from django.contrib.auth.models import Group

    from accounts.models import Team, User
    from accounts.roles import ROLE_NAMES
    from accounts.services.accounts import token_create
    from registry.models import ModelVersion, RegisteredModel

    for role in ROLE_NAMES:
        Group.objects.get_or_create(name=role)
    group, _ = Group.objects.get_or_create(name="team:bench")
    team = Team.objects.get_or_create(name="bench", defaults={"group": group})[0]
    engineer = User.objects.create(username="bench-engineer")
    engineer.groups.add(Group.objects.get(name="ml-engineer"))
    team.group.user_set.add(engineer)
    model = RegisteredModel.objects.create(
        name=MODEL,
        title="Bench LLM app",
        owner=engineer,
        team=team,
        created_by=engineer,
        lineage_job=MODEL,
        computed_tier=3,
        risk_tier=3,
    )
    versions = [
        ModelVersion.objects.create(
            model=model,
            version=number,
            artifact_sha256=f"{number:064x}",
            artifact_size=1,
            artifact_key=f"artifacts/sha256/{number:064x}",
            artifact_filename="bundle.json",
            artifact_format="skops",
            artifact_executable=False,
            created_by=engineer,
        )
        for number in (1, 2)
    ]
    _, secret = token_create(actor=engineer, name="bench")
    return secret, versions


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_gunicorn(port: int, media: Path, workers: int) -> subprocess.Popen:
    env = {**os.environ, "ATTEST_MEDIA_ROOT": str(media)}
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--timeout", "300", "--log-level", "warning"]
    return subprocess.Popen(command, cwd=REPO, env=env)


def _wait_until_up(port: int) -> None:
    import requests

    for _ in range(150):
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


if __name__ == "__main__":
    sys.exit(main())
