"""Project-level views: the health check and error handlers that speak JSON under /api/."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt
from kombu import Connection

from config.api.errors import DATABASE_RETRY_AFTER_SECONDS, DATABASE_UNAVAILABLE_ERRORS, json_error_response

BROKER_TIMEOUT_SECONDS = 2.0
logger = logging.getLogger(__name__)


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_broker() -> None:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem"):
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise OSError(f"broker folder {folder} is missing or not writable")
        return
    with Connection(url, connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(
            max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS
        )


def _check_storage() -> None:
    location = getattr(default_storage, "location", None)
    if location is not None:  # local disk: the folder must exist and accept writes
        Path(location).mkdir(parents=True, exist_ok=True)
        if not os.access(location, os.W_OK):
            raise OSError(f"storage folder {location} is not writable")
    else:
        default_storage.exists("healthz-probe")


CHECKS = {"database": _check_database, "broker": _check_broker, "storage": _check_storage}


def _run_check(check) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # a health check reports every failure instead of raising it
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300], "ms": _elapsed_ms(started)}
    return {"ok": True, "ms": _elapsed_ms(started)}


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the broker and storage all answer; 503 naming the one that does not.

    ``queues`` says per queue whether a worker consumes it (workers.liveness); a stuck queue makes the status
    ``degraded`` but keeps 200, so a load balancer keeps serving pages while workers are restarted.
    """
    results = {name: _run_check(check) for name, check in CHECKS.items()}
    healthy = all(result["ok"] for result in results.values())
    queues = _queue_health_or_nothing(with_depth=results["broker"]["ok"]) if results["database"]["ok"] else {}
    status = "unavailable" if not healthy else _queues_status(queues)
    body = {"status": status, "checks": results, "queues": queues}
    return JsonResponse(body, status=200 if healthy else 503)


def healthz_workers(request: HttpRequest) -> JsonResponse:
    """The workers' liveness probe: 503 while a queue (all, or those named by ``?queue=``) is stuck."""
    names = request.GET.getlist("queue") or None
    try:
        queues = _queue_health(names, with_depth=True)
    except Exception as exc:  # the database is down: nothing can be judged
        body = {"status": "unavailable", "error": f"{type(exc).__name__}: {exc}"[:300]}
        return JsonResponse(body, status=503)
    status = _queues_status(queues)
    return JsonResponse({"status": status, "queues": queues}, status=200 if status == "ok" else 503)


def _queue_health(names: list[str] | None = None, *, with_depth: bool) -> dict:
    queue_health = import_string(settings.ATTEST_QUEUE_HEALTH)  # workers.liveness: config imports no app
    return queue_health(names, with_depth=with_depth)


def _queue_health_or_nothing(*, with_depth: bool) -> dict:
    try:
        return _queue_health(with_depth=with_depth)
    except Exception:  # the readiness answer must not depend on the liveness tables
        logger.warning("could not judge queue liveness", exc_info=True)
        return {}


def _queues_status(queues: dict) -> str:
    return "ok" if all(queue["ok"] for queue in queues.values()) else "degraded"


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if _wants_json(request):
        return json_error_response(404, "Not found.")
    return render(request, "404.html", status=404)


@csrf_exempt  # nothing is written here; without it a POST or DELETE would get the HTML CSRF 403 page
def api_not_found(request: HttpRequest, unmatched: str = "") -> HttpResponse:
    """Any ``/api/`` path that no route matches, in every mode and for every method (DEBUG's HTML 404 page
    and the CSRF failure page included).

    Only the slash is missing when the path with one would resolve: GET and HEAD are redirected there as
    APPEND_SLASH would; other methods get a 404 saying so (a redirect would turn a POST into a GET).
    """
    with_slash = f"{request.path}/"
    if not request.path.endswith("/") and _resolves_to_a_route(with_slash):
        if request.method in ("GET", "HEAD"):
            query = request.META.get("QUERY_STRING", "")
            return HttpResponsePermanentRedirect(with_slash + (f"?{query}" if query else ""))
        return json_error_response(404, f"Not found. API paths end with a slash: {with_slash}")
    return json_error_response(404, "Not found.")


def _resolves_to_a_route(path: str) -> bool:
    try:
        return resolve(path).func is not api_not_found
    except Resolver404:
        return False


def database_unavailable() -> bool:
    """Is the exception being handled an unreachable database (handler500 runs inside its except block)?"""
    return isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE_ERRORS)


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_json(request) and database_unavailable():
        # e.g. the session lookup of a signed-in API client failed in middleware, before DRF could answer
        response = json_error_response(
            503, "The database is unavailable; nothing was written. Try again in a moment."
        )
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
    if _wants_json(request):
        return json_error_response(
            500, "An unexpected error occurred; it has been logged.", code="server_error"
        )
    return render(request, "500.html", status=500)


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    if _wants_json(request):
        return json_error_response(400, "The request is malformed.")
    return render(request, "400.html", status=400)


def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    if _wants_json(request):
        return json_error_response(403, "You do not have permission to do this.")
    return render(request, "403.html", status=403)
