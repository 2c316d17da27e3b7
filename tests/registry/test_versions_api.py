"""/api/v1/models/{name}/versions/: uploads (names, hashes, caps, idempotency), download, aliases."""

import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from registry.models import ModelVersion
from tests.registry.conftest import make_version

pytestmark = pytest.mark.django_db

VERSIONS = reverse("api:model-version-list", args=["credit-scoring"])
ONNX_OPSET = 13


def version_url(number: int, suffix: str = "detail") -> str:
    return reverse(f"api:model-version-{suffix}", args=["credit-scoring", number])


def upload(client, content: bytes = b"model bytes", name: str = "model.bin", **fields):
    artifact = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return client.post(VERSIONS, {"artifact": artifact, **fields}, format="multipart")


def test_it_stores_an_upload_under_its_digest_and_records_the_event(api, model, maya, media_root):
    content = b"\x80\x04 pretend pickle"
    response = upload(api.as_user(maya), content, run_id="run-1", tags='{"stage": "ci"}')
    assert response.status_code == 201, response.json()
    body = response.json()
    digest = hashlib.sha256(content).hexdigest()
    assert body["version"] == 1
    assert body["artifact"]["sha256"] == digest
    assert body["artifact"]["format"] == "pickle"
    assert body["artifact"]["executable"] is False
    assert body["tags"] == {"stage": "ci"}
    stored = media_root / "artifacts" / "sha256" / digest[:2] / digest[2:4] / digest
    assert stored.read_bytes() == content
    event = AuditEvent.objects.get(action="model_version.submitted")
    assert event.after["artifact_sha256"] == digest


@pytest.mark.parametrize(
    ("client_name", "shown"),
    [
        ("../../x", "x"),
        ("/etc/passwd", "passwd"),
        ("evil\x00.onnx", "evil.onnx"),
        ("a" * 10_000 + ".onnx", "a" * 250 + ".onnx"),
    ],
)
def test_it_never_lets_the_client_name_choose_the_storage_path(
    api, model, maya, media_root, client_name, shown
):
    response = upload(api.as_user(maya), b"some artifact", name=client_name)
    assert response.status_code == 201, response.json()
    version = ModelVersion.objects.get()
    assert version.artifact_key.startswith("artifacts/sha256/")
    assert version.artifact_filename == shown
    assert len(version.artifact_filename) <= 255
    stored = [p for p in media_root.rglob("*") if p.is_file()]
    assert [p.name for p in stored] == [version.artifact_sha256]


def test_it_refuses_a_declared_hash_that_does_not_match(api, model, maya):
    response = upload(api.as_user(maya), b"content", sha256="0" * 64)
    assert response.status_code == 400
    assert "sha256" in response.json()["error"]["fields"]
    assert not ModelVersion.objects.exists()


def test_it_accepts_a_matching_declared_hash(api, model, maya):
    content = b"content"
    response = upload(api.as_user(maya), content, sha256=hashlib.sha256(content).hexdigest().upper())
    assert response.status_code == 201


def test_it_refuses_an_upload_over_the_cap_with_413(api, model, maya, settings):
    settings.ATTEST_MAX_ARTIFACT_BYTES = 1000
    response = upload(api.as_user(maya), b"x" * 1001)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert not ModelVersion.objects.exists()


def test_it_refuses_an_upload_over_the_cap_even_when_content_length_lies(model, maya, settings):
    from django.test import Client

    settings.ATTEST_MAX_ARTIFACT_BYTES = 1000
    client = Client()
    client.force_login(maya)
    boundary = "BoUnDaRy"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="artifact"; filename="m.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + b"y" * 5000
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = client.generic(
        "POST", VERSIONS, body, content_type=f"multipart/form-data; boundary={boundary}", CONTENT_LENGTH="900"
    )
    assert response.status_code in {400, 413}
    assert not ModelVersion.objects.exists()


def test_it_refuses_an_empty_artifact(api, model, maya):
    response = upload(api.as_user(maya), b"")
    assert response.status_code == 400
    assert not ModelVersion.objects.exists()


def test_it_refuses_a_request_without_the_artifact_field(api, model, maya):
    response = api.as_user(maya).post(VERSIONS, {"run_id": "x"}, format="multipart")
    assert response.status_code == 400
    assert "artifact" in response.json()["error"]["fields"]


def test_it_returns_the_existing_version_for_the_same_content(api, model, maya):
    client = api.as_user(maya)
    first = upload(client, b"same bytes")
    second = upload(client, b"same bytes", name="renamed.bin")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["version"] == first.json()["version"] == 1
    assert ModelVersion.objects.count() == 1
    assert AuditEvent.objects.filter(action="model_version.submitted").count() == 1
    assert upload(client, b"other bytes").json()["version"] == 2


def test_it_applies_the_permission_matrix_to_uploads(api, model, maya, victor, rita, aaron, olga):
    assert upload(api.as_user(None)).status_code == 401
    assert upload(api.as_user(olga)).status_code == 404
    for persona in (victor, rita, aaron):
        assert upload(api.as_user(persona)).status_code == 403, persona.username
    assert upload(api.as_user(maya)).status_code == 201


def test_it_applies_the_permission_matrix_to_reads(api, model, maya, victor, rita, aaron, olga):
    make_version(maya, model)
    for url in (VERSIONS, version_url(1), version_url(1, "download"), version_url(1, "lineage")):
        assert api.as_user(None).get(url).status_code == 401
        assert api.as_user(olga).get(url).status_code == 404
        for persona in (maya, victor, rita, aaron):
            assert api.as_user(persona).get(url).status_code == 200, (url, persona.username)


def test_it_downloads_the_exact_bytes_and_audits_the_download(api, model, maya, aaron):
    make_version(maya, model, content=b"artifact body")
    response = api.as_user(aaron).get(version_url(1, "download"))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"artifact body"
    assert response["X-Checksum-SHA256"] == hashlib.sha256(b"artifact body").hexdigest()
    assert "attachment" in response["Content-Disposition"]
    event = AuditEvent.objects.get(action="model_version.downloaded")
    assert event.actor_username == "aaron"


def test_it_keeps_a_submitted_version_immutable_in_the_database(model, maya):
    from django.db import InternalError, transaction

    version = make_version(maya, model)
    with pytest.raises(InternalError), transaction.atomic():
        ModelVersion.objects.filter(pk=version.pk).update(description="changed")


def test_it_records_mlflow_fields_datasets_and_parent(api, model, maya, dataset):
    from tests.registry.conftest import make_dataset_version

    make_dataset_version(maya, dataset, role="training")
    client = api.as_user(maya)
    upload(client, b"v1")
    signature = '{"inputs": [{"name": "age", "type": "long"}], "outputs": [{"type": "double"}]}'
    response = upload(
        client,
        b"v2",
        source="s3://bucket/run/model",
        run_id="abc123",
        run_link="https://mlflow.example.com/#/runs/abc123",
        signature=signature,
        metrics='{"auc": 0.77}',
        training_datasets=["german-credit:1"],
        validation_datasets=["german-credit"],
        parent="1",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["signature"]["inputs"][0]["name"] == "age"
    assert body["metrics"] == {"auc": 0.77}
    assert body["training_datasets"][0]["dataset"] == "german-credit"
    assert body["validation_datasets"][0]["version"] == 1
    assert body["parent"] == {"model": "credit-scoring", "version": 1}


def test_it_refuses_unknown_dataset_and_parent_references(api, model, maya, olga, fraud):
    from tests.registry.conftest import make_dataset, make_dataset_version

    hidden = make_dataset(olga, fraud, name="fraud-data")
    make_dataset_version(olga, hidden)
    client = api.as_user(maya)
    assert upload(client, b"a", training_datasets=["fraud-data:1"]).status_code == 400
    assert upload(client, b"a", parent="7").status_code == 400
    assert not ModelVersion.objects.exists()


def test_it_moves_aliases_with_before_and_after_in_the_audit_trail(api, model, maya, victor, olga):
    make_version(maya, model, content=b"one")
    make_version(maya, model, content=b"two")
    url = reverse("api:model-alias-detail", args=["credit-scoring", "champion"])
    assert api.as_user(victor).put(url, {"version": 1}, format="json").status_code == 403
    assert api.as_user(olga).put(url, {"version": 1}, format="json").status_code == 404
    client = api.as_user(maya)
    assert client.put(url, {"version": 1}, format="json").json()["version"] == 1
    assert client.put(url, {"version": 2}, format="json").json()["version"] == 2
    assert client.put(url, {"version": 9}, format="json").status_code == 400
    events = AuditEvent.objects.filter(action="model_version.alias_moved").order_by("seq")
    assert [(e.before["version"], e.after["version"]) for e in events] == [(None, 1), (1, 2)]
    assert client.get(version_url(2)).json()["aliases"] == ["champion"]
    assert client.get(reverse("api:model-detail", args=["credit-scoring"])).json()["aliases"] == {
        "champion": 2
    }
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


def test_it_lists_versions_with_a_constant_number_of_queries(api, model, maya, aaron, dataset):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.registry.conftest import make_dataset_version

    training = make_dataset_version(maya, dataset)
    client = api.as_user(aaron)

    def queries():
        with CaptureQueriesContext(connection) as context:
            assert client.get(VERSIONS, {"page_size": 50}).status_code == 200
        return len(context.captured_queries)

    make_version(maya, model, content=b"v0", training_datasets=[training])
    one = queries()
    for index in range(1, 50):
        make_version(maya, model, content=f"v{index}".encode(), training_datasets=[training])
    assert queries() == one


# --- formats -------------------------------------------------------------------------------------


def onnx_bytes(external: bool = False) -> bytes:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(__import__("numpy").ones((2, 2), dtype="float32"), name="W")
    if external:
        weights.ClearField("raw_data")
        weights.data_location = TensorProto.EXTERNAL
        weights.external_data.add(key="location", value="../../etc/passwd")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"])],
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 2])],
        initializer=[weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    buffer = io.BytesIO()
    onnx.save_model(model, buffer)
    return buffer.getvalue()


def test_it_detects_onnx_and_refuses_external_data(api, model, maya):
    client = api.as_user(maya)
    response = upload(client, onnx_bytes(), name="model.onnx")
    assert response.json()["artifact"]["format"] == "onnx"
    assert response.json()["artifact"]["executable"] is True
    response = upload(client, onnx_bytes(external=True), name="model.onnx")
    assert response.status_code == 400
    assert "external data" in response.json()["error"]["message"]


def test_it_detects_skops_xgboost_lightgbm_and_other(api, model, maya, tmp_path):
    import numpy as np
    import skops.io
    from sklearn.linear_model import LogisticRegression

    features, labels = np.arange(20, dtype=float).reshape(10, 2), np.array([0, 1] * 5)
    path = tmp_path / "m.skops"
    skops.io.dump(LogisticRegression().fit(features, labels), path)
    client = api.as_user(maya)
    assert upload(client, path.read_bytes()).json()["artifact"]["format"] == "skops"
    xgb_json = b'{"learner": {"attributes": {}}, "version": [2, 1, 0]}'
    assert upload(client, xgb_json).json()["artifact"]["format"] == "xgboost-json"
    assert (
        upload(client, b"{L\x00\x00\x00\x00\x00\x00\x00\x07learner{").json()["artifact"]["format"]
        == "xgboost-ubj"
    )
    assert upload(client, b"tree\nversion=v4\nnum_class=1\n").json()["artifact"]["format"] == "lightgbm-txt"
    other = upload(client, b"PK\x03\x04 not really a zip").json()["artifact"]
    assert (other["format"], other["executable"]) == ("other", False)
