"""A live server for the client and the CLI: gunicorn on 127.0.0.1 over the test database, as the
contract tests start it (tests/contract/test_schemathesis.py), with maya's API token."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from urllib.error import URLError
from urllib.request import urlopen

import pytest

from accounts.services import accounts
from tests.conftest import ROOT, WorkerProcess, database_url_for_tests
from tests.integrations.mlflow.fixtures import (  # noqa: F401 (for test_cli_mlflow.py; started when asked for)
    mlflow_model_name,
    mlflow_server,
)

# an administrator's allow-list entry (config.outbound) for the server and its workers: the MLflow tracking
# server the CLI tests connect runs on 127.0.0.1, which the outbound guard refuses otherwise
LOOPBACK_ALLOWED = {"ATTEST_OUTBOUND_ALLOW_HOSTS": "127.0.0.1"}


@pytest.fixture(scope="module")
def server_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """One gunicorn per test module (starting one takes seconds); each test's rows are its own all the
    same, since the tests are transactional and the server reads the same test database."""
    folder = tmp_path_factory.mktemp("client-server")
    media = {
        "ATTEST_MEDIA_ROOT": str(folder / "media"),
        "ATTEST_AUDIT_SIGNING_KEY": str(folder / "keys" / "audit.pem"),
        "ATTEST_AUDIT_EXPORT_DIR": str(folder / "checkpoints"),
    }
    (folder / "media").mkdir()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, **media, **LOOPBACK_ALLOWED, "DATABASE_URL": database_url_for_tests()}
    log = (folder / "gunicorn.log").open("wb")
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(base_url, server)
        yield base_url, media
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture
def api_server(server_process) -> str:
    return server_process[0]


@pytest.fixture
def server_media(server_process) -> dict[str, str]:
    """The server's blob folder and audit paths, for a worker that must read what it wrote."""
    return server_process[1]


def _wait_until_serving(base_url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.returncode}")
        try:
            with urlopen(f"{base_url}/api/schema/?format=json", timeout=5) as answer:  # noqa: S310 (our server)
                if answer.status == 200:
                    return
        except (URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    pytest.fail("gunicorn did not answer within 60 s")


@pytest.fixture
def maya_token(maya) -> str:
    _token, secret = accounts.token_create(actor=maya, name="cli-tests", expires_in_days=1)
    return secret


@pytest.fixture
def cli_env(api_server, maya_token, tmp_path, monkeypatch) -> dict[str, str]:
    """What a CI job sets: the server and a token; the config folder is this test's own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return {"ATTEST_URL": api_server, "ATTEST_TOKEN": maya_token}


@pytest.fixture
def worker(worker_env, server_media):
    """A real worker reading the blobs the server wrote."""
    process = WorkerProcess({**worker_env, **server_media, **LOOPBACK_ALLOWED}).start()
    yield process
    process.stop()
