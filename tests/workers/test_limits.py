"""Per-task memory limits on the heavy queues (issue 13): pool children of a worker on ``checks`` or
``reports`` cap their address space, so a task that allocates too much fails with MemoryError instead of
growing until the host's OOM killer picks a victim."""

import resource
import subprocess
import sys

import psutil
import pytest

from monitoring.services import runs
from tests.conftest import ROOT, WorkerProcess
from tests.workers.conftest import pool_children, wait_until_executing
from workers import limits

MIB = 1024 * 1024
ALLOCATE_PAST_THE_LIMIT = """
import sys
from workers import limits
used = int(next(l for l in open("/proc/self/status") if l.startswith("VmSize:")).split()[1]) // 1024
limits.cap_address_space(used + 200)
try:
    bytearray(1024 * 1024 * 1024)
except MemoryError:
    print("MemoryError", flush=True)
print(len(bytearray(1024 * 1024)))  # the process goes on: small allocations still succeed
"""


def test_a_task_allocating_past_the_cap_gets_a_memory_error_and_the_process_goes_on():
    result = subprocess.run(
        [sys.executable, "-c", ALLOCATE_PAST_THE_LIMIT], cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["MemoryError", str(MIB)]


@pytest.mark.parametrize(
    ("queues", "limited"),
    [({"checks"}, True), ({"reports", "default"}, True), ({"sandbox"}, False), ({"default"}, False)],
)
def test_it_caps_workers_on_the_checks_and_reports_queues_only(queues, limited):
    assert limits.applies_to(queues, ["checks", "reports"], 4096) is limited
    assert limits.applies_to(queues, ["checks", "reports"], 0) is False  # 0 turns it off


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_checks_workers_pool_children_run_under_the_cap(worker_env):
    worker = WorkerProcess({**worker_env, "ATTEST_WORKER_MEMORY_MB": "3000"}, "checks").start()
    try:
        wait_until_executing(worker)
        caps = [child.rlimit(psutil.RLIMIT_AS) for child in pool_children(worker)]
        main = psutil.Process(worker.process.pid).rlimit(psutil.RLIMIT_AS)
    finally:
        worker.stop()

    # the soft limit only: a sandbox child started by a task may still set its own (monitoring.sandbox)
    assert caps == [(3000 * MIB, resource.RLIM_INFINITY)]
    assert main == (resource.RLIM_INFINITY, resource.RLIM_INFINITY)


def test_a_check_stopped_by_the_cap_names_the_limit(settings):
    settings.ATTEST_WORKER_MEMORY_MB = 3000

    message = runs._message(MemoryError("Unable to allocate 7.45 GiB for an array"))

    assert "ATTEST_WORKER_MEMORY_MB = 3000 MB" in message
    assert message.endswith("Unable to allocate 7.45 GiB for an array")
