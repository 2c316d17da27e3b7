"""Property: any chain verifies untouched, and any single tampering of it is detected.

Chains are random (text with quotes, controls and astral characters, nested JSON, big numbers, IPv4 and
IPv6 clients), which also proves that the SQL that rebuilds each event's bytes from its columns agrees
with RFC 8785 on everything ``record`` can write. Each chain ends with a signed checkpoint: events after
the latest checkpoint can be removed or re-hashed without trace (as in CloudTrail), so the tamperings
that need a checkpoint to be caught are aimed at events it covers.
"""

from __future__ import annotations

import json

import pytest
import rfc8785
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import context
from audit import checkpoints, record
from audit.chain import GENESIS_HASH, chain_hash
from audit.models import AuditEvent
from tests.audit.conftest import tamper, unprotected, verify

pytestmark = pytest.mark.django_db

ACTIONS = ["system.worker_ping", "model.created", "auth.login_failed", "approval.signed"]
scalars = st.none() | st.booleans() | st.integers(min_value=-(2**60), max_value=2**60) | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
events = st.fixed_dictionaries(
    {
        "action": st.sampled_from(ACTIONS),
        "before": json_values,
        "after": json_values,
        "reason": st.text(max_size=20),
        "ip": st.none() | st.ip_addresses().map(str),
        "user_agent": st.text(max_size=20),
        "request_id": st.from_regex(r"[A-Za-z0-9._:-]{0,16}", fullmatch=True),
    }
)
chains = st.lists(events, min_size=2, max_size=8)
TAMPERINGS = ["edit_column", "edit_bytes", "relink", "delete", "delete_tail", "swap", "insert", "rehash"]
COVERED_ONLY = {"delete", "delete_tail", "rehash"}  # caught through the checkpoint
HYPOTHESIS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class _Rollback(Exception):
    pass


def _isolated(work) -> None:
    """Run one example in a savepoint that is always rolled back, so seq starts at 1 every time."""
    try:
        with transaction.atomic():
            work()
            raise _Rollback
    except _Rollback:
        pass


def _build(chain: list[dict]) -> int:
    for item in chain:
        ctx = context.RequestContext(
            request_id=item["request_id"],
            auth_method="token",
            client_ip=item["ip"],
            user_agent=item["user_agent"],
        )
        with context.bound(ctx), transaction.atomic():
            record(
                action=item["action"],
                actor=None,
                before=item["before"],
                after=item["after"],
                reason=item["reason"],
            )
    checkpoints.create()
    return len(chain)


def _forge_at(seq: int) -> None:
    """Shift events seq.. up by one and put a well-formed event, linked to seq - 1, in the hole."""
    tamper("UPDATE governance_auditevent SET seq = seq + 100000 WHERE seq >= %s", [seq])
    tamper("UPDATE governance_auditevent SET seq = seq - 99999 WHERE seq >= 100000")
    template = AuditEvent.objects.get(seq=seq + 1)
    previous = AuditEvent.objects.filter(seq=seq - 1).values_list("hash", flat=True).first() or GENESIS_HASH
    payload = json.loads(bytes(template.canonical))
    payload.update(seq=seq, event_id="00000000-0000-4000-8000-0000000f0a9e", reason="forged")
    canonical = rfc8785.dumps(payload)
    with unprotected(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO governance_auditevent (seq, event_id, occurred_at, actor_pk, actor_username, actor_roles,"
            " auth_method, request_id, client_ip, user_agent, action, object_type, object_id, object_repr, before,"
            " after, reason, schema_version, canonical, prev_hash, hash)"
            " SELECT %s, %s, occurred_at, actor_pk, actor_username, actor_roles, auth_method, request_id, client_ip,"
            " user_agent, action, object_type, object_id, object_repr, before, after, 'forged', schema_version,"
            " %s, %s, %s FROM governance_auditevent WHERE seq = %s",
            [seq, payload["event_id"], canonical, previous, chain_hash(previous, canonical), seq + 1],
        )


def _rehash_from(seq: int) -> None:
    previous = AuditEvent.objects.filter(seq=seq - 1).values_list("hash", flat=True).first() or GENESIS_HASH
    with unprotected(), connection.cursor() as cursor:
        for event in AuditEvent.objects.filter(seq__gte=seq).order_by("seq"):
            payload = json.loads(bytes(event.canonical))
            if event.seq == seq:
                payload["reason"] += " (rewritten)"
            canonical = rfc8785.dumps(payload)
            digest = chain_hash(previous, canonical)
            cursor.execute(
                "UPDATE governance_auditevent SET canonical = %s, reason = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                [canonical, payload["reason"], previous, digest, event.seq],
            )
            previous = digest


def _apply(kind: str, seq: int) -> None:
    if kind == "edit_column":
        tamper("UPDATE governance_auditevent SET reason = reason || 'x' WHERE seq = %s", [seq])
    elif kind == "edit_bytes":
        tamper(
            "UPDATE governance_auditevent SET canonical = canonical || '\\x20'::bytea WHERE seq = %s", [seq]
        )
    elif kind == "relink":
        tamper(
            "UPDATE governance_auditevent SET prev_hash = md5(prev_hash) || md5(hash) WHERE seq = %s", [seq]
        )
    elif kind == "delete":
        tamper("DELETE FROM governance_auditevent WHERE seq = %s", [seq])
    elif kind == "delete_tail":
        tamper("DELETE FROM governance_auditevent WHERE seq >= %s", [seq])
    elif kind == "swap":
        tamper("UPDATE governance_auditevent SET seq = -1 WHERE seq = %s", [seq])
        tamper("UPDATE governance_auditevent SET seq = %s WHERE seq = %s", [seq, seq + 1])
        tamper("UPDATE governance_auditevent SET seq = %s WHERE seq = -1", [seq + 1])
    elif kind == "insert":
        _forge_at(seq)
    elif kind == "rehash":
        _rehash_from(seq)


@HYPOTHESIS
@given(chain=chains)
def test_it_never_flags_an_untouched_chain(signing_key, chain):
    def work():
        _build(chain)
        report = verify()
        assert report.intact, report.problems

    _isolated(work)


@HYPOTHESIS
@given(chain=chains, kind=st.sampled_from(TAMPERINGS), data=st.data())
def test_it_always_detects_one_tampering(signing_key, chain, kind, data):
    def work():
        covered = _build(chain)  # events 1..covered are signed; covered + 1 announces the checkpoint
        total = covered + 1
        last = covered if kind in COVERED_ONLY else (total - 1 if kind == "swap" else total)
        seq = data.draw(st.integers(min_value=1, max_value=last), label="seq")
        _apply(kind, seq)
        report = verify()
        assert not report.intact, f"{kind} at seq {seq} went unnoticed"
        assert report.first_bad_seq is not None
        assert report.first_bad_seq <= max(seq, covered)

    _isolated(work)
