"""The SAML service provider's RSA key and self-signed certificate: it signs Attest's AuthnRequests, and the
IdP finds its certificate in the SP metadata. Files, never the database (as the audit signing key).

``ATTEST_SAML_SP_KEY`` / ``ATTEST_SAML_SP_CERT`` name them (default ``var/keys/saml-sp.{key,crt}``); both are
written together at first use when both are absent. An operator may put their own pair there instead.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings

CERT_DAYS = 10 * 365  # SAML metadata pins the certificate itself; its validity dates are not checked


class SpKeyError(RuntimeError):
    """The SP key pair is half there or unreadable; the message says which file."""


def sp_key_pair() -> tuple[Path, Path]:
    """(key path, certificate path), generated once (under a lock: several server processes start at once)."""
    key_path, cert_path = Path(settings.ATTEST_SAML_SP_KEY), Path(settings.ATTEST_SAML_SP_CERT)
    if key_path.exists() and cert_path.exists():
        return key_path, cert_path
    key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(key_path.parent / ".saml-sp.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if key_path.exists() != cert_path.exists():
            present, absent = (key_path, cert_path) if key_path.exists() else (cert_path, key_path)
            raise SpKeyError(f"SAML SP key pair incomplete: {present} exists but {absent} does not")
        if not key_path.exists():
            _generate(key_path, cert_path)
    return key_path, cert_path


def _generate(key_path: Path, cert_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Attest SAML service provider")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
