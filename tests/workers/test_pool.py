"""A worker on the zero-setup filesystem broker keeps executing after its pool children are killed.

With kombu's filesystem transport the worker uses billiard's classic pool, whose children shared a
semaphore that an idle child holds while it waits for work: ``kill -9`` of that child left it taken, and
the worker received tasks and executed none, for ever (issue 13, finding 1). workers.pool fixes it.
"""

from pathlib import Path

import pytest

from accounts.tasks import worker_ping
from audit.models import AuditEvent
from tests.conftest import ROOT, WorkerProcess, wait_for
from tests.workers.conftest import kill_pool_children, pool_children, wait_until_executing

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def filesystem_broker(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "broker"
    for name in ("queue", "processed", "control"):
        (folder / name).mkdir(parents=True)
    return {"ATTEST_BROKER_DIR": str(folder)}


def ping(connection, note: str) -> None:
    worker_ping.apply_async((note,), connection=connection, queue="default")


def pings(prefix: str) -> int:
    return AuditEvent.objects.filter(action="system.worker_ping", after__note__startswith=prefix).count()


def test_it_keeps_executing_after_every_pool_child_is_killed(worker_env, tmp_path):
    from config.celery_app import app

    broker = filesystem_broker(tmp_path)
    env = {key: value for key, value in worker_env.items() if key != "CELERY_BROKER_URL"}
    worker = WorkerProcess({**env, **broker, "ATTEST_WORKER_HEARTBEAT_SECONDS": "1"}, "default", 2).start()
    options = {
        "data_folder_in": f"{broker['ATTEST_BROKER_DIR']}/queue",
        "data_folder_out": f"{broker['ATTEST_BROKER_DIR']}/queue",
        "control_folder": f"{broker['ATTEST_BROKER_DIR']}/control",
    }
    try:
        wait_until_executing(worker)
        with app.connection_for_write("filesystem://", transport_options=options) as connection:
            ping(connection, "before")
            wait_for(lambda: pings("before") == 1, timeout=60, message="the first ping")

            killed = kill_pool_children(worker)
            wait_for(
                lambda: len({child.pid for child in pool_children(worker)} - set(killed)) == 2,
                timeout=60,
                message="two new pool children",
            )
            for number in range(4):
                ping(connection, f"after-{number}")

            wait_for(lambda: pings("after-") == 4, timeout=90, message="the pings sent after the kill")
    finally:
        worker.stop()

    # the transport's exchange bindings live with the broker's folders, not in the working directory
    assert (tmp_path / "broker" / "control" / "default.exchange").exists()
    assert not (ROOT / "control").exists()
