"""SAML 2.0 sign-in and signing step-up, with pysaml2 (plain views: the providers are database rows).

Attest is the service provider (SP) of each ``IdentityProvider`` row with protocol ``saml``:

* ``metadata/`` describes the SP (entity ID = that URL; signed AuthnRequests; signed assertions wanted);
* ``login/`` sends a signed AuthnRequest (HTTP-Redirect) whose id is kept in the session under a one-time
  RelayState; ``acs/`` accepts only a response to that request (InResponseTo), once, with a signed
  assertion from the IdP's metadata key, for this audience, within its validity window;
* ``step-up/`` asks the IdP to authenticate the signer again (``ForceAuthn="true"``) for one signature;
  the answer completes the StepUp row with the assertion's AuthnInstant and AuthnContextClassRef.

What the assertion grants (account, roles, teams, freshness) is decided by accounts.services.federation.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import secrets
import shutil
from datetime import UTC, datetime

from defusedxml import ElementTree as SafeElementTree
from django.conf import settings
from django.contrib.auth import login
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.attribute_converter import ac_factory
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.mdstore import InMemoryMetaData
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_TRANSIENT
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from accounts.backends import FEDERATED_BACKEND
from accounts.errors import ReauthenticationFailed
from accounts.models import IdentityProvider, StepUp
from accounts.services import federation
from accounts.sso.saml_keys import SpKeyError, sp_key_pair
from audit import record
from config import outbound

BACKEND = FEDERATED_BACKEND  # the session needs a backend; no password is checked
PENDING = "saml_pending"  # session: {sha256(RelayState): {"id", "provider", "next", "step_up"}}
PENDING_MAX = 10  # open sign-ins per session (tabs); the oldest is dropped
METADATA_CACHE_SECONDS = 3600
METADATA_MAX_BYTES = 5 * 1024 * 1024
RESPONSE_MAX_BYTES = 1024 * 1024
SAMLP_RESPONSE = "{urn:oasis:names:tc:SAML:2.0:protocol}Response"

# Where the common person attributes arrive: pysaml2's friendly names (it maps the urn:oid: names of
# uid, mail, givenName, sn, displayName), then the claim URIs AD FS and Entra ID send.
CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
ATTRIBUTES = {
    "username": ("uid", "urn:oid:0.9.2342.19200300.100.1.1", "username", f"{CLAIMS}upn", f"{CLAIMS}name"),
    "email": ("mail", "urn:oid:0.9.2342.19200300.100.1.3", "email", f"{CLAIMS}emailaddress"),
    "first_name": ("givenName", "urn:oid:2.5.4.42", "firstName", f"{CLAIMS}givenname"),
    "last_name": ("sn", "urn:oid:2.5.4.4", "lastName", f"{CLAIMS}surname"),
    "display_name": (
        "displayName",
        "urn:oid:2.16.840.1.113730.3.1.241",
        "http://schemas.microsoft.com/identity/claims/displayname",
    ),
}


class SamlRefused(Exception):
    """The response is not one Attest accepts; ``message`` is shown to the person (never the XML)."""

    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.message = message
        self.status = status


class SamlUnavailable(SamlRefused):
    """The provider cannot be used as configured (no xmlsec1, no IdP metadata); an administrator's task."""

    def __init__(self, message: str):
        super().__init__(message, status=503)


# --- configuration -------------------------------------------------------------------------------------


def xmlsec1_path() -> str:
    path = shutil.which("xmlsec1")
    if path is None:
        raise SamlUnavailable(
            "SAML sign-in needs the xmlsec1 program (Debian/Ubuntu package xmlsec1, macOS: brew install "
            "libxmlsec1), which is not installed on this server; ask an administrator."
        )
    return path


def configuration_problems(provider: IdentityProvider) -> list[str]:
    """What keeps ``provider`` from working, for a configuration page or a check: xmlsec1 missing, no
    IdP metadata, metadata that cannot be fetched or read, or that describes no identity provider."""
    problems = []
    for check in (xmlsec1_path, lambda: _idp_entity_ids(idp_metadata(provider))):
        try:
            check()
        except SamlUnavailable as problem:
            problems.append(problem.message)
    return problems


def _idp_entity_ids(xml: str) -> list[str]:
    metadata = InMemoryMetaData(ac_factory(), xml)
    try:
        metadata.load()
    except Exception as exc:  # pysaml2 raises whatever its XML reader raises
        raise SamlUnavailable(f"The IdP metadata cannot be read: {exc}") from None
    entity_ids = [entity_id for entity_id, entity in metadata.items() if entity.get("idpsso_descriptor")]
    if not entity_ids:
        raise SamlUnavailable("The IdP metadata describes no identity provider (no IDPSSODescriptor).")
    return entity_ids


def provider_for(name: str) -> IdentityProvider:
    return get_object_or_404(
        IdentityProvider, name=name, protocol=IdentityProvider.Protocol.SAML, enabled=True
    )


def sp_config(request: HttpRequest, provider: IdentityProvider, *, with_idp: bool = True) -> SPConfig:
    """pysaml2's SP configuration for ``provider``, its URLs absolute on this request's host."""
    return _sp_config(*_config_key(request, provider, with_idp=with_idp))


def _config_key(request: HttpRequest, provider: IdentityProvider, *, with_idp: bool) -> tuple:
    """Everything the configuration is made of (a changed metadata, host or key makes a new one)."""
    try:
        key_path, cert_path = sp_key_pair()
    except (SpKeyError, OSError) as exc:
        raise SamlUnavailable(f"The SAML service provider key is unusable: {exc}") from None
    urls = tuple(
        request.build_absolute_uri(reverse(f"sso-saml-{kind}", args=[provider.name]))
        for kind in ("metadata", "acs")
    )
    return (
        str(provider),
        urls,
        xmlsec1_path(),
        str(key_path),
        str(cert_path),
        key_path.stat().st_mtime_ns,
        settings.ATTEST_SSO_CLOCK_SKEW_SECONDS,
        idp_metadata(provider) if with_idp else "",
    )


@functools.lru_cache(maxsize=32)
def _sp_config(title, urls, xmlsec1, key_path, cert_path, _key_version, skew, idp_xml) -> SPConfig:
    metadata_url, acs_url = urls
    conf = {
        "entityid": metadata_url,
        "xmlsec_binary": xmlsec1,
        "key_file": key_path,
        "cert_file": cert_path,
        "accepted_time_diff": skew,
        "allow_unknown_attributes": True,
        "service": {
            "sp": {
                "name": title,
                "endpoints": {"assertion_consumer_service": [(acs_url, BINDING_HTTP_POST)]},
                "authn_requests_signed": True,
                "want_assertions_signed": True,
                "want_response_signed": False,
                "allow_unsolicited": False,
                "signing_algorithm": SIG_RSA_SHA256,
                "digest_algorithm": DIGEST_SHA256,
            }
        },
    }
    if idp_xml:
        conf["metadata"] = {"inline": [idp_xml]}
    config = SPConfig()
    try:
        config.load(conf)
    except Exception as exc:  # pysaml2 raises whatever its XML and metadata readers raise
        raise SamlUnavailable(f"The metadata of {title} cannot be read: {exc}") from None
    return config


def idp_metadata(provider: IdentityProvider) -> str:
    """The IdP's metadata: pasted on the row, or fetched from its URL (under the outbound address policy)
    and cached for an hour."""
    if provider.metadata_xml.strip():
        return provider.metadata_xml
    if not provider.metadata_url:
        raise SamlUnavailable(f"{provider} has no IdP metadata (paste it, or give its URL).")
    key = "saml-idp-metadata:" + hashlib.sha256(provider.metadata_url.encode()).hexdigest()
    xml = cache.get(key)
    if xml is None:
        xml = _fetch_metadata(provider)
        cache.set(key, xml, METADATA_CACHE_SECONDS)
    return xml


def _fetch_metadata(provider: IdentityProvider) -> str:
    try:
        with outbound.request("GET", provider.metadata_url, timeout=10) as answer:
            body = answer.read(METADATA_MAX_BYTES + 1)
            status = answer.status
    except (outbound.InvalidUrl, outbound.Refused, OSError) as exc:
        raise SamlUnavailable(f"The metadata of {provider} could not be fetched: {exc}") from None
    except Exception:  # http.client's protocol errors
        raise SamlUnavailable(f"The metadata of {provider} could not be fetched.") from None
    if status != 200 or len(body) > METADATA_MAX_BYTES:
        raise SamlUnavailable(f"The metadata URL of {provider} answered HTTP {status}, not the metadata.")
    return body.decode("utf-8", "replace")


@functools.lru_cache(maxsize=32)
def client_for(config: SPConfig) -> tuple[Saml2Client, str]:
    """The client and the IdP's entity ID (the first IdP the metadata describes); kept with its
    configuration, since making one loads and validates the RSA key (a tenth of a second)."""
    client = Saml2Client(config)
    idps = list(client.metadata.identity_providers())
    if not idps:
        raise SamlUnavailable("The IdP metadata describes no identity provider (no IDPSSODescriptor).")
    return client, idps[0]


# --- the views -----------------------------------------------------------------------------------------


def refusal_page(request: HttpRequest, provider_title: str, message: str, status: int) -> HttpResponse:
    return render(
        request,
        "accounts/sso/saml_refused.html",
        {"provider": provider_title, "message": message},
        status=status,
    )


def _guarded(view):
    """Every refusal is a page with the reason and a 4xx/503 status, never a 500."""

    def wrapped(request: HttpRequest, name: str) -> HttpResponse:
        try:
            return view(request, name)
        except SamlRefused as refusal:
            return refusal_page(request, name, refusal.message, refusal.status)
        except (federation.SignInRefused, ReauthenticationFailed) as refusal:
            return refusal_page(request, name, refusal.message, 403)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@require_GET
@_guarded
def metadata(request: HttpRequest, name: str) -> HttpResponse:
    """The SP metadata the IdP administrator imports (readable without the IdP's metadata)."""
    config = sp_config(request, provider_for(name), with_idp=False)
    xml = create_metadata_string(None, config=config, valid=None, sign=False)
    return HttpResponse(xml, content_type="application/samlmetadata+xml")


@require_GET
@_guarded
def login_start(request: HttpRequest, name: str) -> HttpResponse:
    provider = provider_for(name)
    next_url = _safe_next(request, request.GET.get("next", ""))
    relay_state = secrets.token_urlsafe(32)
    return _authn_request(request, provider, relay_state, {"next": next_url, "step_up": None})


@require_GET
@_guarded
def step_up_start(request: HttpRequest, name: str) -> HttpResponse:
    """Re-authentication for one signature: ``ForceAuthn`` (and the required AuthnContextClassRef)."""
    if not request.user.is_authenticated:
        raise SamlRefused("Sign in to Attest first, then sign again.", status=401)
    provider = provider_for(name)
    state = request.GET.get("state", "")
    step_up = federation.step_up_for_state(state)
    if (
        step_up is None
        or step_up.user_id != request.user.pk
        or step_up.provider_id != provider.pk
        or timezone.now() > step_up.expires_at
    ):
        raise SamlRefused("This re-authentication is unknown, expired or not yours; start signing again.")
    next_url = _safe_next(request, request.GET.get("next", ""))  # where the signing page resumes
    return _authn_request(request, provider, state, {"next": next_url, "step_up": step_up.pk}, force=True)


def _authn_request(
    request: HttpRequest, provider: IdentityProvider, relay_state: str, pending: dict, *, force: bool = False
) -> HttpResponse:
    client, idp = client_for(sp_config(request, provider))
    options = {}
    if force:
        options["force_authn"] = "true"
        if provider.required_acr_values():
            options["requested_authn_context"] = {
                "authn_context_class_ref": provider.required_acr_values(),
                "comparison": "exact",
            }
    try:
        request_id, info = client.prepare_for_authenticate(
            entityid=idp,
            relay_state=relay_state,
            binding=BINDING_HTTP_REDIRECT,
            sign=True,
            sigalg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
            **options,
        )
    except Exception as exc:  # no HTTP-Redirect SSO endpoint in the metadata, an unusable key
        raise SamlUnavailable(f"No sign-in request could be made for {provider}: {exc}") from None
    _pending_add(request, relay_state, {"id": request_id, "provider": provider.name, "idp": idp, **pending})
    location = dict(info["headers"])["Location"]
    return HttpResponseRedirect(location)


@csrf_exempt  # the IdP's form posts here; the response's signature and InResponseTo are the protection
@require_POST
@_guarded
def acs(request: HttpRequest, name: str) -> HttpResponse:
    """The IdP's answer (HTTP-POST binding) to a sign-in or a step-up this session asked for."""
    provider = provider_for(name)
    encoded = request.POST.get("SAMLResponse", "")
    _well_formed(encoded)
    relay_state = request.POST.get("RelayState", "")
    if settings.SESSION_COOKIE_NAME not in request.COOKIES and not request.POST.get("relayed"):
        # The IdP's cross-site POST carries no SameSite=Lax session cookie; posting the form again from
        # this origin does, without loosening the cookie for every other request.
        return render(
            request,
            "accounts/sso/saml_relay.html",
            {"action": request.path, "saml_response": encoded, "relay_state": relay_state},
        )
    pending = _pending_take(request, relay_state)
    if pending is None or pending["provider"] != provider.name:
        _refuse_audited(provider, "an unsolicited or replayed response (no open request in this session)")
    answer = _verified(request, provider, encoded, pending["id"])
    if answer.issuer() != pending["idp"]:  # metadata naming several IdPs: only the one asked may answer
        _refuse_audited(provider, "it comes from another identity provider than the one asked")
    assertion = _assertion(provider, answer)
    if pending["step_up"]:
        return _complete_step_up(request, pending["step_up"], assertion, pending.get("next"))
    user = federation.federated_sign_in(assertion)
    login(request, user, backend=BACKEND)
    return HttpResponseRedirect(pending["next"] or "/")


def _complete_step_up(
    request: HttpRequest, step_up_id: int, assertion: federation.SignInAssertion, next_url: str | None
):
    step_up = StepUp.objects.select_related("provider", "user").filter(pk=step_up_id).first()
    if step_up is None or step_up.user_id != getattr(request.user, "pk", None):
        raise SamlRefused("This re-authentication is not yours; nothing was signed.")
    federation.step_up_complete(step_up=step_up, assertion=assertion)
    next_url = next_url or request.session.pop(f"step_up_next:{step_up.pk}", "/")
    return HttpResponseRedirect(_safe_next(request, next_url) or "/")


# --- the response --------------------------------------------------------------------------------------


def _well_formed(encoded: str) -> None:
    """A SAMLResponse that is not base64 of an XML document is a bad request (400), not a failure."""
    if not encoded:
        raise SamlRefused("The identity provider's answer carried no SAMLResponse.", status=400)
    if len(encoded) > RESPONSE_MAX_BYTES * 4 // 3 + 4:
        raise SamlRefused("The identity provider's answer is too large.", status=400)
    try:
        xml = base64.b64decode(encoded, validate=True)
        root = SafeElementTree.fromstring(xml, forbid_dtd=True)  # a SAML message never has a DTD
    except (binascii.Error, ValueError, SafeElementTree.ParseError):
        raise SamlRefused(
            "The identity provider's answer is not a SAML response (malformed).", status=400
        ) from None
    except Exception:  # defusedxml's refusals: a DTD, entity declarations, external references
        raise SamlRefused(
            "The identity provider's answer contains forbidden XML constructs.", status=400
        ) from None
    if root.tag != SAMLP_RESPONSE:
        raise SamlRefused("The identity provider's answer is XML but not a SAML Response.", status=400)


def _verified(request: HttpRequest, provider: IdentityProvider, encoded: str, request_id: str):
    client, _ = client_for(sp_config(request, provider))
    try:
        answer = client.parse_authn_request_response(
            encoded, BINDING_HTTP_POST, outstanding={request_id: request_id}
        )
    except Exception as exc:  # pysaml2 signals each failed check with an exception of its own
        _refuse_audited(provider, _why(exc))
    if answer is None or answer.assertion is None:
        _refuse_audited(provider, "the response holds no usable assertion")
    return answer


def _why(exc: Exception) -> str:
    """The check that failed, in words (pysaml2's exception names are its reasons)."""
    kind = type(exc).__name__
    if kind == "SignatureError" and "missing" in str(exc).lower():
        return "its assertion is not signed (signed assertions are required)"
    reasons = {
        "SignatureError": "its assertion is not signed with the identity provider's key",
        "IncorrectlySigned": "its signature does not verify with the identity provider's key",
        "UnsolicitedResponse": "it answers no request this session made (unsolicited or replayed)",
        "ResponseLifetimeExceed": "it has expired",
        "ToEarly": "it is not valid yet",
        "StatusError": "the identity provider reported an error",
    }
    for name, reason in reasons.items():
        if name in kind or any(name == base.__name__ for base in type(exc).__mro__):
            return reason
    text = str(exc)[:200]
    return f"it failed verification ({kind}{': ' + text if text else ''})"


def _refuse_audited(provider: IdentityProvider, why: str) -> None:
    with transaction.atomic():
        record(
            action="auth.sso_refused", actor=None, after={"provider": provider.name, "why": f"SAML: {why}"}
        )
    raise SamlRefused(f"Attest did not accept the answer of {provider}: {why}.")


def _assertion(provider: IdentityProvider, answer) -> federation.SignInAssertion:
    name_id = answer.name_id
    if name_id is None or not (name_id.text or "").strip():
        _refuse_audited(provider, "the assertion names no subject (NameID)")
    if name_id.format == NAMEID_FORMAT_TRANSIENT:
        _refuse_audited(provider, "its NameID is transient; configure a persistent or e-mail NameID")
    values = _attribute_values(answer)
    first = {field: _first(values, names) for field, names in ATTRIBUTES.items()}
    first_name, last_name = first["first_name"], first["last_name"]
    if not (first_name or last_name) and first["display_name"]:
        first_name, _, last_name = first["display_name"].partition(" ")
    subject = name_id.text.strip()
    username = first["username"] or first["email"] or subject
    class_ref, instant = _authn_statement(answer)
    return federation.SignInAssertion(
        provider=provider,
        subject=subject,
        username=username,
        email=first["email"],
        first_name=first_name,
        last_name=last_name,
        groups=tuple(values.get(provider.groups_claim, [])),
        authenticated_at=instant,
        authn_context={"acr": class_ref} if class_ref else {},
    )


def _attribute_values(answer) -> dict[str, list[str]]:
    """Every attribute under pysaml2's friendly name, its Name and its FriendlyName."""
    values: dict[str, list[str]] = {key: [str(v) for v in vals] for key, vals in (answer.ava or {}).items()}
    for statement in answer.assertion.attribute_statement:
        for attribute in statement.attribute:
            texts = [value.text.strip() for value in attribute.attribute_value if value.text]
            for key in (attribute.name, attribute.friendly_name):
                if key:
                    values.setdefault(key, texts)
    return values


def _first(values: dict[str, list[str]], names: tuple[str, ...]) -> str:
    for name in names:
        for value in values.get(name, []):
            if value.strip():
                return value.strip()
    return ""


def _authn_statement(answer) -> tuple[str, datetime | None]:
    for class_ref, _authorities, instant in answer.authn_info():
        return class_ref or "", _instant(instant)
    return "", None


def _instant(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- the session's open requests -----------------------------------------------------------------------


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _pending_add(request: HttpRequest, relay_state: str, entry: dict) -> None:
    pending = dict(request.session.get(PENDING, {}))
    pending[_digest(relay_state)] = entry
    request.session[PENDING] = dict(list(pending.items())[-PENDING_MAX:])


def _pending_take(request: HttpRequest, relay_state: str) -> dict | None:
    """The open request this RelayState names, removed: a response is accepted once."""
    if not relay_state:
        return None
    pending = dict(request.session.get(PENDING, {}))
    entry = pending.pop(_digest(relay_state), None)
    request.session[PENDING] = pending
    return entry


def _safe_next(request: HttpRequest, next_url: str) -> str:
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return ""
