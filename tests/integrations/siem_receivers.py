"""Local SIEM receivers for the tests and the benchmark: syslog over TCP and TLS (RFC 6587 octet counting)
and an HTTP collector for OTLP /v1/logs and Splunk HEC. Threads in this process, on 127.0.0.1.

Each keeps what it received as the lines a SIEM would store (``lines``) and can write them to a file for
the receiver-side verifier.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class SyslogReceiver:
    """RFC 6587 octet-counting syslog over TCP (or TLS with ``tls``). ``drop_after(n)`` makes the connection
    that takes the ``n``-th message from now close abruptly after it, as a receiver that crashes mid-stream."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.tls = tls
        self.lines: list[str] = []
        self.arrivals: list[float] = []  # time.time() of each message, for the benchmark's lag
        self.connections = 0
        self._drop_at: int | None = None
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def drop_after(self, count: int | None) -> None:
        self._drop_at = None if count is None else len(self.lines) + count

    def stop(self) -> None:
        self._stopping = True
        self._server.close()

    def write(self, path: Path) -> Path:
        path.write_text("".join(line + "\n" for line in self.lines), encoding="utf-8")
        return path

    def _accept(self) -> None:
        while not self._stopping:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with self._lock:
            self.connections += 1
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            reader = _ExactReader(conn)
            while True:
                message = reader.frame()
                if message is None:
                    break  # the sender's end of stream: close in order
                with self._lock:
                    self.lines.append(message.decode("utf-8"))
                    self.arrivals.append(time.time())
                    drop = self._drop_at is not None and len(self.lines) >= self._drop_at
                    if drop:
                        self._drop_at = None
                if drop:
                    # crash: whatever is unread stays unread (the kernel answers the sender with a reset)
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    break
        except (OSError, ValueError):
            pass
        finally:
            conn.close()


class _ExactReader:
    """Reads octet-counted frames taking from the socket only the bytes of whole frames it returns, so a
    receiver that stops has really not taken the rest (as a crashed syslog server has not)."""

    def __init__(self, conn: socket.socket):
        self.conn = conn

    def frame(self) -> bytes | None:
        digits = b""
        while True:
            char = self.conn.recv(1)
            if not char:
                if digits:
                    raise ValueError("stream ended inside a frame's length")
                return None
            if char == b" ":
                break
            if not char.isdigit() or len(digits) > 8:
                raise ValueError("not an octet-counted frame")
            digits += char
        length, chunks = int(digits), []
        while length:
            chunk = self.conn.recv(min(length, 65536))
            if not chunk:
                raise ValueError("stream ended inside a frame")
            chunks.append(chunk)
            length -= len(chunk)
        return b"".join(chunks)


class HttpCollector:
    """OTLP/HTTP (``POST /v1/logs``) and Splunk HEC (``POST /services/collector/event``, ``Authorization:
    Splunk <token>``). ``fail_next(n, status)`` answers the next ``n`` requests with ``status``."""

    def __init__(self, token: str = ""):
        self.token = token
        self.bodies: list[tuple[str, bytes]] = []
        self.arrivals: list[tuple[float, bytes]] = []
        self.failures: list[int] = []
        self.requests = 0
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                collector.requests += 1
                status = collector._answer(self.path, self.headers, body)
                payload = b'{"text":"Success","code":0}' if status == 200 else b"{}"
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def fail_next(self, count: int, status: int = 503) -> None:
        self.failures = [status] * count

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, path: str, headers, body: bytes) -> int:
        if self.failures:
            return self.failures.pop()
        if path == "/services/collector/event" and headers.get("authorization") != f"Splunk {self.token}":
            return 401
        if path not in ("/v1/logs", "/services/collector/event"):
            return 404
        json.loads(body.decode().split("\n", 1)[0])  # a collector parses what it stores
        self.bodies.append((path, body))
        self.arrivals.append((time.time(), body))
        return 200

    def write(self, path: Path, *, which: str) -> Path:
        lines = [body.decode() for where, body in self.bodies if where == which]
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return path


def self_signed(folder: Path, host: str = "localhost") -> tuple[ssl.SSLContext, str]:
    """A server TLS context with a fresh self-signed certificate for ``host``, and the certificate (PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(host), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    (folder / "cert.pem").write_text(pem)
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context, pem
