"""Golden vectors: fixed payloads give fixed canonical bytes, hashes and checkpoint signatures.

If one of these fails, the byte format changed and every existing chain would stop verifying: bump
SCHEMA_VERSION and keep the old rule for old rows instead (docs/AUDIT.md describes the format).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.chain import (
    DOMAIN_TAG,
    GENESIS_HASH,
    canonical_bytes,
    chain_hash,
    checkpoint_payload,
    event_payload,
    jsonable,
)

FIRST = event_payload(
    seq=1,
    event_id="00000000-0000-4000-8000-000000000001",
    occurred_at="2026-01-02T03:04:05.123456Z",
    actor=None,
    auth_method="system",
    request_id="",
    client_ip=None,
    user_agent="",
    action="system.worker_ping",
    obj=None,
    before=None,
    after=None,
    reason="",
)
FIRST_BYTES = (
    b'{"action":"system.worker_ping","actor":null,"after":null,"auth_method":"system","before":null,'
    b'"client_ip":null,"event_id":"00000000-0000-4000-8000-000000000001","object":null,'
    b'"occurred_at":"2026-01-02T03:04:05.123456Z","reason":"","request_id":"","schema":1,"seq":1,'
    b'"user_agent":""}'
)
FIRST_HASH = "f1a1cebfa5c330a92b0fad3804df5947432643810fc7b067e6e57b1c4530cf73"

SECOND = event_payload(
    seq=2,
    event_id="00000000-0000-4000-8000-000000000002",
    occurred_at="2026-01-02T03:04:06.000001Z",
    actor={"id": 7, "username": "maya", "roles": ["ml-engineer"]},
    auth_method="session",
    request_id="req-42",
    client_ip="2001:db8::1",
    user_agent="Mozilla/5.0",
    action="model.created",
    obj={"type": "registry.registeredmodel", "id": "12", "repr": "credit-scorecard"},
    before=jsonable({"tier": 2}),
    after=jsonable(
        {
            "tier": 1,
            "ratio": 0.1,
            "limit": Decimal("1.50"),
            "name": 'Zürich "q"\n\t€𝄞\x00',
            "big": 2**60,
            "tags": ["b", "a"],
        }
    ),
    reason="re-tiered after review",
)
SECOND_BYTES = (
    b'{"action":"model.created","actor":{"id":7,"roles":["ml-engineer"],"username":"maya"},'
    b'"after":{"big":"1152921504606846976","limit":"1.50",'
    b'"name":"Z\xc3\xbcrich \\"q\\"\\n\\t\xe2\x82\xac\xf0\x9d\x84\x9e\xef\xbf\xbd","ratio":"0.1",'
    b'"tags":["b","a"],"tier":1},"auth_method":"session","before":{"tier":2},"client_ip":"2001:db8::1",'
    b'"event_id":"00000000-0000-4000-8000-000000000002",'
    b'"object":{"id":"12","repr":"credit-scorecard","type":"registry.registeredmodel"},'
    b'"occurred_at":"2026-01-02T03:04:06.000001Z","reason":"re-tiered after review","request_id":"req-42",'
    b'"schema":1,"seq":2,"user_agent":"Mozilla/5.0"}'
)
SECOND_HASH = "edca8dcba898e6579feabb4ab0d9fb29b7549d23a7622dbadeaac20dcaf0b4fd"

CHECKPOINT_BYTES = (
    b'{"chain_head":"edca8dcba898e6579feabb4ab0d9fb29b7549d23a7622dbadeaac20dcaf0b4fd",'
    b'"created_at":"2026-01-02T04:00:00.000000Z",'
    b'"key_id":"abababababababababababababababababababababababababababababababab","last_seq":2,"number":1,'
    b'"previous_signature":"","type":"attest.audit.checkpoint.v1"}'
)
CHECKPOINT_SIGNATURE = (
    "c97e282fb84210074a0dc72a45ef4378ecf82ff85fa27655b65873c4e8ea104e"
    "fd4b6009c722851829162da1089be9cbd74ad50c576c52bbf2651b81ff15650f"
)


def test_it_serialises_a_minimal_event_to_fixed_bytes():
    assert canonical_bytes(FIRST) == FIRST_BYTES


def test_it_hashes_the_first_event_from_the_genesis_hash():
    assert chain_hash(GENESIS_HASH, FIRST_BYTES) == FIRST_HASH


def test_it_computes_the_hash_exactly_as_documented():
    digest = hashlib.sha256(DOMAIN_TAG + bytes(32) + hashlib.sha256(FIRST_BYTES).digest()).hexdigest()
    assert digest == FIRST_HASH
    assert DOMAIN_TAG == b"attest.audit.v1\x00"


def test_it_serialises_numbers_text_and_nesting_without_floats():
    assert canonical_bytes(SECOND) == SECOND_BYTES


def test_it_links_the_second_event_to_the_first():
    assert chain_hash(FIRST_HASH, SECOND_BYTES) == SECOND_HASH


def test_it_signs_a_checkpoint_deterministically():
    payload = checkpoint_payload(
        number=1,
        created_at="2026-01-02T04:00:00.000000Z",
        last_seq=2,
        chain_head=SECOND_HASH,
        previous_signature="",
        key_id="ab" * 32,
    )
    assert canonical_bytes(payload) == CHECKPOINT_BYTES
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    assert key.sign(CHECKPOINT_BYTES).hex() == CHECKPOINT_SIGNATURE
