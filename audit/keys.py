"""Ed25519 keys for signing checkpoints. The private key lives in a file, never in the database.

``ATTEST_AUDIT_SIGNING_KEY`` names the private key (PKCS#8 PEM). ``audit_keygen`` writes it with a
``.pub`` file beside it (SubjectPublicKeyInfo PEM); verification needs only public keys, and every
``*.pub`` in the key's folder is trusted, so a rotated-out key keeps verifying old checkpoints.
A key's id is the SHA-256 of its 32 raw public bytes, hex; checkpoints carry the id of their key.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

logger = logging.getLogger(__name__)


class SigningKeyError(RuntimeError):
    """A signing or public key is missing or unreadable; the message says what to do."""


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_path(private_path: Path) -> Path:
    return private_path.with_suffix(".pub")


def signing_key_path() -> Path:
    return Path(settings.ATTEST_AUDIT_SIGNING_KEY)


def generate(path: Path, *, replace: bool = False) -> str:
    """Write a new private key to ``path`` (mode 0600) and its public key beside it; return the key id.

    With ``replace`` an existing key pair is kept as ``<name>.<key id prefix>.pub`` (the private half
    is deleted) so checkpoints it signed still verify.
    """
    if path.exists():
        if not replace:
            raise SigningKeyError(f"{path} already exists; pass --replace to rotate to a new key")
        _retire(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    public_key = private_key.public_key()
    public_path(path).write_bytes(
        public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return key_id(public_key)


def _retire(path: Path) -> None:
    old = load_private(path).public_key()
    archive = path.with_name(f"{path.stem}.{key_id(old)[:16]}.pub")
    archive.write_bytes(
        old.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    path.unlink()
    public_path(path).unlink(missing_ok=True)


def load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise SigningKeyError(
            f"The audit signing key {path} does not exist: create it with `manage.py audit_keygen` "
            "(or point ATTEST_AUDIT_SIGNING_KEY at it)."
        ) from None
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(
            f"The audit signing key {path} is not a readable PEM private key: {exc}"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"The audit signing key {path} is not an Ed25519 key.")
    return key


def signing_key(*, create_if_missing: bool) -> tuple[Ed25519PrivateKey, bool]:
    """The configured private key, and whether it was created just now.

    ``create_if_missing`` is for development and demo mode only (`make run` on a fresh machine); in
    production a missing key is an error, because a new key would silently start a new trust root.
    """
    path = signing_key_path()
    if not path.exists() and create_if_missing:
        generate(path)
        logger.warning("created a new audit signing key at %s (development mode)", path)
        return load_private(path), True
    return load_private(path), False


def load_public(path: Path) -> Ed25519PublicKey:
    data = path.read_bytes()
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        key = load_private(path).public_key()  # a private key file also yields its public half
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path} is not an Ed25519 public key.")
    return key


def public_keys(paths: Iterable[Path] = ()) -> dict[str, Ed25519PublicKey]:
    """Public keys by id: the given files, else every ``*.pub`` beside the signing key and its own half."""
    keys: dict[str, Ed25519PublicKey] = {}
    paths = list(paths)
    if not paths:
        private = signing_key_path()
        paths = sorted(private.parent.glob("*.pub")) if private.parent.is_dir() else []
        if private.exists():
            keys.update({key_id(k): k for k in [load_private(private).public_key()]})
    for path in paths:
        try:
            key = load_public(Path(path))
        except (OSError, SigningKeyError) as exc:
            raise SigningKeyError(f"cannot read public key {path}: {exc}") from None
        keys[key_id(key)] = key
    return keys
