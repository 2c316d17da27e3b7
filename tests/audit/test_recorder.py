"""``record``: one gapless, hash-chained, append-only write path."""

from __future__ import annotations

import pytest
from django.db import transaction

from accounts import context
from audit import record
from audit.chain import GENESIS_HASH, chain_hash
from audit.models import AuditEvent
from audit.recorder import AuditError
from tests.audit.conftest import verify, write_events

pytestmark = pytest.mark.django_db


def test_it_chains_each_event_to_the_previous_one():
    first, second = write_events(2)
    assert second.seq == first.seq + 1
    assert second.prev_hash == first.hash
    assert second.hash == chain_hash(first.hash, bytes(second.canonical))


def test_it_starts_the_chain_at_the_genesis_hash():
    (event,) = write_events(1)
    assert event.seq == 1
    assert event.prev_hash == GENESIS_HASH


def test_it_leaves_neither_a_row_nor_a_gap_when_the_transaction_rolls_back():
    (before,) = write_events(1)
    with pytest.raises(RuntimeError):
        _record_then_fail()
    assert AuditEvent.objects.count() == 1
    (after,) = write_events(1)
    assert after.seq == before.seq + 1
    assert verify().intact


def _record_then_fail() -> None:
    with transaction.atomic():
        record(action="system.worker_ping", actor=None)
        raise RuntimeError("the change failed")


def test_it_snapshots_the_actor_and_the_request_context(maya, web_context):
    with transaction.atomic():
        event = record(action="model.created", actor=maya, obj=maya, after={"name": "scorecard"})
    event.refresh_from_db()
    assert (event.actor_id, event.actor_pk, event.actor_username) == (maya.pk, maya.pk, "maya")
    assert event.actor_roles == ["ml-engineer"]
    assert (event.auth_method, event.request_id, event.client_ip) == ("session", "req-test-1", "10.1.2.3")
    assert event.user_agent == "pytest/1.0"
    assert (event.object_type, event.object_id, event.object_repr) == (
        "governance.user",
        str(maya.pk),
        "maya",
    )
    assert verify().intact


def test_it_refuses_an_action_outside_the_catalogue():
    with pytest.raises(AuditError, match="unknown audit action"), transaction.atomic():
        record(action="model.exploded", actor=None)


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_write_outside_a_transaction():
    with pytest.raises(AuditError, match="inside the transaction"):
        record(action="system.worker_ping", actor=None)


def test_it_stores_hostile_text_and_numbers_that_canonical_json_refuses():
    with transaction.atomic():
        event = record(
            action="auth.login_failed",
            actor=None,
            after={"username": "ad\x00min\ud800", "huge": 2**70, "ratio": 0.5},
            reason='tab\there "quoted" \\ back \u2028 \x1f',
        )
    event.refresh_from_db()
    assert event.after == {"username": "ad\ufffdmin\ufffd", "huge": str(2**70), "ratio": "0.5"}
    assert verify().intact


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("10.0.0.1", "10.0.0.1"),
        ("2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1"),
        ("::10.0.0.1", "::10.0.0.1"),
        ("not-an-ip", None),
    ],
)
def test_it_spells_client_addresses_as_postgresql_does(raw, stored):
    with context.bound(context.RequestContext(client_ip=raw)), transaction.atomic():
        event = record(action="system.worker_ping", actor=None)
    event.refresh_from_db()
    assert event.client_ip == stored
    assert verify().intact


def test_it_keeps_the_chain_valid_when_the_actor_is_deleted(maya):
    (event,) = write_events(1, actor=maya)
    maya.delete()
    event.refresh_from_db()
    assert event.actor_id is None
    assert event.actor_username == "maya"
    assert verify().intact


def test_it_verifies_values_that_need_escaping_in_every_column(credit_risk):
    """Usernames, request ids and object ids are normally plain; odd ones take the verifier's slow path."""
    from tests.factories import UserFactory

    odd = UserFactory(username='o"brien\\x', role="auditor")
    ctx = context.RequestContext(request_id='req"\\1', auth_method="session", user_agent='ua "quoted"\n')
    with context.bound(ctx), transaction.atomic():
        record(action="model.created", actor=odd, obj=odd, reason='line one\nline "two"')
    assert verify().intact


def test_it_reads_back_json_string_values_unchanged():
    """A before/after that is itself a JSON string (even one that looks like a number) comes back as
    the same Python string, not decoded a second time."""
    with transaction.atomic():
        record(action="system.worker_ping", actor=None, before="", after="123")
    event = AuditEvent.objects.get()
    assert event.before == ""
    assert event.after == "123"
