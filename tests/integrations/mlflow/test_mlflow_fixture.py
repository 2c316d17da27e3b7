"""The MLflow test server and populate script do what the import/sync tests rely on: each populate command
leaves in a live MLflow 3.17 what its REST API then returns (read with httpx, as Attest reads it), and
webhooks reach 127.0.0.1 signed as tests/integrations/mlflow/server.py documents."""

from __future__ import annotations

import json

import httpx
import pytest
import yaml

from tests.integrations.mlflow.fixtures import start_server
from tests.integrations.mlflow.server import MlflowEnvMissing, MlflowServer, mlflow_python, webhook_signature

API = "/api/2.0/mlflow"


def get(server, endpoint: str, **params) -> dict:
    answer = httpx.get(f"{server.url}{endpoint}", params=params, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def versions_of(server, name: str) -> list[dict]:
    found = get(server, f"{API}/model-versions/search", filter=f"name='{name}'", max_results=1000)
    return sorted(found.get("model_versions", []), key=lambda version: int(version["version"]))


def model_artifacts(server, model_id: str) -> dict[str, int]:
    logged = get(server, f"{API}/logged-models/{model_id}")["model"]["info"]
    path = logged["artifact_uri"].removeprefix("mlflow-artifacts:/")
    listing = get(server, "/api/2.0/mlflow-artifacts/artifacts", path=path)
    return {entry["path"]: int(entry.get("file_size", 0)) for entry in listing["files"]}


def mlmodel(server, model_id: str) -> dict:
    logged = get(server, f"{API}/logged-models/{model_id}")["model"]["info"]
    path = logged["artifact_uri"].removeprefix("mlflow-artifacts:/")
    answer = httpx.get(f"{server.url}/api/2.0/mlflow-artifacts/artifacts/{path}/MLmodel", timeout=30)
    assert answer.status_code == 200, answer.text
    return yaml.safe_load(answer.text)


def test_the_server_answers_and_scripts_run_in_the_mlflow_venv(mlflow_server):
    assert httpx.get(f"{mlflow_server.url}/health", timeout=10).text == "OK"

    seen = mlflow_server.run_script(
        "import json, mlflow; print(json.dumps({'version': mlflow.__version__, 'uri': mlflow.get_tracking_uri()}))"
    )

    assert seen == {"version": "3.17.2", "uri": mlflow_server.url}


def test_sklearn_registers_a_version_with_alias_tag_run_and_signature(mlflow_server, mlflow_model_name):
    made = mlflow_server.populate("sklearn", mlflow_model_name)

    models = get(mlflow_server, f"{API}/registered-models/search", filter=f"name='{mlflow_model_name}'")
    assert [model["name"] for model in models["registered_models"]] == [mlflow_model_name]
    assert models["registered_models"][0]["aliases"] == [{"alias": "champion", "version": "1"}]
    [version] = versions_of(mlflow_server, mlflow_model_name)
    assert version["source"] == f"models:/{made['model_id']}"
    assert version["run_id"] == made["run_id"]
    assert {"key": "validation_status", "value": "pending"} in version["tags"]
    run = get(mlflow_server, f"{API}/runs/get", run_id=made["run_id"])["run"]
    assert {param["key"]: param["value"] for param in run["data"]["params"]} == made["params"]
    assert {metric["key"]: metric["value"] for metric in run["data"]["metrics"]} == made["metrics"]
    assert {"key": "team", "value": "credit-risk"} in run["data"]["tags"]
    assert {"MLmodel", "model.skops", "input_example.json"} <= set(
        model_artifacts(mlflow_server, made["model_id"])
    )
    described = mlmodel(mlflow_server, made["model_id"])
    assert set(described["flavors"]) == {"python_function", "sklearn"}
    inputs = json.loads(described["signature"]["inputs"])
    assert [column["name"] for column in inputs] == ["income", "debt_ratio", "age"]


def test_onnx_logs_the_onnx_flavor(mlflow_server, mlflow_model_name):
    made = mlflow_server.populate("onnx", mlflow_model_name)

    [version] = versions_of(mlflow_server, mlflow_model_name)
    assert version["source"] == f"models:/{made['model_id']}"
    files = model_artifacts(mlflow_server, made["model_id"])
    assert files["model.onnx"] > 0
    assert set(mlmodel(mlflow_server, made["model_id"])["flavors"]) == {"python_function", "onnx"}


def test_dataset_inputs_appear_on_the_run_with_their_digests(mlflow_server, mlflow_model_name):
    made = mlflow_server.populate("dataset", mlflow_model_name)

    run = get(mlflow_server, f"{API}/runs/get", run_id=made["run_id"])["run"]
    seen = [
        {
            "name": entry["dataset"]["name"],
            "digest": entry["dataset"]["digest"],
            "context": {tag["key"]: tag["value"] for tag in entry["tags"]}["mlflow.data.context"],
            "source": json.loads(entry["dataset"]["source"])["uri"],
        }
        for entry in run["inputs"]["dataset_inputs"]
    ]
    assert sorted(seen, key=lambda data: data["name"]) == sorted(
        made["datasets"], key=lambda data: data["name"]
    )
    assert {data["context"] for data in seen} == {"training", "validation"}


def test_new_version_alias_and_tag(mlflow_server, mlflow_model_name):
    first = mlflow_server.populate("sklearn", mlflow_model_name)
    second = mlflow_server.populate("new-version", mlflow_model_name)
    mlflow_server.populate("alias", mlflow_model_name, "production", second["version"])
    mlflow_server.populate("tag", mlflow_model_name, second["version"], "risk_tier", "high")

    assert (first["version"], second["version"]) == ("1", "2")
    assert second["model_id"] != first["model_id"]
    aliased = get(mlflow_server, f"{API}/registered-models/alias", name=mlflow_model_name, alias="production")
    assert aliased["model_version"]["version"] == "2"
    version = get(mlflow_server, f"{API}/model-versions/get", name=mlflow_model_name, version="2")
    assert {"key": "risk_tier", "value": "high"} in version["model_version"]["tags"]


def test_bulk_versions_share_one_logged_model(mlflow_server, mlflow_model_name):
    made = mlflow_server.populate("bulk", mlflow_model_name, "5")

    versions = versions_of(mlflow_server, mlflow_model_name)
    assert [version["version"] for version in versions] == ["1", "2", "3", "4", "5"]
    assert {version["source"] for version in versions} == {f"models:/{made['model_id']}"}
    assert {"key": "index", "value": "5"} in versions[-1]["tags"]
    assert made["seconds_versions"] >= 0  # reported for the benchmark, not judged here


def received(receiver, name: str, entity: str, action: str):
    """The delivery of this event about model ``name``, and its parsed body."""

    def matches(delivery):
        payload = json.loads(delivery.body)
        return (payload["entity"], payload["action"], payload["data"]["name"]) == (entity, action, name)

    delivery = receiver.wait_for(matches)
    return delivery, json.loads(delivery.body)


def test_webhooks_reach_127_0_0_1_signed(mlflow_server, mlflow_model_name, webhook_receiver):
    secret = "attest-webhook-secret"
    hook = mlflow_server.populate("webhook", webhook_receiver.url, secret)
    assert hook["id"]

    made = mlflow_server.populate("sklearn", mlflow_model_name)  # version 1, alias champion, a tag
    mlflow_server.populate("untag", mlflow_model_name, "1", "validation_status")
    mlflow_server.populate("unalias", mlflow_model_name, "champion")

    created, payload = received(webhook_receiver, mlflow_model_name, "model_version", "created")
    assert set(payload) == {"entity", "action", "timestamp", "data"}
    # the logged model is registered by model_id: the payload has no run_id, the REST version has it
    assert payload["data"] == {
        "name": mlflow_model_name,
        "version": "1",
        "source": f"models:/{made['model_id']}",
        "run_id": None,
        "tags": {},
        "description": None,
    }
    headers = {key.lower(): value for key, value in created.headers.items()}
    assert headers["x-mlflow-timestamp"].isdigit()
    assert headers["x-mlflow-signature"] == webhook_signature(
        secret, headers["x-mlflow-delivery-id"], headers["x-mlflow-timestamp"], created.body
    )
    _, alias = received(webhook_receiver, mlflow_model_name, "model_version_alias", "created")
    assert alias["data"] == {"name": mlflow_model_name, "alias": "champion", "version": "1"}
    _, tag = received(webhook_receiver, mlflow_model_name, "model_version_tag", "set")
    assert tag["data"] == {
        "name": mlflow_model_name,
        "version": "1",
        "key": "validation_status",
        "value": "pending",
    }
    _, untag = received(webhook_receiver, mlflow_model_name, "model_version_tag", "deleted")
    assert untag["data"] == {"name": mlflow_model_name, "version": "1", "key": "validation_status"}
    _, unalias = received(webhook_receiver, mlflow_model_name, "model_version_alias", "deleted")
    assert unalias["data"] == {"name": mlflow_model_name, "alias": "champion"}


def test_mlflow_refuses_webhooks_to_127_0_0_1_by_default(tmp_path):
    """What an MLflow administrator must change for Attest on a private address: both variables."""
    defaults = {"MLFLOW_WEBHOOK_ALLOWED_SCHEMES": None, "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": None}
    server = MlflowServer(tmp_path / "mlflow", env_overrides=defaults).start()
    try:
        with pytest.raises(RuntimeError, match="Invalid webhook URL scheme: 'http'"):
            server.populate("webhook", "http://127.0.0.1:9/hook", "secret")
        with pytest.raises(RuntimeError, match="public IP"):
            server.populate("webhook", "https://127.0.0.1:9/hook", "secret")
    finally:
        server.stop()


def test_a_fresh_server_has_an_empty_registry(mlflow_server, fresh_mlflow_server, mlflow_model_name):
    mlflow_server.run_script(
        "import json, sys; from mlflow import MlflowClient;"
        " print(json.dumps(MlflowClient().create_registered_model(sys.argv[1]).name))",
        mlflow_model_name,
    )

    assert fresh_mlflow_server.url != mlflow_server.url
    assert get(fresh_mlflow_server, f"{API}/registered-models/search").get("registered_models", []) == []


def test_a_missing_mlflow_venv_fails_with_the_make_target(monkeypatch, tmp_path):
    monkeypatch.setenv("ATTEST_MLFLOW_PYTHON", str(tmp_path / "nowhere" / "python"))

    with pytest.raises(MlflowEnvMissing, match="make mlflow-env"):
        mlflow_python()
    with pytest.raises(pytest.fail.Exception, match="make mlflow-env"):
        start_server(tmp_path / "mlflow")
