"""SIEM export of the audit trail: real events forwarded to local receivers (syslog over TCP and TLS, OTLP,
Splunk HEC), parsed back and verified by the receiver-side verifier on what the receiver holds."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from audit import record
from audit.models import AuditEvent
from integrations.models import SiemDestination
from integrations.services import siem
from integrations.siem import verify_chain
from tests.integrations.siem_receivers import HttpCollector, SyslogReceiver, self_signed

VERIFIER = Path(verify_chain.__file__)
TOKEN = "hec-token-1"
Kind = SiemDestination.Kind


@pytest.fixture(scope="module")
def syslog():
    receiver = SyslogReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def tls_receiver(tmp_path_factory):
    context, pem = self_signed(tmp_path_factory.mktemp("tls"))
    receiver = SyslogReceiver(tls=context)
    receiver.ca_pem = pem
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def collector():
    server = HttpCollector(token=TOKEN)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh(syslog, tls_receiver, collector, outbound_loopback_allowed):
    for receiver in (syslog, tls_receiver):
        receiver.lines.clear()
        receiver.drop_after(None)
    collector.bodies.clear()
    collector.failures = []


def make_events(actor, count: int) -> None:
    """Real events through ``record``, with text that CEF and JSON must escape."""
    with transaction.atomic():
        for number in range(count):
            record(
                action="system.worker_ping" if number % 2 else "admin.changed",
                actor=actor,
                obj=actor,
                after={"n": number, "text": "a=b \\ c|d\nnext line é", "nested": {"ok": True}},
                reason="pipe | equals = backslash \\",
            )


def head() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()


def destination(admin, **fields) -> SiemDestination:
    return siem.destination_create(actor=admin, name=fields.pop("name", "siem"), **fields)


def run_verifier(path: Path) -> subprocess.CompletedProcess:
    """The verifier as a receiver runs it: a standalone script, in a process of its own."""
    return subprocess.run(
        [sys.executable, str(VERIFIER), str(path)], capture_output=True, text=True, timeout=60, check=False
    )


def verifier_says(path: Path, capsys) -> tuple[int, str]:
    """The same script's ``main``, in this process (a fresh interpreter per check costs a second on CI)."""
    capsys.readouterr()
    code = verify_chain.main([str(path)])
    return code, capsys.readouterr().out


def assert_verified(path: Path, events: int, capsys=None) -> None:
    if capsys is None:
        result = run_verifier(path)
        code, out = result.returncode, result.stdout + result.stderr
    else:
        code, out = verifier_says(path, capsys)
    assert code == 0, out
    assert out.startswith(f"INTACT: {events} events")


# --- every kind, every event, verified where it arrived --------------------------------------------------


def test_syslog_cef_over_tcp_delivers_every_event_and_the_receiver_verifies_the_chain(
    admin_user, syslog, tmp_path
):
    make_events(admin_user, 300)
    target = destination(admin_user, kind=Kind.SYSLOG, host="127.0.0.1", port=syslog.port, batch_size=128)
    before = head()

    [outcome] = siem.forward_all()

    assert outcome.status == "caught_up"
    assert head() == before  # forwarding writes no audit event
    target.refresh_from_db()
    assert target.last_seq_sent == before
    assert target.last_sent_at is not None
    assert len(syslog.lines) == before  # every event of the chain, once
    first = syslog.lines[-1]
    assert first.startswith("<")
    assert "CEF:0|Attest|Attest|" in first
    assert "cs6Label=canonical" in first
    assert_verified(syslog.write(tmp_path / "syslog.log"), before)


def test_syslog_json_over_tls_checks_the_receiver_certificate(admin_user, tls_receiver, tmp_path, capsys):
    make_events(admin_user, 120)
    target = destination(
        admin_user,
        kind=Kind.SYSLOG_TLS,
        host="127.0.0.1",
        port=tls_receiver.port,
        ca_bundle=tls_receiver.ca_pem,
        format="json",
        batch_size=1000,
    )

    [outcome] = siem.forward_all()

    assert outcome.status == "caught_up", outcome.error
    assert len(tls_receiver.lines) == head()
    assert_verified(tls_receiver.write(tmp_path / "tls.log"), head(), capsys)
    # another CA: the certificate is refused and nothing moves
    other_ca = self_signed(tmp_path)[1]
    siem.destination_update(actor=admin_user, destination=target, ca_bundle=other_ca)
    make_events(admin_user, 3)
    outcome = siem.forward(target.pk)
    target.refresh_from_db()
    assert outcome.status == "failed"
    assert "certificate" in outcome.error
    assert target.last_seq_sent == head() - 3 - 1  # the 3 events and the change's own event are pending


def test_otlp_http_json_delivers_log_records_the_receiver_verifies(admin_user, collector, tmp_path, capsys):
    make_events(admin_user, 200)
    destination(admin_user, kind=Kind.OTLP_HTTP, url=collector.url, token="Bearer otel", batch_size=300)

    [outcome] = siem.forward_all()

    assert outcome.status == "caught_up"
    assert {path for path, _ in collector.bodies} == {"/v1/logs"}
    assert_verified(collector.write(tmp_path / "otlp.jsonl", which="/v1/logs"), head(), capsys)


def test_splunk_hec_5xx_does_not_advance_the_position_and_the_retry_delivers(
    admin_user, collector, tmp_path, capsys
):
    make_events(admin_user, 150)
    target = destination(admin_user, kind=Kind.SPLUNK_HEC, url=collector.url, token=TOKEN, batch_size=100)
    collector.fail_next(1, 503)

    [outcome] = siem.forward_all()

    target.refresh_from_db()
    assert outcome.status == "failed"
    assert outcome.error == "HTTP 503"
    assert (target.last_seq_sent, target.attempts, target.last_error) == (0, 1, "HTTP 503")
    assert target.next_attempt_at is not None
    assert siem.forward_all()[0].status == "waiting"  # backing off

    assert siem.forward(target.pk, ignore_backoff=True).status == "caught_up"
    target.refresh_from_db()
    assert (target.last_seq_sent, target.attempts, target.next_attempt_at) == (head(), 0, None)
    assert_verified(
        collector.write(tmp_path / "hec.jsonl", which="/services/collector/event"), head(), capsys
    )


def test_a_wrong_hec_token_is_a_failure_not_a_delivery(admin_user, collector):
    make_events(admin_user, 5)
    target = destination(admin_user, kind=Kind.SPLUNK_HEC, url=collector.url, token="wrong")
    outcome = siem.forward(target.pk)
    assert (outcome.status, outcome.error) == ("failed", "HTTP 401")
    target.refresh_from_db()
    assert target.last_seq_sent == 0


# --- losing nothing -------------------------------------------------------------------------------------


def test_a_receiver_that_drops_the_connection_mid_stream_loses_nothing(admin_user, syslog, tmp_path, capsys):
    make_events(admin_user, 250)
    target = destination(admin_user, kind=Kind.SYSLOG, host="127.0.0.1", port=syslog.port, batch_size=100)
    syslog.drop_after(130)  # mid-way through the second batch

    first = siem.forward(target.pk)

    target.refresh_from_db()
    assert first.status == "failed"
    assert first.sent == 100
    assert target.last_seq_sent == 100  # the acknowledged batch only
    assert len(syslog.lines) == 130

    assert siem.forward(target.pk, ignore_backoff=True).status == "caught_up"
    seqs = [int(line.split("cn1=", 1)[1].split(" ", 1)[0]) for line in syslog.lines]
    assert sorted(set(seqs)) == list(range(1, head() + 1))  # nothing lost
    duplicates = len(seqs) - len(set(seqs))
    assert 0 < duplicates <= target.batch_size  # within the one batch that was sent again
    assert_verified(syslog.write(tmp_path / "dropped.log"), head(), capsys)


def test_the_position_survives_a_restart_of_the_forwarder(admin_user, syslog, capsys):
    make_events(admin_user, 40)
    destination(admin_user, name="soc", kind=Kind.SYSLOG, host="127.0.0.1", port=syslog.port, batch_size=16)
    call_command("siem_forward", "--once", "--destination", "soc")
    assert "caught_up" in capsys.readouterr().out
    delivered = len(syslog.lines)

    make_events(admin_user, 25)
    call_command("siem_forward", "--once")  # a new run: continues from last_seq_sent

    new = syslog.lines[delivered:]
    assert len(new) == 25
    assert SiemDestination.objects.get(name="soc").last_seq_sent == head()


def test_a_disabled_destination_is_not_forwarded(admin_user, syslog):
    make_events(admin_user, 3)
    target = destination(admin_user, kind=Kind.SYSLOG, host="127.0.0.1", port=syslog.port, enabled=False)
    assert siem.forward_all() == []
    assert siem.forward(target.pk).status == "disabled"
    assert syslog.lines == []


# --- the verifier catches what it must ------------------------------------------------------------------


def test_the_verifier_reports_gaps_changed_events_and_conflicting_copies(
    admin_user, syslog, tmp_path, capsys
):
    make_events(admin_user, 30)
    destination(admin_user, kind=Kind.SYSLOG, host="127.0.0.1", port=syslog.port)
    siem.forward_all()
    lines = list(syslog.lines)

    gap = tmp_path / "gap.log"
    gap.write_text("\n".join(lines[:10] + lines[12:]))
    code, out = verifier_says(gap, capsys)
    assert code == 1
    assert "gap: seq 11..12 missing" in out

    changed = tmp_path / "changed.log"
    changed.write_text("\n".join([*lines[:5], lines[5].replace('"n":', '"m":'), *lines[6:]]))
    assert "hash mismatch" in verifier_says(changed, capsys)[1]

    relabelled = tmp_path / "relabelled.log"
    relabelled.write_text("\n".join([*lines[:-1], lines[-1].replace("act=", "act=x", 1)]))
    assert "indexed as x" in verifier_says(relabelled, capsys)[1]

    report = verify_chain.verify(
        [*verify_chain.read(lines), *verify_chain.read([lines[-1].replace("cs1=", "cs1=0", 1)])]
    )
    assert not report.intact
    assert "two different copies" in report.problems[0]


@pytest.mark.django_db(transaction=True)
def test_a_destination_locked_by_another_worker_is_left_alone(admin_user, syslog):
    """Two forwarders never send a destination's batch at once: the second skips the locked row."""
    make_events(admin_user, 5)
    target = destination(admin_user, kind=Kind.SYSLOG, host="127.0.0.1", port=syslog.port)
    locked, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                SiemDestination.objects.select_for_update().get(pk=target.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    worker = threading.Thread(target=other_worker)
    worker.start()
    try:
        assert locked.wait(10)
        assert siem.forward(target.pk).status == "busy"
        assert syslog.lines == []
    finally:
        release.set()
        worker.join()
    assert siem.forward(target.pk).status == "caught_up"
    assert len(syslog.lines) == head()
