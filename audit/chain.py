"""The hash chain's byte format. Pure functions, no database: the recorder, the verifier and the golden
tests use them, and docs/AUDIT.md describes them for auditors who verify with their own tools.

hash_n = SHA-256( DOMAIN_TAG || bytes(prev_hash_n) || SHA-256(canonical_n) )
where canonical_n is the RFC 8785 serialisation of the event payload and prev_hash_1 is 32 zero bytes.
Changing anything here changes every hash: bump SCHEMA_VERSION and keep the old rule for old rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import uuid
from decimal import Decimal
from typing import Any

import rfc8785

SCHEMA_VERSION = 1
DOMAIN_TAG = b"attest.audit.v1\x00"
GENESIS_HASH = "0" * 64
CHECKPOINT_TYPE = "attest.audit.checkpoint.v1"
# RFC 8785 serialises numbers as IEEE doubles; integers beyond this are written as strings instead.
MAX_SAFE_INTEGER = 2**53 - 1


def jsonable(value: Any) -> Any:
    """Normalise a value for hashing and storage.

    No floats (they are written as their shortest round-trip decimal string), decimals, UUIDs and
    integers beyond ±2**53-1 as strings, datetimes as ISO 8601 UTC, sets sorted. Text is made
    storable: NUL (which PostgreSQL text cannot hold) and lone surrogates (which are not UTF-8)
    become U+FFFD, so a hostile input can never make an audited action fail.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else str(value)
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return format_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {clean_text(str(key)): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(item) for item in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    raise TypeError(f"cannot put a {type(value).__name__} into an audit event")


def clean_text(text: str) -> str:
    """``text`` as valid UTF-8 without NUL characters (each offending character becomes U+FFFD)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if 0xD800 <= ord(char) <= 0xDFFF else char for char in text)
    return text.replace("\x00", "\ufffd")


def clean_ip(raw: str | None) -> str | None:
    """An IP address in the form PostgreSQL's ``inet`` prints it back, or None when it is not one.

    Python and PostgreSQL agree on RFC 5952 text except for IPv6 with an embedded IPv4 address,
    which PostgreSQL prints with a dotted tail (``::ffff:10.0.0.1``, ``::10.0.0.1``).
    """
    if not raw:
        return None
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return None
        packed = address.packed
        if address.ipv4_mapped is not None:
            return f"::ffff:{address.ipv4_mapped}"
        if packed[:12] == bytes(12) and packed[12:14] != b"\x00\x00":
            return f"::{ipaddress.IPv4Address(packed[12:])}"
    return str(address)


def format_time(value: dt.datetime) -> str:
    """Microsecond ISO 8601 in UTC with a Z, the only time format inside hashed bytes."""
    if value.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(payload: dict[str, Any]) -> bytes:
    """RFC 8785 (JSON Canonicalization Scheme) bytes of an already-normalised payload."""
    return rfc8785.dumps(payload)


def chain_hash(prev_hash: str, canonical: bytes) -> str:
    """The event hash, hex, binding the event to everything before it."""
    digest = hashlib.sha256(DOMAIN_TAG)
    digest.update(bytes.fromhex(prev_hash))
    digest.update(hashlib.sha256(canonical).digest())
    return digest.hexdigest()


def event_payload(
    *,
    seq: int,
    event_id: str,
    occurred_at: str,
    actor: dict[str, Any] | None,
    auth_method: str,
    request_id: str,
    client_ip: str | None,
    user_agent: str,
    action: str,
    obj: dict[str, str] | None,
    before: Any,
    after: Any,
    reason: str,
    schema: int = SCHEMA_VERSION,
) -> dict[str, Any]:
    """Everything that is hashed, in one dict: the row's columns plus seq and the schema version.

    The one list of hashed keys: the recorder writes it, the verifier rebuilds it from a row's columns to
    name the ones that disagree (``schema`` is then the row's own version). ``columns._REBUILT_TEXT`` spells
    the same keys in SQL for the verifier's fast path; a row it cannot rebuild falls to the slow path here.
    """
    return {
        "schema": schema,
        "seq": seq,
        "event_id": event_id,
        "occurred_at": occurred_at,
        "actor": actor,
        "auth_method": auth_method,
        "request_id": request_id,
        "client_ip": client_ip,
        "user_agent": user_agent,
        "action": action,
        "object": obj,
        "before": before,
        "after": after,
        "reason": reason,
    }


def checkpoint_payload(
    *,
    number: int,
    created_at: str,
    last_seq: int,
    chain_head: str,
    previous_signature: str,
    key_id: str,
) -> dict[str, Any]:
    """What a checkpoint signs. ``type`` separates these bytes from anything else the key might sign."""
    return {
        "type": CHECKPOINT_TYPE,
        "number": number,
        "created_at": created_at,
        "last_seq": last_seq,
        "chain_head": chain_head,
        "previous_signature": previous_signature,
        "key_id": key_id,
    }
