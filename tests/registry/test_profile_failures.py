"""A NUL character in a dataset: refused at upload in a CSV (400 naming its line and column); in a
Parquet file (which may hold it) the profile fails with the reason and never stays running."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from jobs import reaper
from registry.models import DatasetVersion
from registry.services import datasets as dataset_services
from tests.registry.conftest import make_dataset_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_profiling_queue")]
VERSIONS = reverse("api:dataset-version-list", args=["german-credit"])


def test_it_refuses_a_csv_with_a_nul_in_a_cell_naming_its_line_and_column(api, maya, dataset):
    """GIVEN a CSV whose third line has a NUL byte in the ``purpose`` cell
    WHEN maya uploads it
    THEN 400 on ``file`` names line 3 and the column, and no version is written."""
    content = b"age,purpose,label\n31,car,1\n45,fur\x00niture,0\n52,car,1\n"
    file = SimpleUploadedFile("data.csv", content, content_type="text/csv")

    response = api.as_user(maya).post(VERSIONS, {"file": file}, format="multipart")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    [message] = error["fields"]["file"]
    assert "Line 3" in message
    assert "'purpose'" in message
    assert "NUL" in message
    assert not DatasetVersion.objects.exists()


def parquet_with_nul() -> bytes:
    table = pa.table({"age": [31, 45, 52], "purpose": ["car", "fur\x00niture", "car"]})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def test_a_profile_of_a_file_holding_a_nul_fails_with_the_reason(maya, dataset):
    """GIVEN a Parquet version whose ``purpose`` column holds a NUL character (Parquet allows it)
    WHEN it is profiled
    THEN the profile is failed with the column and row named, audited once, never left running; a
    redelivered profiling message finds nothing to do."""
    version = make_dataset_version(maya, dataset, content=parquet_with_nul(), filename="data.parquet")

    profiled = dataset_services.dataset_version_profile(version_id=version.pk)
    again = dataset_services.dataset_version_profile(version_id=version.pk)

    assert (profiled.profile_status, profiled.claim_token, profiled.lease_expires_at) == ("failed", "", None)
    assert "'purpose'" in profiled.profile_error
    assert "NUL" in profiled.profile_error
    assert "data row 2" in profiled.profile_error
    assert again.profile_status == "failed"
    assert AuditEvent.objects.filter(action="dataset_profile.failed", object_id=str(version.pk)).count() == 1
    assert AuditEvent.objects.filter(action="dataset_profile.started", object_id=str(version.pk)).count() == 1


def test_a_profile_left_running_without_a_lease_is_queued_again(maya, dataset, monkeypatch):
    """GIVEN a profile left ``running`` by a worker of an older release (no lease at all)
    WHEN the reaper runs
    THEN it is queued again (pending, audited) for a worker to profile it."""
    version = make_dataset_version(maya, dataset)
    DatasetVersion.objects.filter(pk=version.pk).update(profile_status="running", attempts=1)
    sent = []
    monkeypatch.setattr("jobs.leases.send", lambda kind, job_id, countdown=None: sent.append(job_id))

    counts = reaper.reap()["dataset_profile"]

    version.refresh_from_db()
    assert counts == {"requeued": 1, "failed": 0, "resent": 0}
    assert version.profile_status == "pending"
    assert (
        AuditEvent.objects.filter(action="dataset_profile.requeued", object_id=str(version.pk)).count() == 1
    )
