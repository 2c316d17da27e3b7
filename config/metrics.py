"""``/metrics``: Prometheus metrics behind a bearer token (docs/OPERATIONS.md, *Metrics*).

Two sources. HTTP requests are counted here, in the web process that served them, labelled by the URL
*route template* (``api/v1/models/<str:name>/``, never the raw path, so the label set stays bounded); under
gunicorn each worker process has its own counters, so with ``PROMETHEUS_MULTIPROC_DIR`` set they are kept
in files in that folder (prometheus_client's multiprocess mode) and every scrape sums all of them, whichever
worker answers. Everything else (jobs, queues, workers, the audit chain) is read from the database at
scrape time by the collectors named in ``ATTEST_METRICS_COLLECTORS`` (config imports no app).
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED_ROUTE = "<unmatched>"  # a path no URL pattern matched (404s): one label value for all of them
# request latency buckets, seconds: pages and API calls, up to the slow uploads and exports
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

REQUESTS = Counter(
    "attest_http_requests",
    "HTTP requests answered, by method, URL route template and status class.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "attest_http_request_duration_seconds",
    "Time to answer an HTTP request (through every middleware), by URL route template.",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def route_of(request: HttpRequest) -> str:
    """The URL pattern that matched (``path()`` routes joined through ``include()``), or one fixed label."""
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", None)
    return route if route is not None else UNMATCHED_ROUTE


class MetricsMiddleware:
    """Counts and times every request; first in MIDDLEWARE so the time covers all the others."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        route = route_of(request)
        method = request.method if request.method in _METHODS else "other"  # a client picks the method
        REQUESTS.labels(method, route, f"{response.status_code // 100}xx").inc()
        LATENCY.labels(route).observe(time.perf_counter() - started)
        return response


class _Scrape:
    """The sources of one scrape, read in turn (duck-typed as a registry for ``generate_latest``)."""

    def __init__(self, sources: Iterable):
        self.sources = list(sources)

    def collect(self):
        for source in self.sources:
            yield from source.collect()


def _request_metrics():
    """This process's registry, or in multiprocess mode the sum of every process's files."""
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _authorized(request: HttpRequest, token: str) -> bool:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    # compare_digest: the time taken does not tell how much of a guess was right
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format. 404 while ``ATTEST_METRICS_TOKEN`` is unset; 401 without that bearer token."""
    token = settings.ATTEST_METRICS_TOKEN
    if not token:
        raise Http404("metrics are off")
    if not _authorized(request, token):
        response = HttpResponse("a bearer token is required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    collectors = [import_string(path)() for path in settings.ATTEST_METRICS_COLLECTORS]
    body = generate_latest(_Scrape([_request_metrics(), *collectors]))
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
