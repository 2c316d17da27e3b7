"""The MLflow test server does what the import and sync tests rely on: scripts run in its own venv, and
webhooks reach 127.0.0.1 signed as tests/integrations/mlflow/server.py documents. (What each populate
command leaves in MLflow is checked through Attest's import, in tests/integrations/test_mlflow_*.py.)"""

from __future__ import annotations

import json

import httpx
import pytest
import yaml

from tests.integrations.mlflow.fixtures import start_server
from tests.integrations.mlflow.server import MlflowEnvMissing, mlflow_python, webhook_signature

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


def test_a_missing_mlflow_venv_fails_with_the_make_target(monkeypatch, tmp_path):
    monkeypatch.setenv("ATTEST_MLFLOW_PYTHON", str(tmp_path / "nowhere" / "python"))

    with pytest.raises(MlflowEnvMissing, match="make mlflow-env"):
        mlflow_python()
    with pytest.raises(pytest.fail.Exception, match="make mlflow-env"):
        start_server(tmp_path / "mlflow")
