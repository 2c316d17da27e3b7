"""audit_keygen, audit_checkpoint and audit_verify, as an operator runs them."""

from __future__ import annotations

import json
import stat
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from audit import checkpoints, keys
from audit.models import AuditCheckpoint, AuditEvent
from tests.audit.conftest import tamper, write_events

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_it_creates_a_private_key_readable_only_by_its_owner_and_a_public_key_beside_it(audit_files):
    output = run("audit_keygen")
    path = keys.signing_key_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.public_path(path).exists()
    assert keys.key_id(keys.load_private(path).public_key()) in output
    with pytest.raises(CommandError, match="already exists"):
        run("audit_keygen")


def test_it_rotates_a_key_and_keeps_trusting_the_old_one(signing_key):
    write_events(1)
    first = checkpoints.create()
    run("audit_keygen", "--replace")
    second = checkpoints.create(force=True)
    assert first.key_id != second.key_id
    assert {first.key_id, second.key_id} <= set(keys.public_keys())
    assert "intact" in run("audit_verify")


def test_it_signs_a_checkpoint_and_exports_it(signing_key, django_capture_on_commit_callbacks):
    write_events(3)
    with django_capture_on_commit_callbacks(execute=True):
        output = run("audit_checkpoint")
    assert "Checkpoint 1: seq 3" in output
    lines = (checkpoints.export_dir() / checkpoints.EXPORT_FILE).read_text().splitlines()
    exported = json.loads(lines[0])
    stored = AuditCheckpoint.objects.get()
    assert exported["signature"] == stored.signature
    assert checkpoints.signed_bytes(exported) == bytes(stored.payload)
    assert (checkpoints.export_dir() / "checkpoint-000000000001.json").exists()
    assert AuditEvent.objects.order_by("-seq").first().action == "audit.checkpoint_signed"


def test_it_signs_nothing_when_nothing_happened_since_the_last_checkpoint(signing_key):
    write_events(1)
    run("audit_checkpoint")
    assert "Nothing new" in run("audit_checkpoint")
    write_events(1)
    assert "Checkpoint 2" in run("audit_checkpoint")
    assert "Checkpoint 3" in run("audit_checkpoint", "--force")


def test_it_links_each_checkpoint_to_the_previous_signature(signing_key):
    write_events(1)
    first = checkpoints.create()
    write_events(1)
    second = checkpoints.create()
    assert (first.previous_signature, second.previous_signature) == ("", first.signature)


def test_it_creates_a_key_on_first_use_in_development(audit_files):
    write_events(1)
    output = run("audit_checkpoint")
    assert "a new one was created" in output
    assert keys.signing_key_path().exists()


@override_settings(PRODUCTION=True)
def test_it_refuses_to_invent_a_key_in_production(audit_files):
    write_events(1)
    with pytest.raises(CommandError, match="audit_keygen"):
        run("audit_checkpoint")
    assert not keys.signing_key_path().exists()


def test_it_verifies_an_intact_chain_and_exits_0(signing_key):
    write_events(5)
    checkpoints.create()
    checkpoints.export_pending()
    output = run("audit_verify")
    assert "events checked: 6 (seq 1..6)" in output
    assert "1 in the database, 1 exported" in output
    assert "OK: the audit chain is intact." in output


def test_it_prints_the_first_bad_seq_and_exits_1(signing_key):
    write_events(5)
    tamper("DELETE FROM governance_auditevent WHERE seq = 3")
    with pytest.raises(CommandError, match=r"first bad seq 3 \[gap\]") as caught:
        run("audit_verify")
    assert caught.value.returncode == 1


def test_it_verifies_against_a_given_export_and_key(signing_key, tmp_path):
    write_events(2)
    checkpoints.create()
    exported = tmp_path / "copy"
    checkpoints.export_pending(exported)
    output = run(
        "audit_verify",
        "--checkpoints",
        str(exported / checkpoints.EXPORT_FILE),
        "--public-key",
        str(keys.public_path(signing_key)),
        "--json",
    )
    report = json.loads(output)
    assert report["intact"] is True
    assert report["exported_checkpoints_checked"] == 1


def test_it_refuses_checkpoints_signed_by_an_untrusted_key(signing_key, tmp_path):
    write_events(2)
    checkpoints.create()
    stranger = tmp_path / "stranger.pem"
    keys.generate(stranger)
    with pytest.raises(CommandError, match="checkpoint_unknown_key"):
        run("audit_verify", "--public-key", str(keys.public_path(stranger)))


def test_it_exits_1_without_exit_0_on_from_seq_zero(signing_key):
    with pytest.raises(CommandError, match="--from-seq"):
        run("audit_verify", "--from-seq", "0")
