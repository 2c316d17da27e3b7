"""Signing through the identity provider from the pages: someone who signs in through an IdP has no
password to re-enter, so the sign button sends them to the IdP to authenticate again (a step-up) and the
signature is made when they come back.

The validated form waits in the session under the step-up's id, so nothing the person typed is lost and
nothing is signed before the IdP answered; the step-up itself (accounts.services.federation) is one-time,
bound to the person and the purpose (``approval:<id>``, ``review:<id>``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import IdentityProvider
from accounts.services import federation

SESSION_KEY = "sso_signing"  # step-up id → the signature waiting for it
MAX_WAITING = 5


def provider_for(request: HttpRequest) -> IdentityProvider | None:
    """The IdP the signed-in person re-authenticates at to sign, or None (they re-enter a password)."""
    return federation.signing_provider(request.user)


def begin(
    request: HttpRequest, provider: IdentityProvider, purpose: str, fields: dict, finish: Callable[[int], str]
) -> HttpResponse:
    """Start a step-up for ``purpose``, keep ``fields`` for it, and send the browser to the IdP; it comes
    back to ``finish(step_up_id)``."""
    step_up, state = federation.step_up_begin(user=request.user, provider=provider, purpose=purpose)
    waiting = dict(list(request.session.get(SESSION_KEY, {}).items())[-(MAX_WAITING - 1) :])
    waiting[str(step_up.pk)] = {"purpose": purpose, "fields": fields}
    request.session[SESSION_KEY] = waiting
    start = reverse(f"sso-{provider.protocol}-step-up", args=[provider.name])
    target = f"{start}?{urlencode({'state': state, 'next': finish(step_up.pk)})}"
    return HttpResponseClientRedirect(target) if getattr(request, "htmx", False) else redirect(target)


def take(request: HttpRequest, step_up: int, purpose: str) -> dict | None:
    """The fields kept for this step-up and purpose, once (None when there are none)."""
    waiting = request.session.get(SESSION_KEY, {})
    entry = waiting.get(str(step_up))
    if entry is None or entry["purpose"] != purpose:
        return None
    del waiting[str(step_up)]
    request.session.modified = True
    return entry["fields"]
