"""Each way of tampering with the log is detected, at the right seq and for the right reason.

GIVEN a chain of 31 events with checkpoints signed at seq 20 and 30 and exported,
WHEN someone with superuser rights gets past the triggers and alters it,
THEN the verifier reports the first bad seq and why.
"""

from __future__ import annotations

import json

import pytest
import rfc8785
from django.db import connection, transaction
from django.test import override_settings

from audit import checkpoints, keys
from audit.chain import GENESIS_HASH, chain_hash
from audit.models import AuditEvent
from tests.audit.conftest import codes_at, tamper, unprotected, verify, write_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(signing_key):
    """Events 1..31: checkpoint 1 signs seq 20 (announced at 21), checkpoint 2 signs seq 30 (at 31)."""
    write_events(20)
    checkpoints.create()
    write_events(9)
    checkpoints.create()
    checkpoints.export_pending()
    report = verify(export=checkpoints.export_dir())
    assert report.intact, report.problems
    assert (report.last_seq, report.checkpoints_checked, report.exported_checkpoints_checked) == (31, 2, 2)
    return signing_key


def rehash_from(seq: int, change=lambda payload: None) -> None:
    """Rewrite event ``seq`` with ``change`` and re-chain every event after it, columns kept consistent."""
    previous = AuditEvent.objects.filter(seq=seq - 1).values_list("hash", flat=True).first() or GENESIS_HASH
    with unprotected(), connection.cursor() as cursor:
        for event in AuditEvent.objects.filter(seq__gte=seq).order_by("seq"):
            payload = json.loads(bytes(event.canonical))
            if event.seq == seq:
                change(payload)
            canonical = rfc8785.dumps(payload)
            digest = chain_hash(previous, canonical)
            cursor.execute(
                "UPDATE governance_auditevent SET canonical = %s, after = %s::json, reason = %s,"
                " prev_hash = %s, hash = %s WHERE seq = %s",
                [
                    canonical,
                    rfc8785.dumps(payload["after"]).decode(),
                    payload["reason"],
                    previous,
                    digest,
                    event.seq,
                ],
            )
            previous = digest


def test_it_detects_one_column_changed(chain):
    tamper("UPDATE governance_auditevent SET reason = 'nothing happened' WHERE seq = 7")
    report = verify()
    assert report.first_bad_seq == 7
    assert codes_at(report, 7) == {"columns_disagree"}
    assert "reason" in report.first_problem.message


def test_it_detects_one_field_changed_in_the_hashed_bytes_and_its_column(chain):
    tamper(
        "UPDATE governance_auditevent SET after = '{\"index\":99}'::json,"
        " canonical = convert_to(replace(convert_from(canonical, 'UTF8'), '\"index\":6', '\"index\":99'), 'UTF8')"
        " WHERE seq = 7"
    )
    report = verify()
    assert report.first_bad_seq == 7
    assert codes_at(report, 7) == {"hash_mismatch"}
    assert len(report.problems) == 1  # one altered event does not cascade down the chain


def test_it_detects_a_forged_actor_link(chain, maya):
    tamper("UPDATE governance_auditevent SET actor_id = %s WHERE seq = 3", [maya.pk])
    report = verify()
    assert codes_at(report, 3) == {"columns_disagree"}
    assert "actor_id" in report.first_problem.message


def test_it_catches_a_rehashed_chain_with_the_next_checkpoint(chain):
    rehash_from(12, lambda payload: payload["after"].update(index=1000))
    report = verify()
    assert report.first_bad_seq == 20
    assert codes_at(report, 20) == {"checkpoint_mismatch"}
    assert "between seq 1 and 20" in report.first_problem.message


def test_it_catches_a_rehashed_chain_after_the_first_checkpoint_with_the_second(chain):
    rehash_from(25, lambda payload: payload.update(reason="hidden"))
    report = verify()
    assert report.first_bad_seq == 30
    assert codes_at(report, 30) == {"checkpoint_mismatch"}
    assert "between seq 21 and 30" in report.first_problem.message


def test_it_detects_a_deleted_event_as_a_gap(chain):
    tamper("DELETE FROM governance_auditevent WHERE seq = 9")
    report = verify()
    assert report.first_bad_seq == 9
    assert codes_at(report, 9) == {"gap"}
    assert codes_at(report, 10) == set()  # the link across the gap is explained by the gap


def test_it_detects_a_deleted_tail_with_the_latest_checkpoint(chain):
    tamper("DELETE FROM governance_auditevent WHERE seq >= 26")
    report = verify()
    assert report.first_bad_seq == 26
    assert codes_at(report, 26) == {"truncated"}
    assert "checkpoint 2 covers seq 30" in report.first_problem.message


def test_it_detects_two_events_swapped(chain):
    tamper("UPDATE governance_auditevent SET seq = -1 WHERE seq = 14")
    tamper("UPDATE governance_auditevent SET seq = 14 WHERE seq = 15")
    tamper("UPDATE governance_auditevent SET seq = 15 WHERE seq = -1")
    report = verify()
    assert report.first_bad_seq == 14
    assert {"broken_link", "columns_disagree"} <= codes_at(report, 14)


def test_it_detects_an_inserted_event(chain):
    tamper("UPDATE governance_auditevent SET seq = seq + 1000 WHERE seq >= 11")
    tamper("UPDATE governance_auditevent SET seq = seq - 999 WHERE seq >= 1011")
    forged = AuditEvent.objects.get(seq=10)
    payload = json.loads(bytes(forged.canonical))
    payload.update(seq=11, event_id="00000000-0000-4000-8000-00000000abcd", reason="forged")
    canonical = rfc8785.dumps(payload)
    with unprotected(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO governance_auditevent (seq, event_id, occurred_at, actor_pk, actor_username, actor_roles,"
            " auth_method, request_id, client_ip, user_agent, action, object_type, object_id, object_repr, before,"
            " after, reason, schema_version, canonical, prev_hash, hash)"
            " SELECT 11, %s, occurred_at, actor_pk, actor_username, actor_roles, auth_method, request_id, client_ip,"
            " user_agent, action, object_type, object_id, object_repr, before, after, 'forged', schema_version, %s,"
            " hash, %s FROM governance_auditevent WHERE seq = 10",
            [payload["event_id"], canonical, chain_hash(forged.hash, canonical)],
        )
    report = verify()
    assert report.first_bad_seq == 11
    assert "inserted" in codes_at(report, 11)


def test_it_detects_a_rewritten_table_and_checkpoints_signed_with_another_key(chain, tmp_path):
    trusted = keys.public_keys()
    rehash_from(1, lambda payload: payload.update(reason="rewritten history"))
    tamper("DELETE FROM governance_auditcheckpoint")
    with override_settings(ATTEST_AUDIT_SIGNING_KEY=tmp_path / "thief" / "key.pem"):
        keys.generate(keys.signing_key_path())
        checkpoints.create(force=True)
    report = verify(public_keys=trusted, export=checkpoints.export_dir())
    assert not report.intact
    codes = {problem.code for problem in report.problems}
    assert {"checkpoint_unknown_key", "export_mismatch", "export_missing", "checkpoint_mismatch"} <= codes
    assert report.first_bad_seq == 20  # the first exported head the rewritten chain no longer passes


def test_it_detects_a_rewrite_re_signed_with_the_stolen_key_through_the_export(chain):
    rehash_from(1, lambda payload: payload.update(reason="rewritten history"))
    tamper("DELETE FROM governance_auditcheckpoint")
    checkpoints.create(force=True)
    database_only = verify()
    assert database_only.intact  # with the key stolen, the database alone looks consistent …
    report = verify(export=checkpoints.export_dir())
    assert not report.intact  # … but the exported checkpoints do not
    assert report.first_bad_seq == 20
    assert "checkpoint_mismatch" in codes_at(report, 20)
    assert {problem.code for problem in report.problems} >= {"export_mismatch", "export_missing"}


def test_it_detects_a_forged_checkpoint_signature(chain):
    tamper("UPDATE governance_auditcheckpoint SET signature = repeat('0', 128) WHERE number = 1")
    report = verify()
    assert {problem.code for problem in report.problems} >= {"checkpoint_signature", "checkpoint_sequence"}


def test_it_verifies_from_a_seq_anchored_on_a_checkpoint(chain):
    report = verify(from_seq=21)
    assert report.intact
    assert (report.first_seq, report.events_checked) == (21, 11)
    tamper("UPDATE governance_auditevent SET prev_hash = repeat('a', 64) WHERE seq = 21")
    assert codes_at(verify(from_seq=21), 21) >= {"broken_link"}


def test_it_detects_a_column_rewritten_into_the_escaped_form_of_its_value(chain, credit_risk):
    """A spliced column holding \\" must not pass for the " its hashed bytes escape."""
    from audit import record
    from tests.factories import UserFactory

    odd = UserFactory(username='o"brien', role="auditor")
    with transaction.atomic():
        event = record(action="model.created", actor=odd)
    tamper("UPDATE governance_auditevent SET actor_username = %s WHERE seq = %s", ['o\\"brien', event.seq])
    report = verify()
    assert codes_at(report, event.seq) == {"columns_disagree"}
    assert "actor" in report.first_problem.message


def test_it_cannot_be_fooled_by_a_shadowing_function(chain, credit_risk):
    """GIVEN a doctored column that only the quote guard catches, a public.strpos that always answers 0
    and a search_path that prefers it, THEN the verifier still uses PostgreSQL's own strpos."""
    from audit import record
    from tests.factories import UserFactory

    odd = UserFactory(username='o"brien', role="auditor")
    with transaction.atomic():
        event = record(action="model.created", actor=odd)
    tamper("UPDATE governance_auditevent SET actor_username = %s WHERE seq = %s", ['o\\"brien', event.seq])
    with connection.cursor() as cursor:
        cursor.execute("CREATE FUNCTION public.strpos(text, text) RETURNS integer LANGUAGE sql AS 'SELECT 0'")
        cursor.execute("SET LOCAL search_path = public, pg_catalog")
    assert codes_at(verify(), event.seq) == {"columns_disagree"}


def test_it_detects_a_checkpoint_column_edited_beside_its_signed_bytes(chain):
    tamper("UPDATE governance_auditcheckpoint SET last_seq = 19 WHERE number = 1")
    report = verify()
    assert {problem.code for problem in report.problems} >= {"checkpoint_payload"}
    assert not report.intact
