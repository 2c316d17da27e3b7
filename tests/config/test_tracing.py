"""OpenTelemetry tracing (ATTEST_OTEL_TRACES=1): a web request's server span carries the request id, and a task
it queues runs on a real worker in the same trace, its span carrying the same request id, exported over
OTLP/HTTP to a local receiver. The SDK's in-memory exporter records this process's spans."""

from __future__ import annotations

import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client

from accounts import context
from accounts.tasks import HEADER_REQUEST_ID, worker_ping
from config import tracing
from tests.conftest import WorkerProcess, database_url_for_tests, wait_for

otel_sdk = pytest.importorskip("opentelemetry.sdk.trace", reason="the otel extra is not installed")
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402


@pytest.fixture
def spans():
    """Tracing on in this process, into an in-memory exporter; off again afterwards."""
    exporter = InMemorySpanExporter()
    provider = otel_sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    assert tracing.setup("attest-test", tracer_provider=provider, force=True)
    yield exporter
    tracing.teardown()


def test_the_task_header_is_the_one_requests_publish_with():
    assert tracing.TASK_REQUEST_ID_HEADER == HEADER_REQUEST_ID


def test_tracing_is_off_by_default(settings):
    assert settings.ATTEST_OTEL_TRACES is False
    assert tracing.setup("attest-test") is False


@pytest.mark.django_db
def test_a_request_makes_a_server_span_with_its_request_id(spans):
    response = Client().get("/healthz", HTTP_X_REQUEST_ID="req-trace-web-1")  # a client built after setup

    assert response["X-Request-ID"] == "req-trace-web-1"
    server = [span for span in spans.get_finished_spans() if span.kind == SpanKind.SERVER]
    assert len(server) == 1
    assert server[0].attributes[tracing.REQUEST_ID_ATTRIBUTE] == "req-trace-web-1"
    assert server[0].attributes["http.route"] == "healthz"


class _Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP trace receiver on 127.0.0.1: keeps every span it is sent."""

    spans: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                type(self).spans.extend(scope.spans)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def otlp_receiver():
    _Receiver.spans = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Receiver.spans
    server.shutdown()
    server.server_close()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_task_runs_in_the_request_trace_with_its_request_id(spans, transactional_db, otlp_receiver):
    endpoint, received = otlp_receiver
    # worker_env's environment without its broker purge (seconds): only this test's task is waited for
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_tests(),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "ATTEST_OTEL_TRACES": "1",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # export within a tenth of a second instead of five
    }
    worker = WorkerProcess(env, queues="default", concurrency=1).start()
    try:
        tracer = spans_tracer()
        with (
            tracer.start_as_current_span("request", kind=SpanKind.SERVER) as request_span,
            context.bound(context.RequestContext(request_id="req-trace-task-7", auth_method="session")),
        ):
            worker_ping.delay("traced")

        def task_span():
            for span in received:
                if span.name == "run/governance.tasks.worker_ping":
                    return span
            return None

        span = wait_for(task_span, timeout=60, message="the worker's task span at the OTLP receiver")
    finally:
        worker.process.send_signal(signal.SIGQUIT)  # cold shutdown: its one task is done, skip the warm wait
        worker.stop()

    assert span.trace_id == request_span.get_span_context().trace_id.to_bytes(16, "big")
    attributes = {item.key: item.value.string_value for item in span.attributes}
    assert attributes[tracing.REQUEST_ID_ATTRIBUTE] == "req-trace-task-7"
    # the task's SQL (psycopg2; the worker connected after tracing started) is in the same trace
    sql = [s for s in received if s.kind == s.SPAN_KIND_CLIENT and s.trace_id == span.trace_id]
    assert any(s.name.startswith("INSERT") or "INSERT" in s.name for s in sql), [s.name for s in sql]
    published = [s for s in spans.get_finished_spans() if s.kind == SpanKind.PRODUCER]
    assert published[0].context.trace_id == request_span.get_span_context().trace_id


def spans_tracer():
    from opentelemetry import trace

    return trace.get_tracer("tests", tracer_provider=tracing._state["provider"])
