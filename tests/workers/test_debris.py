"""A killed worker leaves nothing behind: its sandbox child dies with it, and the temporary folders of dead
pool children (copies of models and data) are removed when a worker or a pool child starts (issue 13, 7)."""

from __future__ import annotations

import os
import subprocess
import sys

import psutil

from tests.conftest import ROOT, wait_for
from workers import scratch

PARENT = """
import subprocess, sys
from pathlib import Path
from monitoring import sandbox
command = [sys.executable, "-m", "monitoring.sandbox.runner", sys.argv[2]]
subprocess.run(command, cwd=sandbox.ROOT, env=sandbox._child_environment(Path(sys.argv[1])), start_new_session=True)
"""


def sandbox_children(parent: psutil.Process) -> list[psutil.Process]:
    return [child for child in parent.children() if "monitoring.sandbox.runner" in " ".join(child.cmdline())]


def test_the_sandbox_child_dies_with_the_worker_process_that_started_it(tmp_path):
    job = tmp_path / "job.fifo"
    os.mkfifo(job)  # the child blocks opening its job until the end of time: only its parent's death ends it
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path), str(job)], cwd=ROOT)
    child = None
    try:
        child = wait_for(lambda: sandbox_children(psutil.Process(parent.pid)), message="the sandbox child")[0]
        parent.kill()  # kill -9: no finally, no clean-up in the parent
        parent.wait(timeout=20)

        wait_for(lambda: not running(child), timeout=60, message="the sandbox child to die with its parent")
    finally:
        parent.kill()
        if child is not None and running(child):
            child.kill()


def running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_it_removes_the_folders_of_dead_processes_and_keeps_the_living(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / scratch.folder_name(os.getpid())).mkdir()
    (tmp_path / f"{dead.pid}-123456").mkdir()
    (tmp_path / f"{dead.pid}-123456" / "artifact.skops").write_bytes(b"a model copy")
    (tmp_path / f"{os.getpid()}-1").mkdir()  # this pid, but another start time: a reused pid
    (tmp_path / "not-ours").mkdir()

    removed = scratch.remove_orphans(tmp_path)

    assert sorted(removed) == sorted([f"{dead.pid}-123456", f"{os.getpid()}-1"])
    assert sorted(entry.name for entry in tmp_path.iterdir()) == sorted(
        [scratch.folder_name(os.getpid()), "not-ours"]
    )


def test_a_killed_process_folder_is_removed_and_the_next_one_works_in_its_own(tmp_path):
    code = (
        "import sys, tempfile, pathlib; from workers import scratch; "
        "folder = scratch.use_process_folder(pathlib.Path(sys.argv[1])); "
        "copy = tempfile.mkdtemp(prefix='attest-input-'); pathlib.Path(copy, 'blob').write_bytes(b'model'); "
        "print(folder, copy, flush=True); sys.stdin.read()"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    folder, copy = child.stdout.readline().split()
    assert copy.startswith(folder + os.sep)  # tempfile's default folder is the process's own
    assert scratch.remove_orphans(tmp_path) == []  # alive: kept

    child.kill()
    child.wait()

    assert scratch.remove_orphans(tmp_path) == [os.path.basename(folder)]
    assert not os.path.exists(copy)
