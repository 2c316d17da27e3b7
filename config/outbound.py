"""The one way Attest makes an HTTP request to a URL an administrator typed: webhooks and GRC connectors.

A URL is only a name: ``http://2130706433/``, ``http://0x7f.1/``, ``http://[::ffff:127.0.0.1]/`` and a DNS
name whose record says ``10.0.0.5`` all reach this machine or its network. So the guard never judges the
text; it resolves the host (``getaddrinfo``, as the connection would) and refuses when ANY address it
resolves to is not public: loopback, private, link-local (cloud metadata), shared, multicast, unspecified,
reserved or documentation ranges, IPv4 and IPv6 alike, and IPv6 forms that carry an IPv4 address
(IPv4-mapped, NAT64, 6to4, IPv4-compatible) judged by that address. The connection is then made to the
checked addresses themselves, never by resolving the name again, so a DNS answer that changes between the
check and the connection (rebinding) cannot move it. Redirects are never followed (a 3xx is an answer like
any other), and no proxy from the environment is used (a proxy would resolve the name itself).

Administrators let private targets through (an on-premises GRC system) with ``ATTEST_OUTBOUND_ALLOW_HOSTS``:
host names (``grc.corp.example``, or ``*.corp.example`` for its subdomains), addresses and CIDR networks.

Pure module: standard library only, the allow-list passed in or read from Django settings.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

REFUSED = "refused: target address not allowed"
SCHEMES = {"http": 80, "https": 443}

# Ranges that Python's ``is_global`` (3.11) calls global but that reach no public host, or only through
# a translator that would carry the request into a private network.
NOT_PUBLIC_IPV6 = tuple(
    ipaddress.ip_network(network)
    for network in (
        "::/96",  # IPv4-compatible (deprecated) and the unspecified address
        "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215)
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class InvalidUrl(ValueError):
    """Not an http(s) URL with a host (and a valid port)."""


class Refused(Exception):
    """The target resolves to an address that is neither public nor allow-listed.

    Its text is always ``REFUSED``: which address, and what answered there, is never said.
    """

    def __init__(self) -> None:
        super().__init__(REFUSED)


# --- classification ------------------------------------------------------------------------------------


def is_public(address: IPAddress) -> bool:
    """True when ``address`` is a global unicast address (an IPv4 carried in IPv6 judged as itself)."""
    if address.version == 6:
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded)
        if any(address in network for network in NOT_PUBLIC_IPV6):
            return False
    return address.is_global and not (
        address.is_multicast or address.is_private or address.is_reserved or address.is_unspecified
    )


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _plain(address: IPAddress) -> IPAddress:
    """``::ffff:a.b.c.d`` is ``a.b.c.d`` on the wire: compare the IPv4 form with allow-list networks."""
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class AllowList:
    """Targets an administrator lets through although they are not public."""

    hosts: frozenset[str] = frozenset()
    domains: tuple[str, ...] = ()  # from ``*.corp.example``: stored as ``.corp.example``
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """Host names, ``*.`` domains, addresses and CIDR networks; ValueError names a malformed entry."""
        hosts, domains, networks = set(), [], []
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                if "/" in entry:  # meant as a network: a typo must not silently allow nothing
                    raise ValueError(f"{raw!r} is not a valid address or network") from None
            if entry.startswith("*."):
                domains.append(entry[1:])
            else:
                hosts.add(entry)
        return cls(frozenset(hosts), tuple(domains), tuple(networks))

    def allows_host(self, host: str) -> bool:
        name = host.lower().rstrip(".")
        return name in self.hosts or any(name.endswith(domain) for domain in self.domains)

    def allows_address(self, address: IPAddress) -> bool:
        plain = _plain(address)
        return any(plain.version == network.version and plain in network for network in self.networks)


def configured_allow_list() -> AllowList:
    from django.conf import settings

    return AllowList.parse(getattr(settings, "ATTEST_OUTBOUND_ALLOW_HOSTS", []))


# --- resolution ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (the checked socket addresses) and what to ask for."""

    scheme: str
    host: str
    port: int
    request_target: str
    addresses: tuple[tuple[int, tuple], ...]  # (family, sockaddr) as getaddrinfo gave them


Resolver = Callable[..., list]


def parse_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, request target) of an http(s) URL; InvalidUrl otherwise."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise InvalidUrl("not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or not parts.hostname:
        raise InvalidUrl("an http(s) URL with a host")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, parts.hostname, port or SCHEMES[scheme], target


def resolve(url: str, *, allow: AllowList | None = None, resolver: Resolver = socket.getaddrinfo) -> Target:
    """The checked target of ``url``: InvalidUrl, OSError (the name does not resolve) or Refused."""
    scheme, host, port, request_target = parse_url(url)
    allow = configured_allow_list() if allow is None else allow
    try:
        answers = resolver(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except UnicodeError:  # a name IDNA cannot encode
        raise InvalidUrl("not a valid host name") from None
    addresses = tuple(dict.fromkeys((family, sockaddr) for family, _, _, _, sockaddr in answers))
    if not addresses:
        raise OSError(f"{host} has no address")
    if not allow.allows_host(host):
        for _, sockaddr in addresses:
            address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
            if not is_public(address) and not allow.allows_address(address):
                raise Refused()
    return Target(scheme, host, port, request_target, addresses)


def check_url(url: str, *, allow: AllowList | None = None, resolver: Resolver = socket.getaddrinfo) -> None:
    """At save time: InvalidUrl or Refused. A name that does not resolve now passes (it is checked again
    at every send, when it may)."""
    with contextlib.suppress(OSError):
        resolve(url, allow=allow, resolver=resolver)


# --- the request ---------------------------------------------------------------------------------------


def post(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float, allow: AllowList | None = None
) -> int:
    """POST ``body`` to ``url`` once, connected to the checked addresses; returns the HTTP status.

    Raises InvalidUrl, Refused, OSError (resolution, connection, TLS, time-out) or http.client.HTTPException.
    """
    return send(resolve(url, allow=allow), body, headers, timeout=timeout)


def send(target: Target, body: bytes, headers: dict[str, str], *, timeout: float) -> int:
    """POST to a target ``resolve`` checked, at its checked addresses (no second lookup)."""
    connection = _connection(target, timeout)
    try:
        connection.request("POST", target.request_target, body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


@contextlib.contextmanager
def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float,
    allow: AllowList | None = None,
) -> Iterator[http.client.HTTPResponse]:
    """Any request to ``url`` (an API an administrator connected, e.g. an MLflow tracking server), made to
    the checked addresses; yields the response, whose body the caller reads (streamed) before leaving.

    Raises what ``post`` raises.
    """
    target = resolve(url, allow=allow)
    connection = _connection(target, timeout)
    try:
        connection.request(method, target.request_target, body=body, headers=headers or {})
        yield connection.getresponse()
    finally:
        connection.close()


def _connection(target: Target, timeout: float) -> http.client.HTTPConnection:
    if target.scheme == "https":
        return _PinnedHTTPSConnection(target, timeout)
    return _PinnedHTTPConnection(target, timeout)


def _connect(target: Target, timeout: float) -> socket.socket:
    """A TCP connection to the first checked address that answers (as socket.create_connection does)."""
    error: OSError | None = None
    for family, sockaddr in target.addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError("no address to connect to")


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to the checked addresses; the Host header still names the URL's host."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self.target = target

    def connect(self) -> None:
        self.sock = _connect(self.target, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the checked addresses; SNI and the certificate check use the URL's host name."""

    def __init__(self, target: Target, timeout: float):
        self.tls = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self.tls)
        self.target = target

    def connect(self) -> None:
        self.sock = self.tls.wrap_socket(_connect(self.target, self.timeout), server_hostname=self.host)
