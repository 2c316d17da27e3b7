"""OpenID Connect: sign-in through an identity provider configured in the database, signing through it
(step-up re-authentication), and RP-initiated logout.

Authlib supplies the protocol parts (PKCE S256, the ID token's claim rules: iss, aud, exp, iat, nonce,
at_hash, azp, auth_time, with a clock allowance) and joserfc, its JOSE library, checks the signature with
the provider's key set, fetched again when a token names a key it does not hold (key rotation). Every
request to the provider goes through ``config.outbound``: its host was checked when the provider was
saved, the connection is made to the checked addresses, and a redirect is never followed.

What the assertion grants, and whether a re-authentication is fresh enough to sign, is decided once for
both protocols by ``accounts.services.federation``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
from urllib.parse import quote, urlencode

from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from accounts.backends import FEDERATED_BACKEND
from accounts.models import IdentityProvider
from accounts.services import federation
from config import outbound
from config.api.errors import ServiceError

log = logging.getLogger(__name__)

TIMEOUT = 10.0  # seconds for one request to the provider
METADATA_SECONDS = 15 * 60  # discovery and key set kept this long (a rotated key is fetched at once)
MAX_BODY = 1_000_000
REQUIRED_METADATA = ("authorization_endpoint", "token_endpoint", "jwks_uri")
PENDING_KEY = "sso_oidc_pending"  # session: the sign-ins and step-ups sent to a provider, by state digest
PENDING_MAX = 5
LOGOUT_KEY = "sso_logout"  # session: where an SSO session ends (provider and ID token hint)
SESSION_BACKEND = FEDERATED_BACKEND  # the session needs a backend; no password is checked


class OidcError(ServiceError):
    """The provider's answer cannot be trusted or used (bad state, invalid ID token, an error it sent)."""

    status_code = 400
    code = "oidc_error"


class ProviderUnreachable(ServiceError):
    status_code = 502
    code = "oidc_provider_unreachable"


# --- talking to the provider ---------------------------------------------------------------------------


def _fetch(method: str, url: str, *, body: dict | None = None, headers: dict | None = None) -> dict:
    """One JSON request to the provider, at the checked addresses, no redirect followed."""
    data = urlencode(body).encode() if body is not None else None
    headers = {"Accept": "application/json", **(headers or {})}
    if data is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        with outbound.request(method, url, body=data, headers=headers, timeout=TIMEOUT) as response:
            status, raw = response.status, response.read(MAX_BODY)
    except (outbound.InvalidUrl, outbound.Refused, OSError) as exc:
        log.warning("oidc request to %s failed: %s", url, exc)
        raise ProviderUnreachable("The identity provider could not be reached; try again later.") from None
    try:
        payload = json.loads(raw)
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or not 200 <= status < 300:
        detail = payload.get("error_description") or payload.get("error") if isinstance(payload, dict) else ""
        raise OidcError(
            f"The identity provider refused the request (HTTP {status}{': ' if detail else ''}{detail})."
        )
    return payload


def metadata(provider: IdentityProvider, *, refresh: bool = False) -> dict:
    """The provider's discovery document (``<issuer>/.well-known/openid-configuration``), whose
    ``issuer`` must be the configured one exactly."""
    key = f"sso:oidc:metadata:{provider.pk}:{provider.issuer}"
    found = None if refresh else cache.get(key)
    if found is None:
        found = _fetch("GET", provider.issuer.rstrip("/") + "/.well-known/openid-configuration")
        if found.get("issuer") != provider.issuer:
            raise OidcError(f"{provider}'s discovery document names another issuer ({found.get('issuer')}).")
        missing = [name for name in REQUIRED_METADATA if not isinstance(found.get(name), str)]
        if missing:
            raise OidcError(f"{provider}'s discovery document has no {', '.join(missing)}.")
        cache.set(key, found, METADATA_SECONDS)
    return found


def _key_set(provider: IdentityProvider, meta: dict, *, refresh: bool) -> KeySet:
    key = f"sso:oidc:jwks:{provider.pk}:{meta['jwks_uri']}"
    found = None if refresh else cache.get(key)
    if found is None:
        found = _fetch("GET", meta["jwks_uri"])
        cache.set(key, found, METADATA_SECONDS)
    return KeySet.import_key_set(found)


def _redirect_uri(request: HttpRequest, provider: IdentityProvider) -> str:
    return request.build_absolute_uri(reverse("sso-oidc-callback", args=[provider.name]))


def _exchange(request: HttpRequest, provider: IdentityProvider, meta: dict, code: str, verifier: str) -> dict:
    """The code for tokens, authenticating the client as discovery says it may (basic preferred)."""
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": _redirect_uri(request, provider),
        "code_verifier": verifier,
    }
    headers = {}
    methods = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if "client_secret_basic" in methods:
        pair = f"{quote(provider.client_id, safe='')}:{quote(provider.client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    else:
        body |= {"client_id": provider.client_id, "client_secret": provider.client_secret}
    tokens = _fetch("POST", meta["token_endpoint"], body=body, headers=headers)
    if not isinstance(tokens.get("id_token"), str):
        raise OidcError(f"{provider} sent no ID token.")
    return tokens


def _validated_claims(
    provider: IdentityProvider, meta: dict, tokens: dict, nonce: str, step_up: bool
) -> dict:
    """The ID token's claims once its signature (the provider's keys) and claims are valid."""
    algorithms = [
        alg for alg in meta.get("id_token_signing_alg_values_supported") or ["RS256"] if alg != "none"
    ]
    try:
        try:
            token = jwt.decode(
                tokens["id_token"], _key_set(provider, meta, refresh=False), algorithms=algorithms
            )
        except InvalidKeyIdError:  # signed with a key published since: the provider rotated its keys
            token = jwt.decode(
                tokens["id_token"], _key_set(provider, meta, refresh=True), algorithms=algorithms
            )
        claims = CodeIDToken(
            token.claims,
            token.header,
            {
                "iss": {"essential": True, "value": provider.issuer},
                "aud": {"essential": True, "value": provider.client_id},
            },
            {
                "nonce": nonce,
                "client_id": provider.client_id,
                "access_token": tokens.get("access_token"),
                "max_age": 0 if step_up else None,
            },
        )
        claims.validate(leeway=settings.ATTEST_SSO_CLOCK_SKEW_SECONDS)
    except (JoseError, ValueError) as exc:
        log.warning("oidc: invalid ID token from %s: %s", provider.name, exc)
        raise OidcError(f"{provider}'s ID token is not valid ({exc}); you were not signed in.") from None
    return dict(claims)


def _with_userinfo(provider: IdentityProvider, meta: dict, tokens: dict, claims: dict) -> dict:
    """Claims the ID token left out (Okta and Keycloak often send groups only from userinfo)."""
    wanted = (provider.groups_claim.split(".")[0], "preferred_username", "email")
    if (
        all(name in claims for name in wanted)
        or not meta.get("userinfo_endpoint")
        or not tokens.get("access_token")
    ):
        return claims
    info = _fetch(
        "GET", meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    if info.get("sub") != claims["sub"]:
        raise OidcError(f"{provider}'s userinfo is about someone else; you were not signed in.")
    return {**info, **claims}


def _groups(claims: dict, path: str) -> tuple[str, ...]:
    """The groups at ``path`` (a claim, or a dotted path such as Keycloak's ``realm_access.roles``)."""
    value = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str):
        value = [value]
    return tuple(str(group) for group in value or () if isinstance(group, str | int))


def _assertion(provider: IdentityProvider, claims: dict) -> federation.SignInAssertion:
    auth_time = claims.get("auth_time")
    return federation.SignInAssertion(
        provider=provider,
        subject=str(claims["sub"]),
        username=str(claims.get("preferred_username") or claims.get("email") or ""),
        email=str(claims.get("email") or ""),
        first_name=str(claims.get("given_name") or ""),
        last_name=str(claims.get("family_name") or ""),
        groups=_groups(claims, provider.groups_claim),
        authenticated_at=dt.datetime.fromtimestamp(auth_time, dt.UTC) if auth_time else None,
        authn_context={"acr": str(claims.get("acr") or ""), "amr": [str(m) for m in claims.get("amr") or []]},
    )


# --- the browser's round trip ----------------------------------------------------------------------------


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _authorize(
    request: HttpRequest, provider: IdentityProvider, state: str, pending: dict, **extra
) -> HttpResponse:
    """Send the browser to the provider: code flow, PKCE S256, state and nonce kept in the session."""
    meta = metadata(provider)
    nonce, verifier = generate_token(32), generate_token(64)
    entries = request.session.get(PENDING_KEY, {})
    entries = dict(list(entries.items())[-(PENDING_MAX - 1) :])  # an abandoned attempt does not pile up
    entries[_digest(state)] = {"provider": provider.name, "nonce": nonce, "verifier": verifier, **pending}
    request.session[PENDING_KEY] = entries
    params = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": _redirect_uri(request, provider),
        "scope": provider.scopes or "openid",
        "state": state,
        "nonce": nonce,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
        **extra,
    }
    return redirect(add_params_to_uri(meta["authorization_endpoint"], params))


def _provider(name: str) -> IdentityProvider:
    return get_object_or_404(IdentityProvider, name=name, protocol=IdentityProvider.Protocol.OIDC)


def _safe_next(request: HttpRequest, target: str | None) -> str:
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and allowed else ""


def refusal_page(request: HttpRequest, provider, message: str, status: int) -> HttpResponse:
    """The refusal in words, never a server error; a failed re-authentication is a 403 on a page (401
    is the API's, where a client retries with credentials)."""
    context = {"provider": provider, "message": message}
    return render(request, "accounts/sso/refused.html", context, status=403 if status == 401 else status)


@require_GET
def sign_in(request: HttpRequest, name: str) -> HttpResponse:
    """``/sso/oidc/<name>/login/?next=``: off to the provider to sign in."""
    provider = _provider(name)
    if not provider.enabled:
        return refusal_page(request, provider, f"Sign-in through {provider} is switched off.", 403)
    pending = {"kind": "login", "next": _safe_next(request, request.GET.get("next"))}
    try:
        return _authorize(request, provider, generate_token(43), pending)
    except ServiceError as refusal:
        return refusal_page(request, provider, refusal.message, refusal.status_code)


@login_required
@require_GET
def step_up(request: HttpRequest, name: str) -> HttpResponse:
    """``/sso/oidc/<name>/step-up/?state=``: re-authenticate at the provider for one signature, with
    ``prompt=login`` and ``max_age=0`` (and the required ``acr_values``) so that it asks again."""
    provider = _provider(name)
    state = request.GET.get("state", "")
    pending_step_up = federation.step_up_for_state(state)
    if (
        pending_step_up is None
        or pending_step_up.user_id != request.user.pk
        or pending_step_up.provider_id != provider.pk
    ):
        return refusal_page(
            request, provider, "This re-authentication is unknown, expired or not yours.", 400
        )
    extra = {"prompt": "login", "max_age": "0"}
    if provider.step_up_acr:
        extra["acr_values"] = provider.step_up_acr
    pending = {
        "kind": "step_up",
        "step_up": pending_step_up.pk,
        "next": _safe_next(request, request.GET.get("next")),
    }
    try:
        return _authorize(request, provider, state, pending, **extra)
    except ServiceError as refusal:
        return refusal_page(request, provider, refusal.message, refusal.status_code)


@require_GET
def callback(request: HttpRequest, name: str) -> HttpResponse:
    """``/sso/oidc/<name>/callback/``: the provider's answer to a sign-in or a step-up (told apart by the
    state this session sent)."""
    provider = _provider(name)
    state = request.GET.get("state", "")
    pending = request.session.get(PENDING_KEY, {}).pop(_digest(state), None) if state else None
    request.session.modified = True
    try:
        if pending is None or pending["provider"] != provider.name:
            raise OidcError("This sign-in was not started here or has already been used; start again.")
        if "error" in request.GET:
            answer = request.GET.get("error_description") or request.GET["error"]
            raise OidcError(f"{provider} did not sign you in: {answer[:300]}")
        meta = metadata(provider)
        tokens = _exchange(request, provider, meta, request.GET.get("code", ""), pending["verifier"])
        is_step_up = pending["kind"] == "step_up"
        claims = _validated_claims(provider, meta, tokens, pending["nonce"], is_step_up)
        assertion = _assertion(provider, _with_userinfo(provider, meta, tokens, claims))
        if is_step_up:
            return _step_up_done(request, provider, state, pending, assertion)
        return _signed_in(request, provider, tokens, pending, assertion)
    except ServiceError as refusal:
        return refusal_page(request, provider, refusal.message, refusal.status_code)


def _signed_in(request, provider, tokens: dict, pending: dict, assertion) -> HttpResponse:
    user = federation.federated_sign_in(assertion)
    login(request, user, backend=SESSION_BACKEND)
    request.session[LOGOUT_KEY] = {
        "protocol": "oidc",
        "provider": provider.name,
        "id_token": tokens["id_token"],
    }
    return redirect(pending.get("next") or settings.LOGIN_REDIRECT_URL)


def _step_up_done(request, provider, state: str, pending: dict, assertion) -> HttpResponse:
    open_step_up = federation.step_up_for_state(state)
    if (
        open_step_up is None
        or open_step_up.pk != pending["step_up"]
        or open_step_up.user_id != request.user.pk
    ):
        raise OidcError("This re-authentication is unknown, expired or not yours; nothing was signed.")
    if assertion.authenticated_at is None:
        raise OidcError(
            f"{provider} did not say when you authenticated; a signature needs a fresh authentication."
        )
    done = federation.step_up_complete(step_up=open_step_up, assertion=assertion)
    if pending.get("next"):
        return redirect(pending["next"])
    return render(request, "accounts/sso/step_up_done.html", {"step_up": done, "provider": provider})


# --- signing out -----------------------------------------------------------------------------------------


class LogoutView(auth_views.LogoutView):
    """Attest's sign-out; a session that came from an OpenID provider then ends there too (RP-initiated
    logout with ``id_token_hint``), coming back to the sign-in page."""

    def post(self, request, *args, **kwargs):
        ended = request.session.get(LOGOUT_KEY) or {}
        response = super().post(request, *args, **kwargs)  # the local session is ended first (and audited)
        if ended.get("protocol") != "oidc":
            return response
        target = _end_session_url(request, ended)
        return redirect(target) if target else response


def _end_session_url(request: HttpRequest, ended: dict) -> str:
    provider = IdentityProvider.objects.filter(name=ended.get("provider"), protocol="oidc").first()
    if provider is None:
        return ""
    try:
        endpoint = metadata(provider).get("end_session_endpoint")
    except ServiceError:
        return ""  # the provider is down: the local sign-out stands
    if not endpoint:
        return ""
    params = {
        "id_token_hint": ended.get("id_token", ""),
        "post_logout_redirect_uri": request.build_absolute_uri(reverse(settings.LOGOUT_REDIRECT_URL)),
        "client_id": provider.client_id,
    }
    return add_params_to_uri(endpoint, params)
