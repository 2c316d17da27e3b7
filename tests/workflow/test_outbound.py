"""config.outbound: webhooks and GRC connectors reach only public addresses, unless an administrator allows
a host; the address checked is the address connected to; a refused target leaves no trace of what is there.

Traffic goes only to listeners on 127.0.0.0/8. Private, link-local and metadata ranges are tested by the
pure classification, by getaddrinfo on literal addresses (no connection), and by an injected resolver
whose answers are never connected to while they are refused.
"""

# ruff: noqa: F811  (fixtures imported from records_support are used as test arguments)

from __future__ import annotations

import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from config import outbound
from reports.services import connectors, deliveries
from tests.reports.records_support import (  # noqa: F401  (fixtures)
    finished_report,
    quick_ready_version,
    quick_version,
    tier1_model,
)
from workflow.services import notifications

REFUSED_ADDRESSES = [
    "127.0.0.1",
    "127.1.2.3",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "0.0.0.0",  # noqa: S104 (classified, never bound)
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",
    "198.18.0.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "ff0e::1",
    "fec0::1",
    "2001:db8::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::7f00:1",  # IPv4-compatible
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::1",  # local-use NAT64
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
]
PUBLIC_ADDRESSES = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]

LITERAL_LOCAL_URLS = [
    "http://127.0.0.1:8080/hook",
    "http://127.1/",
    "http://2130706433/",  # decimal
    "http://0x7f000001/",  # hex
    "http://0177.0.0.1/",  # octal
    "http://0x7f.1/",
    "http://0/",
    "http://localhost/",
    "https://169.254.169.254/latest/meta-data/",
    "http://[::1]:8000/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[fd00::1]/",
    "http://10.0.0.1/",
    "http://[::]/",
]


def answers(*addresses: str):
    """A resolver giving ``addresses`` for any name (what a hostile DNS record could say)."""

    def resolve(host, port, **kwargs):
        result = []
        for text in addresses:
            if ipaddress.ip_address(text).version == 4:
                result.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (text, port)))
            else:
                result.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (text, port, 0, 0)))
        return result

    return resolve


NOBODY = outbound.AllowList()


# --- classification and resolution (no connection) --------------------------------------------------


@pytest.mark.parametrize("text", REFUSED_ADDRESSES)
def test_it_counts_loopback_private_link_local_multicast_and_reserved_addresses_as_not_public(text):
    assert not outbound.is_public(ipaddress.ip_address(text))


@pytest.mark.parametrize("text", PUBLIC_ADDRESSES)
def test_it_counts_global_unicast_addresses_as_public(text):
    assert outbound.is_public(ipaddress.ip_address(text))


@pytest.mark.parametrize("url", LITERAL_LOCAL_URLS)
def test_it_refuses_every_spelling_of_a_local_address(url):
    with pytest.raises(outbound.Refused) as refused:
        outbound.check_url(url, allow=NOBODY)
    assert str(refused.value) == outbound.REFUSED


def test_it_refuses_a_name_when_any_of_its_addresses_is_not_public():
    url = "https://grc.example.test/hook"
    outbound.check_url(url, allow=NOBODY, resolver=answers("8.8.8.8"))
    for hostile in (["10.0.0.7"], ["8.8.8.8", "169.254.169.254"], ["2606:4700:4700::1111", "::1"]):
        with pytest.raises(outbound.Refused):
            outbound.check_url(url, allow=NOBODY, resolver=answers(*hostile))


def test_the_allow_list_lets_named_hosts_domains_addresses_and_networks_through():
    allow = outbound.AllowList.parse(["grc.corp.example", "*.internal.example", "10.20.0.0/16", "fd00::5"])

    outbound.check_url("https://GRC.corp.example./x", allow=allow, resolver=answers("10.1.1.1"))
    outbound.check_url("https://a.b.internal.example/x", allow=allow, resolver=answers("192.168.0.9"))
    outbound.check_url("https://grc.other.example/x", allow=allow, resolver=answers("10.20.3.4"))
    outbound.check_url("https://grc.other.example/x", allow=allow, resolver=answers("::ffff:10.20.3.4"))
    outbound.check_url("https://[fd00::5]/x", allow=allow)
    for url, address in [
        ("https://internal.example/x", "10.1.1.1"),  # *.domain is its subdomains only
        ("https://grc.other.example/x", "10.21.0.1"),
        ("https://[fd00::6]/x", None),
    ]:
        resolver = answers(address) if address else socket.getaddrinfo
        with pytest.raises(outbound.Refused):
            outbound.check_url(url, allow=allow, resolver=resolver)
    with pytest.raises(outbound.Refused):  # every address must be public or allowed
        outbound.check_url("https://x.example/", allow=allow, resolver=answers("10.20.0.1", "127.0.0.1"))


def test_a_malformed_allow_list_network_is_an_error_not_an_empty_list():
    with pytest.raises(ValueError, match=r"10\.0\.0\.0/33"):
        outbound.AllowList.parse(["10.0.0.0/33"])


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "http:///x", "http://example.com:99999/", "file:///etc/passwd"]
)
def test_it_takes_only_http_urls_with_a_host(url):
    with pytest.raises(outbound.InvalidUrl):
        outbound.check_url(url, allow=NOBODY)


# --- real connections, to 127.0.0.0/8 only --------------------------------------------------------------


class Listener:
    """An HTTP server on a loopback address counting every TCP connection it accepts and every POST."""

    def __init__(self, host: str = "127.0.0.1", status: int = 204, port: int = 0, tls=None):
        listener = self
        self.connections = 0
        self.requests: list[dict] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                listener.requests.append({"path": self.path, "host": self.headers["host"], "body": body})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            def verify_request(self, request, client_address):
                listener.connections += 1
                return True

        self.server = Server((host, port), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Listener:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_the_connection_goes_to_the_checked_address_not_to_a_second_lookup():
    """A name that answers 127.0.0.1 (allowed) at the check and 127.0.0.2 afterwards (a rebinding) is
    connected to at 127.0.0.1, with the name in the Host header."""
    calls = []

    def rebinding(host, port, **kwargs):
        calls.append(host)
        return answers("127.0.0.1" if len(calls) == 1 else "127.0.0.2")(host, port)

    allow = outbound.AllowList.parse(["127.0.0.1"])
    with Listener("127.0.0.1") as checked, Listener("127.0.0.2", port=checked.port) as rebound:
        url = f"http://rebind.example.test:{checked.port}/hook"
        target = outbound.resolve(url, allow=allow, resolver=rebinding)
        status = outbound.send(target, b"{}", {"content-type": "application/json"}, timeout=10)
    assert status == 204
    assert calls == ["rebind.example.test"]
    assert [request["host"] for request in checked.requests] == [f"rebind.example.test:{checked.port}"]
    assert rebound.connections == 0


@pytest.mark.django_db
def test_a_webhook_to_a_local_listener_is_refused_unless_the_address_is_allow_listed(
    api, admin_user, settings
):
    """GIVEN a listener on 127.0.0.1
    WHEN an administrator saves a webhook to it, or one saved earlier sends a test event, with no allow-list
    THEN the URL is refused with 400 on ``url``, the send logs only "refused: target address not allowed"
    and the listener gets no connection; with 127.0.0.1 allow-listed the event is delivered."""
    settings.ATTEST_OUTBOUND_ALLOW_HOSTS = []
    with Listener() as listener:
        response = api.as_user(admin_user).post(
            reverse("api:webhook-list"), {"url": listener.url(), "events": []}, format="json"
        )
        assert response.status_code == 400
        assert list(response.json()["error"]["fields"]) == ["url"]

        settings.ATTEST_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
        endpoint = notifications.webhook_create(actor=admin_user, url=listener.url(), events=[])
        settings.ATTEST_OUTBOUND_ALLOW_HOSTS = []  # the allow-list changed (or the DNS answer did)
        refused = notifications.webhook_send_test(actor=admin_user, endpoint=endpoint)
        assert listener.connections == 0

        settings.ATTEST_OUTBOUND_ALLOW_HOSTS = ["127.0.0.0/8"]
        delivered = notifications.webhook_send_test(actor=admin_user, endpoint=endpoint)
    assert (refused.status, refused.last_status_code, refused.last_error) == (
        "failed",
        None,
        outbound.REFUSED,
    )
    tested = AuditEvent.objects.filter(action="webhook.tested").order_by("seq").first()
    assert tested.after["status_code"] is None
    assert delivered.status == "delivered"
    assert (listener.connections, len(listener.requests)) == (1, 1)


@pytest.mark.django_db
def test_a_grc_connector_to_a_local_listener_is_refused_unless_allow_listed(
    api, admin_user, maya, quick_ready_version, settings
):
    """The same for GRC connectors: 400 at save time, and at send time (test event and delivery) the
    log says only "refused: target address not allowed"; allow-listed, the push is delivered."""
    settings.ATTEST_OUTBOUND_ALLOW_HOSTS = []
    report = finished_report(quick_ready_version, user=maya)
    connectors_url = reverse("api:grc-connector-list")
    with Listener(status=201) as listener:
        body = {"name": "archer", "kind": "webhook", "url": listener.url()}
        response = api.as_user(admin_user).post(connectors_url, body, format="json")
        assert response.status_code == 400
        assert list(response.json()["error"]["fields"]) == ["url"]

        settings.ATTEST_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
        connector = connectors.connector_create(
            actor=admin_user, name="archer", kind="webhook", url=listener.url(), events=[]
        )
        settings.ATTEST_OUTBOUND_ALLOW_HOSTS = []
        test = connectors.connector_send_test(actor=admin_user, connector=connector)
        delivery = deliveries.delivery_request(actor=admin_user, connector=connector, report=report)
        delivery = deliveries.deliver(delivery_id=delivery.pk)
        assert listener.connections == 0

        settings.ATTEST_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
        delivered = deliveries.delivery_request(actor=admin_user, connector=connector, report=report)
        delivered = deliveries.deliver(delivery_id=delivered.pk)
    assert (test.status_code, test.error) == (None, outbound.REFUSED)
    [entry] = delivery.log
    assert (entry["status_code"], entry["error"]) == (None, outbound.REFUSED)
    assert delivered.status == "delivered"
    assert (listener.connections, len(listener.requests)) == (1, 1)


def certificate_chain(folder, name: str):
    """A CA (its PEM path) and a certificate + key for ``name`` signed by it (their PEM paths)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def build(subject, issuer, public_key, signing_key, *, ca: bool, san: str | None = None):
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
        return builder.sign(signing_key, hashes.SHA256())

    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = build("Attest test CA", "Attest test CA", ca_key.public_key(), ca_key, ca=True)
    leaf = build(name, "Attest test CA", leaf_key.public_key(), ca_key, ca=False, san=name)
    paths = {"ca": folder / "ca.pem", "cert": folder / "cert.pem", "key": folder / "key.pem"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


def test_https_to_the_checked_address_verifies_the_certificate_for_the_urls_host_name(tmp_path, monkeypatch):
    """The TLS handshake names the URL's host (SNI and certificate check), not the pinned address: a
    certificate for grc.example.test served at 127.0.0.1 verifies, one for another name does not."""
    import ssl

    allow = outbound.AllowList.parse(["127.0.0.1"])
    for served_name, verifies in [("grc.example.test", True), ("other.example.test", False)]:
        folder = tmp_path / served_name
        folder.mkdir()
        paths = certificate_chain(folder, served_name)
        monkeypatch.setenv("SSL_CERT_FILE", str(paths["ca"]))
        server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_tls.load_cert_chain(paths["cert"], paths["key"])
        with Listener(tls=server_tls) as listener:
            url = f"https://grc.example.test:{listener.port}/hook"
            target = outbound.resolve(url, allow=allow, resolver=answers("127.0.0.1"))
            if verifies:
                assert outbound.send(target, b"{}", {}, timeout=10) == 204
                assert [request["host"] for request in listener.requests] == [
                    f"grc.example.test:{listener.port}"
                ]
            else:
                with pytest.raises(ssl.SSLCertVerificationError):
                    outbound.send(target, b"{}", {}, timeout=10)
                assert listener.requests == []
