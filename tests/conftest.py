"""Personas and shared fixtures.

The personas mirror DESIGN.md's demo users: ``maya`` (ml-engineer) and ``victor`` (validator) in team
credit-risk, ``rita`` (risk-officer), ``aaron`` (auditor), ``admin``; ``olga`` (ml-engineer, team fraud)
is the outsider who must see nothing of credit-risk; ``ivan`` is an inactive credit-risk engineer.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from rest_framework.test import APIClient

from tests.factories import PASSWORD, TeamFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    """Parallel test processes (pytest-xdist) each get their own broker, as they each get their own
    database: a worker started by one process must never take another process's tasks."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        _use_broker_of_test_process(int(worker.removeprefix("gw")))


# Files whose tests start workers, servers or browsers, or are marked slow, run first, the longest kinds
# first (the contract run against a live server takes minutes): with one file per test process at a time
# (--dist loadfile), a long file handed out last keeps its process busy while the others have finished
# (longest first is the classic cure for that tail).
LONG_RUNNING_MARKERS = ("contract", "browser", "worker", "slow")


def pytest_collection_modifyitems(session, config, items):
    def file_of(item) -> str:
        return item.nodeid.split("::", 1)[0]

    rank: dict[str, int] = {}
    for item in items:
        for position, name in enumerate(LONG_RUNNING_MARKERS):
            if item.get_closest_marker(name):
                rank[file_of(item)] = min(rank.get(file_of(item), position), position)
    unmarked = len(LONG_RUNNING_MARKERS)
    items.sort(key=lambda item: rank.get(file_of(item), unmarked))  # stable: each file's order is kept


def _use_broker_of_test_process(index: int) -> None:
    from django.conf import settings

    from config.celery_app import app

    url = settings.CELERY_BROKER_URL
    options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    if url.startswith(("redis://", "rediss://")):
        base, _, db = url.rpartition("/")
        url = f"{base}/{int(db or 0) + index}"
    elif url.startswith("filesystem"):
        folder = Path(settings.ATTEST_BROKER_DIR) / f"gw{index}"
        for name in ("queue", "processed", "control"):
            (folder / name).mkdir(parents=True, exist_ok=True)
        options.update(
            data_folder_in=str(folder / "queue"),
            data_folder_out=str(folder / "queue"),
            processed_folder=str(folder / "processed"),
            control_folder=str(folder / "control"),
        )
        os.environ["ATTEST_BROKER_DIR"] = str(folder)
    os.environ["CELERY_BROKER_URL"] = url
    settings.CELERY_BROKER_URL = url
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = options
    app.conf.update(broker_url=url, broker_transport_options=options)


@pytest.fixture
def credit_risk(db):
    return TeamFactory(name="credit-risk", title="Credit Risk Modelling")


@pytest.fixture
def fraud(db):
    return TeamFactory(name="fraud", title="Fraud Detection")


@pytest.fixture
def maya(credit_risk):
    return UserFactory(username="maya", role="ml-engineer", teams=[credit_risk])


@pytest.fixture
def victor(credit_risk):
    return UserFactory(username="victor", role="validator", teams=[credit_risk])


@pytest.fixture
def rita(credit_risk):
    return UserFactory(username="rita", role="risk-officer", teams=[credit_risk])


@pytest.fixture
def aaron(credit_risk):
    return UserFactory(username="aaron", role="auditor", teams=[credit_risk])


@pytest.fixture
def admin_user(credit_risk):
    return UserFactory(username="admin", role="admin", teams=[credit_risk], is_superuser=True)


@pytest.fixture
def olga(fraud):
    return UserFactory(username="olga", role="ml-engineer", teams=[fraud])


@pytest.fixture
def ivan(credit_risk):
    return UserFactory(username="ivan", role="ml-engineer", teams=[credit_risk], is_active=False)


@pytest.fixture(autouse=True)
def media_root(tmp_path_factory, settings, monkeypatch):
    """Blobs go to a per-test folder; a worker process started by the test inherits it.

    The folder is beside the test's tmp_path, not in it: tests that lay out tmp_path themselves (a
    server's own media folder, the scratch folders a worker cleans) find it as they made it."""
    root = tmp_path_factory.mktemp("media")
    settings.MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": root}},
    }
    monkeypatch.setenv("ATTEST_MEDIA_ROOT", str(root))
    return root


@pytest.fixture(autouse=True)
def audit_files(settings, tmp_path):
    """Every test signs with its own audit key and exports checkpoints to its own folder."""
    settings.ATTEST_AUDIT_SIGNING_KEY = tmp_path / "keys" / "audit.pem"
    settings.ATTEST_AUDIT_EXPORT_DIR = tmp_path / "checkpoints"
    return settings


@pytest.fixture(autouse=True)
def no_alert_task(settings, monkeypatch):
    """Monitoring alerts are sent to governance by task name through the broker; a test that follows an
    alert there sets ``ATTEST_ALERT_TASK`` itself, so no other test leaves messages in the broker."""
    settings.ATTEST_ALERT_TASK = ""
    monkeypatch.setenv("ATTEST_ALERT_TASK", "")


@pytest.fixture
def console(client, admin_user):
    """The Django test client signed in as the administrator (the admin console's pages)."""
    client.force_login(admin_user)
    return client


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def api():
    """An API client; ``api.as_user(user)`` signs in with a session, ``api.with_token(raw)`` with a bearer token."""
    return PersonaClient()


class PersonaClient(APIClient):
    def as_user(self, user):
        self.logout()
        if user is not None:
            self.force_login(user)
        return self

    def with_token(self, token: str):
        self.logout()
        self.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return self


def database_url_for_tests() -> str:
    """DATABASE_URL of the test database pytest-django created, for processes we start (workers)."""
    from django.db import connection

    settings = connection.settings_dict
    user = quote(settings["USER"] or "")
    password = f":{quote(settings['PASSWORD'])}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or ""
    if host.startswith("/"):
        return f"postgres://{user}{password}@/{settings['NAME']}?host={quote(host)}"
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    return f"postgres://{user}{password}@{host}{port}/{settings['NAME']}"


class WorkerProcess:
    """A real Celery worker in a child process, consuming every queue from the configured broker."""

    def __init__(
        self, env: dict[str, str], queues: str = "default,checks,reports,sandbox", concurrency: int = 1
    ):
        self.env = env
        self.queues = queues
        self.concurrency = concurrency
        self.process: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            self.queues,
            "-c",
            str(self.concurrency),
            "--without-mingle",
            "--without-gossip",
            "-l",
            "WARNING",
            "-P",
            "prefork",
        ]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env)
        return self

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _purge_broker(env: dict[str, str]) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "purge",
            "-f",
            "-Q",
            "default,checks,reports,sandbox",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def worker_env(transactional_db):
    """Environment for a worker process that shares this test's database and broker."""
    env = {**os.environ, "DATABASE_URL": database_url_for_tests(), "CELERY_TASK_ALWAYS_EAGER": "0"}
    _purge_broker(env)
    return env


@pytest.fixture
def celery_worker(worker_env):
    """A running worker for the duration of the test (stopped, then killed if it hangs)."""
    worker = WorkerProcess(worker_env).start()
    yield worker
    worker.stop()


def wait_for(predicate, *, timeout: float = 60.0, interval: float = 0.2, message: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {message}")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness buys nothing in tests and costs seconds per persona.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters live in the cache; one test's sign-in attempts must not throttle the next test.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Role groups, policies and the control catalogue, as the migrations leave them.

    A TransactionTestCase-style test empties every table when it ends, including these rows, so the
    next test could otherwise see a database without its reference data.
    """
    if not (
        {"db", "transactional_db", "live_server"} & set(request.fixturenames)
    ) and not request.node.get_closest_marker("django_db"):
        return
    request.getfixturevalue("transactional_db" if _wants_transactions(request) else "db")
    from workflow.catalogue import ensure_reference_data

    ensure_reference_data()


def _wants_transactions(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        return True
    return bool({"transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture
def outbound_loopback_allowed(settings, monkeypatch):
    """An administrator's allow-list entry for 127.0.0.1 (config.outbound), so webhooks and connectors
    reach the tests' local listeners: in this process, and in a worker started after it (its environment)."""
    settings.ATTEST_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    monkeypatch.setenv("ATTEST_OUTBOUND_ALLOW_HOSTS", "127.0.0.1")
