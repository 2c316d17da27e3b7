"""The server-error page, drawn without the database or a request context.

A 500 may be the database being down, so the page cannot ask it anything: no session, no user, no
context processors (the navigation reads roles). ``500.html`` is rendered from a plain context with
only the request id (so support can find the log lines); if even that fails, a fixed page is sent.
``/api/`` and JSON clients keep the JSON error body of ``config.views``.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template import loader

from config import views
from config.api.errors import DATABASE_RETRY_AFTER_SECONDS

logger = logging.getLogger(__name__)
FALLBACK = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Server error · Attest</title>"
    "<h1>Something went wrong</h1><p>It has been logged. Please try again in a moment.</p></html>"
)


def server_error(request: HttpRequest) -> HttpResponse:
    if views._wants_json(request):
        return views.server_error(request)
    try:
        html = loader.get_template("500.html").render({"request_id": getattr(request, "request_id", "")})
    except Exception:  # the error page must never raise: a fixed page instead
        logger.exception("the 500 page could not be rendered")
        html = FALLBACK
    if views.database_unavailable():  # an outage the user can wait out, not a bug: 503 as the API says
        return HttpResponse(html, status=503, headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})
    return HttpResponseServerError(html)
