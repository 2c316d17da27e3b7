"""Sending a batch to a SIEM, and knowing that it arrived.

HTTP (OTLP, HEC): the batch arrived when the collector answered 2xx (``config.outbound.post``: the host
checked against the outbound allow-list, connected to the checked addresses, no redirects, no proxy).

Syslog over TCP or TLS has no acknowledgement (RFC 6587), and a completed ``sendall`` only means the
bytes reached our kernel: a receiver that closed its end loses them silently. So each batch is one
connection, closed in order: send the frames, half-close (``SHUT_WR``), read until the receiver closes
its side too (it reads to our end of stream first), then wait for the TCP stack to report every byte
acknowledged and no reset. A receiver that dies, resets or closes early fails the batch, and the forwarder
sends it again. What remains is a receiver that acknowledged and read the bytes but lost them itself.
"""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import ssl
import struct
import termios
import time

from config import outbound

TIMEOUT = 10.0
_DRAIN_CHUNK = 4096


class SendFailed(Exception):
    """The batch is not known to have arrived; its text is safe to show an administrator."""


# --- HTTP ---------------------------------------------------------------------------------------------


def http_post(url: str, body: bytes, headers: dict[str, str]) -> None:
    try:
        status = outbound.post(url, body, headers, timeout=TIMEOUT)
    except outbound.Refused:
        raise SendFailed(outbound.REFUSED) from None
    except (OSError, outbound.InvalidUrl, ValueError) as exc:
        raise SendFailed(f"connection failed: {exc}") from None
    except Exception as exc:  # http.client.HTTPException and its kin: a malformed answer
        raise SendFailed(f"bad HTTP answer: {type(exc).__name__}") from None
    if not 200 <= status < 300:
        raise SendFailed(f"HTTP {status}")


# --- syslog over TCP and TLS ----------------------------------------------------------------------------


def check_host(host: str, port: int) -> outbound.Target:
    """The receiver's checked addresses (InvalidUrl, Refused or OSError, as for an administrator's URL)."""
    literal = f"[{host}]" if _is_ipv6(host) else host
    return outbound.resolve(f"http://{literal}:{port}/")


def tls_context(ca_bundle: str) -> ssl.SSLContext:
    """Verifies the receiver's certificate and host name, against ``ca_bundle`` (PEM) or the system CAs."""
    context = ssl.create_default_context(cadata=ca_bundle or None)
    if not ca_bundle:
        context.load_default_certs()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def syslog_send(host: str, port: int, frames: list[bytes], *, tls: ssl.SSLContext | None = None) -> None:
    """Send ``frames`` on one connection and return only once the receiver has taken all of them."""
    try:
        target = check_host(host, port)
    except outbound.Refused:
        raise SendFailed(outbound.REFUSED) from None
    except (OSError, outbound.InvalidUrl) as exc:
        raise SendFailed(f"cannot resolve {host}: {exc}") from None
    sock = None
    try:
        sock = _connect(target)
        if tls is not None:
            sock = tls.wrap_socket(sock, server_hostname=host)
        sock.sendall(b"".join(frames))
        _close_in_order(sock)
    except ssl.SSLCertVerificationError as exc:
        raise SendFailed(f"TLS certificate refused: {exc.verify_message}") from None
    except OSError as exc:  # includes ssl.SSLError and time-outs
        raise SendFailed(f"connection failed: {exc}") from None
    finally:
        if sock is not None:
            sock.close()


def _connect(target: outbound.Target) -> socket.socket:
    error: OSError | None = None
    for family, sockaddr in target.addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(TIMEOUT)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError("no address to connect to")


def _close_in_order(sock: socket.socket) -> None:
    """Half-close, read to the receiver's end of stream, then require every byte acknowledged, no reset."""
    # On a TLS socket this drops TLS and half-closes the TCP connection (no close_notify: most syslog
    # receivers just close, and the TCP checks below are what count); what follows is read raw.
    sock.shutdown(socket.SHUT_WR)
    while sock.recv(_DRAIN_CHUNK):
        pass  # a receiver has nothing to say; whatever it sends is read and dropped
    deadline = time.monotonic() + TIMEOUT
    while _unacknowledged(sock) and time.monotonic() < deadline:
        time.sleep(0.001)
    error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if error:
        raise OSError(error, f"the receiver reset the connection ({error})")
    if _unacknowledged(sock):
        raise OSError("the receiver did not acknowledge every byte")


def _unacknowledged(sock: socket.socket) -> int:
    """Bytes sent but not yet acknowledged by the peer (Linux SIOCOUTQ); 0 where it cannot be asked."""
    try:
        return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
    except OSError:
        return 0


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False
