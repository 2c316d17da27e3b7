"""A worker holding a job row must not block rows that reference it.

A dataset version is its own profiling job. While a worker holds it (``jobs.leases.holding``), another
transaction creating a check that names that dataset version takes FOR KEY SHARE on it for the deferred
foreign-key check at commit, while already holding the audit chain's lock. A plain FOR UPDATE on the job
row made the two wait for each other (a deadlock seen in CI); the job lock is FOR NO KEY UPDATE.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from jobs import kinds, leases
from registry.models import DatasetVersion
from tests.registry.conftest import make_dataset_version


@pytest.fixture(autouse=True)
def no_profiling_queue(monkeypatch):
    monkeypatch.setattr(leases, "send", lambda *args, **kwargs: None)


@pytest.mark.django_db(transaction=True)
def test_a_held_job_row_can_still_be_referenced(maya, dataset):
    version = make_dataset_version(maya, dataset)
    kind = kinds.KINDS["dataset_profile"]
    claimed = leases.claim(kind, version.pk)
    assert claimed is not None
    _, token = claimed
    outcome = {}

    def reference_it():
        try:
            with connection.cursor() as cursor:  # this thread's own connection
                cursor.execute("BEGIN")
                cursor.execute("SET LOCAL lock_timeout = '10s'")
                # what PostgreSQL's foreign-key check runs for a row that references the dataset version
                cursor.execute(
                    f"SELECT 1 FROM {DatasetVersion._meta.db_table} WHERE id = %s FOR KEY SHARE", [version.pk]
                )
                outcome["row"] = cursor.fetchone()
                cursor.execute("COMMIT")
        except Exception as error:  # reported by the assertion below
            outcome["error"] = error
        finally:
            connections.close_all()

    with leases.holding(kind, version.pk, token) as job:
        assert job is not None
        other = threading.Thread(target=reference_it)
        other.start()
        other.join(timeout=60)

    assert outcome == {"row": (1,)}
