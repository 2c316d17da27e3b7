"""Pytest fixtures around a real MLflow server (tests/integrations/mlflow/server.py).

Tests in this folder get them through its conftest.py; tests elsewhere import them into their module or
conftest (``from tests.integrations.mlflow.fixtures import mlflow_server, mlflow_model_name  # noqa: F401``).

* ``mlflow_server`` (session): one server per test process; tests keep apart with ``mlflow_model_name``.
* ``fresh_mlflow_server`` (function): a server of the test's own, empty, for a test that needs a whole
  registry to itself (a full sync, counting every registered model); about 3 s more.
* ``allow_local`` lets the outbound guard reach 127.0.0.1; ``registry`` is a registry of the shared server
  that imports only the test's ``mlflow_model_name``.
* ``webhook_receiver``: a 127.0.0.1 HTTP endpoint that records what MLflow's webhooks POST to it.
"""

from __future__ import annotations

import http.server
import threading
import time
import uuid
from dataclasses import dataclass

import pytest

from integrations.services import registries
from tests.integrations.mlflow.server import MlflowEnvMissing, MlflowServer


def start_server(folder) -> MlflowServer:
    try:
        return MlflowServer(folder).start()
    except MlflowEnvMissing as missing:
        pytest.fail(str(missing), pytrace=False)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("mlflow"))
    yield server
    server.stop()


@pytest.fixture
def fresh_mlflow_server(tmp_path):
    server = start_server(tmp_path / "mlflow")
    yield server
    server.stop()


@pytest.fixture
def mlflow_model_name(request) -> str:
    """A registered-model name no other test uses on the shared server."""
    test = request.node.name.replace("[", "-").replace("]", "")[:60]
    return f"{test}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def allow_local(settings):
    """The tracking server runs on 127.0.0.1, which the outbound guard refuses unless allow-listed."""
    settings.ATTEST_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]


@pytest.fixture
def registry(mlflow_server, maya, credit_risk, allow_local, mlflow_model_name):
    return registries.registry_create(
        actor=maya,
        name="research",
        tracking_uri=mlflow_server.url,
        team=credit_risk,
        model_names=[mlflow_model_name],
    )


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    """Answers 200 to every POST and keeps it; ``wait_for`` polls until a matching delivery arrived (MLflow
    delivers from a thread pool, after the REST call that caused the event has answered)."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.deliveries.append(Delivery(self.path, dict(self.headers.items()), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):  # keep pytest's output clean
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/mlflow-webhook"

    def wait_for(self, matches, timeout: float = 30.0) -> Delivery:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for delivery in list(self.deliveries):
                if matches(delivery):
                    return delivery
            time.sleep(0.1)
        raise AssertionError(f"no matching delivery in {timeout}s; got {[d.body for d in self.deliveries]}")


@pytest.fixture
def webhook_receiver():
    receiver = WebhookReceiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()
