"""Many writers at once: the advisory lock keeps seq gapless and the chain whole."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from audit import record
from audit.models import AuditEvent
from tests.audit.conftest import verify

THREADS = 8
WRITES = 200


def _writer(number: int, errors: list) -> None:
    try:
        for index in range(WRITES):
            with transaction.atomic():
                record(action="system.worker_ping", actor=None, after={"writer": number, "index": index})
    except Exception as exc:  # reported by the test, not lost in the thread
        errors.append(exc)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_it_keeps_seq_gapless_with_eight_concurrent_writers():
    """GIVEN 8 threads, each with its own connection
    WHEN each records 200 events as fast as it can
    THEN seq runs 1..1600 without a gap, every writer's events are there, and the chain verifies."""
    start = AuditEvent.objects.count()
    errors: list = []
    threads = [threading.Thread(target=_writer, args=(number, errors)) for number in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seqs = list(AuditEvent.objects.filter(seq__gt=start).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(start + 1, start + THREADS * WRITES + 1))
    writers = AuditEvent.objects.filter(seq__gt=start).values_list("after", flat=True)
    assert {(after["writer"], after["index"]) for after in writers} == {
        (w, i) for w in range(THREADS) for i in range(WRITES)
    }
    report = verify()
    assert report.intact, report.problems
    assert report.events_checked == start + THREADS * WRITES
