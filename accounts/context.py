"""Who and where a change comes from, carried without passing the request around.

The middleware fills a context variable for each web request; Celery tasks get the same values from
message headers set at publish time. The audit log, log lines and task headers all read from here.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from django.conf import settings
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass(frozen=True)
class RequestContext:
    """The origin of the current unit of work. ``auth_method`` is session, token, system or task."""

    request_id: str = ""
    auth_method: str = "system"
    client_ip: str | None = None
    user_agent: str = ""
    actor_id: int | None = None


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "attest_request_context",
    default=RequestContext(),  # noqa: B039 (frozen dataclass)
)


def current() -> RequestContext:
    """The context of the work in progress (a system context when nothing set one)."""
    return _current.get()


def push(ctx: RequestContext) -> contextvars.Token:
    """Bind ``ctx`` until ``pop`` is called with the returned token (for hooks that cannot use ``with``)."""
    return _current.set(ctx)


def pop(token: contextvars.Token) -> None:
    _current.reset(token)


def update(**changes) -> None:
    """Refine the current context, e.g. once authentication tells us how the user logged in."""
    _current.set(replace(_current.get(), **changes))


@contextmanager
def bound(context: RequestContext) -> Iterator[RequestContext]:
    """Run a block under ``context``, restoring the previous one afterwards."""
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def acting(actor) -> contextlib.AbstractContextManager[RequestContext]:
    """Bind the current context with ``actor`` as the acting user (for writes audited by receivers)."""
    return bound(replace(current(), actor_id=getattr(actor, "pk", None)))


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(raw: str | None) -> str:
    """A client's X-Request-ID is kept when it is short and printable; otherwise a new one is made."""
    if raw and _SAFE_REQUEST_ID.match(raw):
        return raw
    return new_request_id()


def client_address(request: HttpRequest | None) -> str | None:
    """The address of the client that sent ``request``, for sign-in throttling and the audit log.

    REMOTE_ADDR, unless ``ATTEST_TRUSTED_PROXY_COUNT`` says that many reverse proxies of ours stand in
    front: each appends the address it received from to X-Forwarded-For, so the client is the entry that
    many places from the right. Anything to its left was written by the client and is never used; a
    header shorter than that, or an entry that is not an address, falls back to REMOTE_ADDR.
    """
    if request is None:
        return None
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = settings.ATTEST_TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",")]
    if len(hops) < proxies:
        return remote
    try:
        return str(ipaddress.ip_address(hops[-proxies]))
    except ValueError:
        return remote


class RequestContextMiddleware:
    """Binds a RequestContext for the request and echoes the request id in the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = accepted_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        context = RequestContext(
            request_id=request_id,
            auth_method="anonymous",
            client_ip=client_address(request),
            user_agent=request.headers.get("User-Agent", "")[:512],
        )
        with bound(context):
            response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestContextLogFilter(logging.Filter):
    """Adds ``request_id`` to every log record emitted while a context is bound."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current()
        if context.request_id and not hasattr(record, "request_id"):
            record.request_id = context.request_id
        return True


def ui_context(request: HttpRequest) -> dict:
    """Template context: the request id (shown on error pages so support can find the log lines)."""
    return {"request_id": getattr(request, "request_id", "")}


class SessionActorMiddleware:
    """Marks the context as session-authenticated once Django's AuthenticationMiddleware has run.

    Bearer-token requests are marked by the token authentication class instead, because DRF
    authenticates inside the view, after all middleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            update(auth_method="session", actor_id=user.pk)
        return self.get_response(request)
