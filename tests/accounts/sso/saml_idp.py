"""A real SAML 2.0 identity provider for the tests: pysaml2's ``Server`` behind http.server on 127.0.0.1.

It receives the AuthnRequest by HTTP-Redirect (its signature checked against the SP metadata), asks for a
user name and password with a form unless the browser has an IdP session and the request does not say
``ForceAuthn``, and answers with an HTTP-POST form carrying a signed Response. Its misbehaviours are
switches a test turns on: an unsigned assertion, a rogue signing key, an expired assertion, ForceAuthn
ignored (the old session's AuthnInstant reused).
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import re
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server
from saml2.time_util import instant

PASSWORD_CLASS = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


def key_pair(directory: Path, name: str) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / f"{name}.key", directory / f"{name}.crt"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(key_path), str(cert_path)


@dataclass
class IdpUser:
    password: str
    subject: str
    attributes: dict[str, list[str]]


@dataclass
class Behaviour:
    sign_assertion: bool = True
    rogue_key: bool = False
    lifetime_minutes: int = 15
    honour_force_authn: bool = True
    class_ref: str = PASSWORD_CLASS


@dataclass
class SeenRequest:
    id: str
    force_authn: bool
    requested_class_refs: list[str]
    asked_credentials: bool = False


class TestIdp:
    """One IdP for a test module; ``reset()`` between tests."""

    def __init__(self, workdir: Path):
        self.keys = key_pair(workdir, "idp")
        self.rogue_keys = key_pair(workdir, "rogue")
        self.users: dict[str, IdpUser] = {}
        self.sessions: dict[str, tuple[str, float]] = {}  # cookie → (user name, authn instant)
        self.waiting: dict[str, tuple] = {}  # login form key → (request, relay state)
        self.sp_metadata = ""
        self._servers: dict[tuple, Server] = {}
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.http.idp = self
        self.base = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()
        self.reset()

    def reset(self) -> None:
        self.behaviour = Behaviour()
        self.seen: list[SeenRequest] = []
        self.sessions.clear()
        self.waiting.clear()

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()

    @property
    def entity_id(self) -> str:
        return f"{self.base}/metadata"

    @functools.cached_property
    def metadata(self) -> str:
        return create_metadata_string(
            None, config=self._config(self.keys, with_sp=False), sign=False
        ).decode()

    # --- pysaml2 ---

    def _config(self, keys: tuple[str, str], *, with_sp: bool = True) -> IdPConfig:
        conf = {
            "entityid": self.entity_id,
            "xmlsec_binary": "/usr/bin/xmlsec1",
            "key_file": keys[0],
            "cert_file": keys[1],
            "accepted_time_diff": 60,
            "service": {
                "idp": {
                    "endpoints": {"single_sign_on_service": [(f"{self.base}/sso", BINDING_HTTP_REDIRECT)]},
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": self.behaviour.lifetime_minutes},
                            "attribute_restrictions": None,
                            "name_form": NAME_FORMAT_URI,
                        }
                    },
                    "want_authn_requests_signed": True,
                    "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                }
            },
        }
        if with_sp:
            conf["metadata"] = {"inline": [self.sp_metadata]}
        return IdPConfig().load(conf)

    def server(self, *, rogue: bool = False) -> Server:
        keys = self.rogue_keys if rogue else self.keys
        cache_key = (keys, self.sp_metadata, self.behaviour.lifetime_minutes)
        if cache_key not in self._servers:
            server = Server(config=self._config(keys))
            if self.behaviour.lifetime_minutes < 0:
                _issue_in_the_past(server.config.getattr("policy", "idp"), self.behaviour.lifetime_minutes)
            self._servers[cache_key] = server
        return self._servers[cache_key]

    # --- the protocol ---

    def receive(self, query: dict[str, str], cookie: str | None) -> tuple[str, str | None]:
        """The page the browser gets for an AuthnRequest: the login form, or the response form."""
        parsed = self.server().parse_authn_request(
            query["SAMLRequest"],
            BINDING_HTTP_REDIRECT,
            relay_state=query.get("RelayState"),
            sigalg=query.get("SigAlg"),
            signature=query.get("Signature"),
        )
        message = parsed.message
        context = message.requested_authn_context
        seen = SeenRequest(
            id=message.id,
            force_authn=str(message.force_authn).lower() == "true",
            requested_class_refs=[ref.text for ref in context.authn_context_class_ref] if context else [],
        )
        self.seen.append(seen)
        session = self.sessions.get(cookie or "")
        must_ask = seen.force_authn and self.behaviour.honour_force_authn
        if session is not None and not must_ask:
            return self.respond(message, query.get("RelayState", ""), *session), None
        key = secrets.token_urlsafe(16)
        self.waiting[key] = (message, query.get("RelayState", ""), seen)
        seen.asked_credentials = True
        return LOGIN_FORM.format(key=key), None

    def log_in(self, form: dict[str, str]) -> tuple[str, str | None]:
        message, relay_state, _ = self.waiting.pop(form["pending"])
        user = self.users.get(form.get("username", ""))
        if user is None or user.password != form.get("password"):
            return "<p>Wrong user name or password.</p>", None
        cookie = secrets.token_urlsafe(16)
        self.sessions[cookie] = (form["username"], time.time())
        return self.respond(message, relay_state, form["username"], time.time()), cookie

    def respond(self, message, relay_state: str, username: str, instant: float) -> str:
        user = self.users[username]
        behaviour = self.behaviour
        server = self.server(rogue=behaviour.rogue_key)
        destination = message.assertion_consumer_service_url
        response = server.create_authn_response(
            identity=user.attributes,
            in_response_to=message.id,
            destination=destination,
            sp_entity_id=message.issuer.text,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=user.subject),
            authn={"class_ref": behaviour.class_ref, "authn_instant": int(instant)},
            sign_assertion=behaviour.sign_assertion,
            sign_response=not behaviour.sign_assertion,  # the unsigned assertion comes in a signed response
        )
        http_args = server.apply_binding(
            BINDING_HTTP_POST, str(response), destination, relay_state, response=True
        )
        return http_args["data"]

    def backdate_sessions(self, seconds: float) -> None:
        for cookie, (username, authenticated) in list(self.sessions.items()):
            self.sessions[cookie] = (username, authenticated - seconds)


def _issue_in_the_past(policy, lifetime_minutes: int) -> None:
    """An expired assertion as a real IdP would have issued it: valid from an hour ago until
    ``lifetime_minutes`` (negative) from now (pysaml2 always starts the validity now)."""
    conditions = policy.conditions

    def earlier(sp_entity_id):
        made = conditions(sp_entity_id)
        made.not_before = instant(time_stamp=int(time.time()) - 3600)
        return made

    policy.conditions = earlier


LOGIN_FORM = """<!doctype html><title>Test IdP</title>
<form method="post" action="/login"><input type="hidden" name="pending" value="{key}">
<input name="username"><input name="password" type="password"><button>Sign in</button></form>"""


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:
        idp: TestIdp = self.server.idp
        parts = urlsplit(self.path)
        if parts.path == "/metadata":
            return self._send(idp.metadata, "application/samlmetadata+xml")
        if parts.path == "/sso":
            query = {key: values[0] for key, values in parse_qs(parts.query).items()}
            return self._send(*self._page(idp.receive, query, self._cookie()))
        self._send("not found", status=404)

    def do_POST(self) -> None:
        idp: TestIdp = self.server.idp
        length = int(self.headers.get("Content-Length") or 0)
        form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
        if self.path == "/login":
            return self._send(*self._page(idp.log_in, form))
        self._send("not found", status=404)

    def _page(self, handler, *args):
        try:
            body, cookie = handler(*args)
        except Exception as exc:  # the IdP refuses (e.g. an unsigned AuthnRequest): the test sees why
            return f"IdP error: {type(exc).__name__}: {html.escape(str(exc))}", "text/plain", 400, None
        return body, "text/html", 200, cookie

    def _cookie(self) -> str | None:
        match = re.search(r"idp_session=([\w-]+)", self.headers.get("Cookie", ""))
        return match.group(1) if match else None

    def _send(
        self, body: str, content_type: str = "text/plain", status: int = 200, cookie: str | None = None
    ):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if cookie:
            self.send_header("Set-Cookie", f"idp_session={cookie}; Path=/")
        self.end_headers()
        self.wfile.write(data)


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of an HTML form (pysaml2's POST binding page), and its action as ``action``."""
    fields = {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page)
    }
    action = re.search(r'<form[^>]*action="([^"]+)"', page)
    if action:
        fields["action"] = html.unescape(action.group(1))
    return fields
