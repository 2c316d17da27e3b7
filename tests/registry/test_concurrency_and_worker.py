"""Races and background work: concurrent uploads get consecutive numbers; a real worker profiles."""

import threading

import pytest
from django.db import connection
from django.urls import reverse

from registry.models import DatasetVersion, ModelVersion
from tests.conftest import PersonaClient, wait_for
from tests.registry.conftest import CSV, make_dataset, make_model

UPLOADS = 10


@pytest.mark.django_db(transaction=True)
def test_it_numbers_ten_concurrent_uploads_consecutively(maya, credit_risk):
    from django.core.files.uploadedfile import SimpleUploadedFile

    make_model(maya, credit_risk)
    url = reverse("api:model-version-list", args=["credit-scoring"])
    barrier = threading.Barrier(UPLOADS)
    statuses: list[int] = []

    def submit(index: int) -> None:
        try:
            client = PersonaClient().as_user(maya)
            artifact = SimpleUploadedFile("m.bin", f"artifact {index}".encode())
            barrier.wait()
            statuses.append(client.post(url, {"artifact": artifact}, format="multipart").status_code)
        finally:
            connection.close()  # each thread has its own connection; close it before the test's flush

    threads = [threading.Thread(target=submit, args=(index,)) for index in range(UPLOADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * UPLOADS
    numbers = sorted(ModelVersion.objects.values_list("version", flat=True))
    assert numbers == list(range(1, UPLOADS + 1))


@pytest.mark.django_db(transaction=True)
def test_it_returns_one_version_for_the_same_bytes_sent_concurrently(maya, credit_risk):
    from django.core.files.uploadedfile import SimpleUploadedFile

    make_model(maya, credit_risk)
    url = reverse("api:model-version-list", args=["credit-scoring"])
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def submit() -> None:
        try:
            client = PersonaClient().as_user(maya)
            barrier.wait()
            statuses.append(
                client.post(
                    url, {"artifact": SimpleUploadedFile("m.bin", b"same")}, format="multipart"
                ).status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 200, 200, 201]
    assert ModelVersion.objects.count() == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_profiles_an_uploaded_dataset_in_a_worker(celery_worker, api, maya, credit_risk):
    from django.core.files.uploadedfile import SimpleUploadedFile

    make_dataset(maya, credit_risk)
    url = reverse("api:dataset-version-list", args=["german-credit"])
    response = api.as_user(maya).post(url, {"file": SimpleUploadedFile("d.csv", CSV)}, format="multipart")
    assert response.status_code == 201
    assert response.json()["profile_status"] == "pending"
    version = wait_for(
        lambda: DatasetVersion.objects.filter(profile_status="succeeded").first(), message="the profile"
    )
    assert version.row_count == 3
    detail = api.get(reverse("api:dataset-version-detail", args=["german-credit", 1])).json()
    assert detail["profile"]["rows"] == 3
    assert [column["name"] for column in detail["profile"]["columns"]][:2] == ["age", "income"]
