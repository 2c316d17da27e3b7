"""A real MLflow tracking server for the MLflow import/sync tests and benchmark.

MLflow runs from its own virtualenv, ``var/mlflow-venv`` (``make mlflow-env`` builds it; ``make test`` depends
on it), because its pins clash with Attest's and Attest only ever talks to it over REST. The environment
variable ATTEST_MLFLOW_PYTHON points at another interpreter with mlflow installed (its ``mlflow`` script is
expected next to it). Nothing is skipped: without the venv, the fixture fails and says to run
``make mlflow-env``.

The server: ``mlflow server --backend-store-uri sqlite:///<tmp>/mlflow.db --artifacts-destination
<tmp>/artifacts --serve-artifacts --host 127.0.0.1 --port <free> --workers 1``. The sqlite backend is a SQL
registry store, which MLflow webhooks need (a file store silently delivers none). Its default security
middleware accepts Host 127.0.0.1/localhost with any port, so no ``--allowed-hosts`` is needed.

Webhooks in MLflow 3.17 (read from mlflow/webhooks/ and mlflow/utils/validation.py, checked live by
tests/integrations/mlflow/test_mlflow_fixture.py):

* Delivery to 127.0.0.1/localhost is REFUSED by default, twice: the URL scheme must be in
  MLFLOW_WEBHOOK_ALLOWED_SCHEMES (default ``https`` only), and the host must resolve to, and the connected
  socket's peer must be, a global IP (an SSRF guard) unless MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true. Both are
  read by the SERVER process, at webhook creation and again at each delivery; this fixture sets
  ``http,https`` and ``true``.
* Secrets are stored Fernet-encrypted with MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY, or with a key generated per
  process when unset (then unreadable after a restart): the fixture sets a fixed key.
* Subscribed webhooks are cached per event for MLFLOW_WEBHOOK_CACHE_TTL seconds (default 60): a webhook
  created after that event's lookup would miss deliveries; the fixture sets 1.
* Deliveries are asynchronous (a thread pool, so order is not guaranteed) POSTs of
  ``{"entity", "action", "timestamp" (ISO 8601 UTC), "data"}`` with headers X-MLflow-Delivery-Id (uuid4),
  X-MLflow-Timestamp (unix seconds) and, when the webhook has a secret, X-MLflow-Signature:
  ``"v1," + base64(HMAC-SHA256(secret, f"{delivery_id}.{timestamp}.{raw body}"))`` (standard base64, UTF-8).
  MLflow enforces no timestamp tolerance; retries (429/5xx, 3 by default, backoff 1/2/4 s) resend the same
  id, timestamp and signature. See ``webhook_signature`` below and /tmp/mlflow_webhooks.md for payloads.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[3]
VENV = ROOT / "var" / "mlflow-venv"
POPULATE = Path(__file__).resolve().parent / "populate.py"
POPULATE_REPLY = (
    "@@attest-populate "  # populate.py's REPLY (that script runs in the MLflow venv: not imported)
)
START_TIMEOUT_SECONDS = 120
STOP_GRACE_SECONDS = 15
SCRIPT_TIMEOUT_SECONDS = 600
# A fixed Fernet key (32 url-safe base64 bytes) for webhook secrets: only ever protects test secrets.
WEBHOOK_SECRET_KEY = base64.urlsafe_b64encode(b"attest-tests-mlflow-webhook-key!").decode()
# No telemetry or update checks leave the machine: tests touch no network beyond 127.0.0.1.
QUIET_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "GIT_PYTHON_REFRESH": "quiet"}


class MlflowEnvMissing(RuntimeError):
    pass


def mlflow_python() -> Path:
    """The interpreter that has mlflow: ATTEST_MLFLOW_PYTHON, else var/mlflow-venv's."""
    override = os.environ.get("ATTEST_MLFLOW_PYTHON")
    python = Path(override) if override else VENV / "bin" / "python"
    if not python.is_file():
        origin = f"ATTEST_MLFLOW_PYTHON={override}" if override else str(python)
        raise MlflowEnvMissing(
            f"no MLflow interpreter at {origin}: run `make mlflow-env` (builds var/mlflow-venv, about a "
            "minute the first time) or set ATTEST_MLFLOW_PYTHON to a python that has mlflow 3.17 installed"
        )
    return python


def mlflow_executable(python: Path) -> Path:
    executable = python.parent / "mlflow"
    if not executable.is_file():
        raise MlflowEnvMissing(f"{python} has no `mlflow` script next to it: run `make mlflow-env`")
    return executable


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def webhook_signature(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """What MLflow 3.17 sends in X-MLflow-Signature (mlflow/webhooks/delivery.py), for receivers in tests."""
    message = delivery_id.encode() + b"." + timestamp.encode() + b"." + body
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def last_json_line(stdout: str) -> object:
    """mlflow prints run links and progress on stdout; the script's JSON is its last line."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise ValueError("the script printed nothing on stdout")
    return json.loads(lines[-1])


@dataclass
class MlflowServer:
    """A started ``mlflow server``; ``start()`` waits for /health, ``stop()`` ends its process group."""

    folder: Path
    python: Path = field(default_factory=mlflow_python)
    port: int = field(default_factory=free_port)
    # changes to the server's and scripts' environment; None removes a variable (e.g. MLflow's defaults)
    env_overrides: dict[str, str | None] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    populator: subprocess.Popen | None = None  # the ``populate.py serve`` process, started on first use

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.folder / "server.log"

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            **QUIET_ENV,
            "MLFLOW_TRACKING_URI": self.url,
            "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https",
            "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
            "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": WEBHOOK_SECRET_KEY,
            "MLFLOW_WEBHOOK_CACHE_TTL": "1",
            "PYTHONPATH": "",  # Attest's own path has nothing for the MLflow venv
        }
        for name, value in self.env_overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def command(self) -> list[str]:
        return [
            str(mlflow_executable(self.python)),
            "server",
            "--backend-store-uri",
            f"sqlite:///{self.folder / 'mlflow.db'}",
            "--artifacts-destination",
            str(self.folder / "artifacts"),
            "--serve-artifacts",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]

    def start(self) -> MlflowServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            # own session: stop() ends mlflow and the uvicorn it starts, as one group
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.folder,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_healthy()
        return self

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"mlflow server not healthy after {START_TIMEOUT_SECONDS}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.populator is not None and self.populator.poll() is None:
            self.populator.stdin.close()
            try:
                self.populator.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self.populator.kill()
                self.populator.wait()
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def run_script(self, code_or_path: str | Path, *args: str, timeout: float = SCRIPT_TIMEOUT_SECONDS):
        """Runs MLflow-client code in the MLflow venv against this server; returns its stdout's last line
        parsed as JSON. A Path (or a string naming an existing .py file) runs that file, other strings run
        as ``python -c``."""
        target = Path(code_or_path) if isinstance(code_or_path, Path) else None
        if target is None and code_or_path.endswith(".py") and "\n" not in code_or_path:
            target = Path(code_or_path) if Path(code_or_path).is_file() else None
        command = [str(self.python), *([str(target)] if target else ["-c", code_or_path]), *map(str, args)]
        done = subprocess.run(
            command,
            cwd=self.folder,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command[:3])} … exited with {done.returncode}:\n{done.stderr[-4000:]}\n{done.stdout[-2000:]}"
            )
        return last_json_line(done.stdout)

    def populate(self, *args: str, timeout: float = SCRIPT_TIMEOUT_SECONDS):
        """tests/integrations/mlflow/populate.py with these arguments (``sklearn NAME``, ``bulk NAME 1000``…),
        run by one long-lived ``populate.py serve`` process (started on first use, stopped with the server)."""
        if self.populator is None or self.populator.poll() is not None:
            self.populator = subprocess.Popen(
                [str(self.python), str(POPULATE), "serve"],
                cwd=self.folder,
                env=self.env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                start_new_session=True,
            )
        self.populator.stdin.write(json.dumps([str(arg) for arg in args]) + "\n")
        self.populator.stdin.flush()
        answer = self._populate_answer(timeout)
        if "error" in answer:
            raise RuntimeError(
                f"populate {' '.join(map(str, args))}: {answer['error']}\n{answer['traceback']}"
            )
        return answer["result"]

    def _populate_answer(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.populator.stdout.readline()
            if not line:
                raise RuntimeError(f"populate.py serve exited with {self.populator.wait()}")
            if line.startswith(POPULATE_REPLY):
                return json.loads(line[len(POPULATE_REPLY) :])
        raise TimeoutError(f"populate.py gave no answer within {timeout:.0f} s")
