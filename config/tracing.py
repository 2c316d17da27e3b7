"""OpenTelemetry traces, off unless ``ATTEST_OTEL_TRACES=1`` (docs/OPERATIONS.md, *Tracing*).

Needs the ``otel`` extra (``pip install ".[otel]"``); nothing here imports OpenTelemetry until tracing is
on, so a deployment without it pays nothing. When on: a server span per web request (Django), a span per
SQL statement (psycopg2), a producer span per task sent and a consumer span per task run (Celery), the
trace context carried in the task's message headers so a task's spans join the request's trace. Every web
and task span carries ``attest.request_id``, the id in the log lines and audit events. Spans go over
OTLP/HTTP to ``OTEL_EXPORTER_OTLP_ENDPOINT`` (the exporter reads the standard ``OTEL_*`` variables).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

REQUEST_ID_ATTRIBUTE = "attest.request_id"
# the message header the request id travels in (set at publish by accounts.tasks, its HEADER_REQUEST_ID)
TASK_REQUEST_ID_HEADER = "attest_request_id"
logger = logging.getLogger(__name__)
_state: dict[str, object] = {}


def enabled() -> bool:
    return bool(settings.ATTEST_OTEL_TRACES)


def setup(service_name: str, *, tracer_provider=None, force: bool = False) -> bool:
    """Instrument this process once (before Django builds its middleware chain). True when tracing is on.

    ``tracer_provider`` replaces the OTLP exporter's provider (a test passes one with an in-memory exporter);
    it is then not made the global provider, which OpenTelemetry lets a process set only once.
    """
    if not (force or enabled()) or "provider" in _state:
        return "provider" in _state
    try:
        from opentelemetry import trace
        from opentelemetry.instrumentation.celery import CeleryInstrumentor
        from opentelemetry.instrumentation.django import DjangoInstrumentor
        from opentelemetry.instrumentation.psycopg2 import Psycopg2Instrumentor
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"ATTEST_OTEL_TRACES=1 needs the otel extra (pip install '.[otel]'): {exc}"
        ) from None

    if tracer_provider is None:
        tracer_provider = _otlp_provider(service_name)
        trace.set_tracer_provider(tracer_provider)
    DjangoInstrumentor().instrument(tracer_provider=tracer_provider, response_hook=_tag_request)
    # skip_dep_check: the driver is installed as psycopg2-binary
    Psycopg2Instrumentor().instrument(tracer_provider=tracer_provider, skip_dep_check=True)
    CeleryInstrumentor().instrument(tracer_provider=tracer_provider)
    from celery.signals import task_prerun

    # connected after the Celery instrumentation's own receiver, so the task's span is the current one
    task_prerun.connect(_tag_task, weak=False, dispatch_uid="attest-tracing-request-id")
    _state["provider"] = tracer_provider
    logger.info("OpenTelemetry tracing on for %s", service_name)
    return True


def teardown() -> None:
    """Undo ``setup`` (tests): the instrumentations removed, the task receiver disconnected."""
    if "provider" not in _state:
        return
    from celery.signals import task_prerun
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg2 import Psycopg2Instrumentor

    DjangoInstrumentor().uninstrument()
    Psycopg2Instrumentor().uninstrument()
    CeleryInstrumentor().uninstrument()
    task_prerun.disconnect(dispatch_uid="attest-tracing-request-id")
    _state.clear()


def _otlp_provider(service_name: str):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES, when set, win over the default name
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    # the batch processor re-creates its export thread in each forked child (gunicorn, Celery's pool)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def _tag_request(span, request, response) -> None:
    """The request id is set by a middleware that runs inside the span: read it once the response exists."""
    request_id = getattr(request, "request_id", "")
    if request_id and span.is_recording():
        span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id)


def _tag_task(task=None, task_id=None, **kwargs) -> None:
    from opentelemetry import trace

    request = getattr(task, "request", None)
    request_id = getattr(request, TASK_REQUEST_ID_HEADER, None) or task_id
    span = trace.get_current_span()
    if request_id and span.is_recording():
        span.set_attribute(REQUEST_ID_ATTRIBUTE, str(request_id))
