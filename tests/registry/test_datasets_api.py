"""/api/v1/datasets/: registration, uploads refused with the problem's location, profiles."""

import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from registry.models import DatasetVersion
from registry.services import datasets as dataset_services
from tests.registry.conftest import CSV, make_dataset_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_profiling_queue")]

DATASETS = reverse("api:dataset-list")
VERSIONS = reverse("api:dataset-version-list", args=["german-credit"])


def upload(client, content: bytes = CSV, name: str = "data.csv", **fields):
    file = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post(VERSIONS, {"file": file, **fields}, format="multipart")


def error_of(response) -> str:
    assert response.status_code == 400, response.content
    return response.json()["error"]["message"]


def test_it_registers_a_dataset_for_the_team(api, maya, olga, aaron, credit_risk):
    body = {"name": "german-credit", "team": "credit-risk", "title": "German credit"}
    assert api.as_user(aaron).post(DATASETS, body, format="json").status_code == 403
    assert api.as_user(olga).post(DATASETS, body, format="json").status_code == 400
    response = api.as_user(maya).post(DATASETS, body, format="json")
    assert response.status_code == 201
    assert response.json()["lineage_namespace"] == "attest"
    assert response.json()["lineage_name"] == "german-credit"
    assert AuditEvent.objects.filter(action="dataset.created").count() == 1


def test_it_applies_the_permission_matrix(api, dataset, maya, victor, rita, aaron, olga):
    make_dataset_version(maya, dataset)
    detail = reverse("api:dataset-detail", args=["german-credit"])
    version = reverse("api:dataset-version-detail", args=["german-credit", 1])
    download = reverse("api:dataset-version-download", args=["german-credit", 1])
    lineage = reverse("api:dataset-version-lineage", args=["german-credit", 1])
    for url in (DATASETS, detail, VERSIONS, version, download, lineage):
        assert api.as_user(None).get(url).status_code == 401
        for persona in (maya, victor, rita, aaron):
            assert api.as_user(persona).get(url).status_code == 200, (url, persona.username)
    assert api.as_user(olga).get(DATASETS).json()["results"] == []
    for url in (detail, VERSIONS, version, download, lineage):
        assert api.as_user(olga).get(url).status_code == 404
    assert upload(api.as_user(None)).status_code == 401
    assert upload(api.as_user(olga)).status_code == 404
    for persona in (victor, rita, aaron):
        assert upload(api.as_user(persona), b"a,b\n1,2\n").status_code == 403


def test_it_uploads_a_csv_checks_declared_columns_and_queues_its_profile(
    api, dataset, maya, no_profiling_queue, django_capture_on_commit_callbacks
):
    fields = {"role": "training", "target_column": "label", "prediction_column": "score"}
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(api.as_user(maya), sensitive_columns=["sex", "age"], **fields)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["file"]["sha256"] == hashlib.sha256(CSV).hexdigest()
    assert [column["name"] for column in body["schema"]] == ["age", "income", "sex", "label", "score"]
    assert body["sensitive_columns"] == ["sex", "age"]
    assert body["profile_status"] == "pending"
    assert no_profiling_queue == [DatasetVersion.objects.get().pk]
    assert upload(api.as_user(maya)).status_code == 200  # same bytes: the same version


def test_it_refuses_declared_columns_missing_from_the_file(api, dataset, maya):
    response = upload(api.as_user(maya), target_column="default", sensitive_columns=["gender"])
    fields = response.json()["error"]["fields"]
    assert "no column 'default'" in fields["target_column"][0]
    assert "no column 'gender'" in fields["sensitive_columns"][0]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b"1,2,3\n4,5,6\n", "looks like data, not a header"),
        (b"a,b,a\n1,2,3\n", "'a' appears more than once (columns 1, 3)"),
        (b"a,,c\n1,2,3\n", "Column 2 has an empty name"),
        (b"a,b\n1,2\n3,\xff\xfe\n", "not valid UTF-8 in row 3, column 'b'"),
        (b"a,b\n1,2\n3\n4,5\n", "Row 3 has 1 values; the header has 2 columns"),
        (b"a,b\n1,2\n3,4,5\n", "Row 3 has 3 values"),
        (b"a,b\n", "header but no data rows"),
    ],
)
def test_it_refuses_bad_csv_files_naming_the_problem(api, dataset, maya, content, expected):
    message = error_of(upload(api.as_user(maya), content))
    assert expected in message
    assert not DatasetVersion.objects.exists()


def test_it_refuses_a_parquet_file_pyarrow_cannot_read(api, dataset, maya):
    message = error_of(upload(api.as_user(maya), b"PAR1 this is not parquet PAR1", name="x.parquet"))
    assert "not a Parquet file pyarrow can read" in message


def test_it_accepts_parquet_with_its_schema_and_row_count(api, dataset, maya):
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table({"age": [20, 30], "sex": ["f", "m"]}), buffer)
    response = upload(api.as_user(maya), buffer.getvalue(), name="batch.parquet", sensitive_columns=["sex"])
    assert response.status_code == 201, response.json()
    assert response.json()["file"]["format"] == "parquet"
    assert response.json()["row_count"] == 2
    assert response.json()["schema"] == [{"name": "age", "type": "int64"}, {"name": "sex", "type": "string"}]


def test_it_refuses_an_upload_over_the_dataset_cap(api, dataset, maya, settings):
    settings.ATTEST_MAX_DATASET_BYTES = 100
    response = upload(api.as_user(maya), b"a,b\n" + b"1,2\n" * 100)
    assert response.status_code == 413


def test_it_profiles_a_version(maya, dataset):
    version = make_dataset_version(maya, dataset, content=CSV)
    dataset_services.dataset_version_profile(version_id=version.pk)
    version.refresh_from_db()
    assert version.profile_status == "succeeded"
    assert version.row_count == 3
    columns = {column["name"]: column for column in version.profile["columns"]}
    assert columns["age"]["kind"] == "numeric"
    assert columns["age"]["min"] == 25
    assert columns["age"]["quantiles"]["p50"] == 33
    assert columns["sex"]["top"][0] == {"value": "f", "count": 2, "share": 2 / 3}
    assert AuditEvent.objects.filter(action="dataset_version.profiled").count() == 1


def test_it_lists_versions_with_a_constant_number_of_queries(api, maya, aaron, dataset):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api.as_user(aaron)

    def queries(url):
        with CaptureQueriesContext(connection) as context:
            assert client.get(url, {"page_size": 50}).status_code == 200
        return len(context.captured_queries)

    make_dataset_version(maya, dataset, content=CSV)
    one = queries(VERSIONS), queries(DATASETS)
    for index in range(1, 50):
        make_dataset_version(maya, dataset, content=CSV + f"{index},1,f,0,0.5\n".encode())
        dataset_services.dataset_create(actor=maya, team=dataset.team, name=f"dataset-{index}")
    assert (queries(VERSIONS), queries(DATASETS)) == one


def test_it_keeps_the_file_and_declarations_fixed_but_lets_the_profile_change(maya, dataset):
    from django.db import InternalError, transaction

    version = make_dataset_version(maya, dataset)
    with pytest.raises(InternalError), transaction.atomic():
        DatasetVersion.objects.filter(pk=version.pk).update(target_column="label")
    DatasetVersion.objects.filter(pk=version.pk).update(profile_status="running")
    with pytest.raises(InternalError), transaction.atomic():
        DatasetVersion.objects.filter(pk=version.pk).delete()
