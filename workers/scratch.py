"""Each pool child keeps its temporary files (model copies, sandbox folders, rendered pages) in a folder of its
own, named after its pid and start time; folders whose process is gone are removed when a worker or a pool
child starts. A ``kill -9`` runs no ``finally`` and no ``TemporaryDirectory`` cleanup, so without this a
killed worker's copies of uploaded models would stay on disk for ever.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path

logger = logging.getLogger(__name__)
FOLDER_NAME = "attest-work"


@cache
def default_root() -> Path:
    """Under the system's temporary folder, as it was before any process folder replaced it."""
    return Path(tempfile.gettempdir()) / FOLDER_NAME


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None when no such process exists."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:  # not Linux: existence only
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return "0"
    return stat.rsplit(")", 1)[1].split()[19]


def folder_name(pid: int) -> str:
    return f"{pid}-{_start_time(pid)}"


def _orphaned(name: str) -> bool:
    pid, _, started = name.partition("-")
    if not pid.isdigit():
        return False
    return _start_time(int(pid)) != started  # gone, or its pid now belongs to another process


def remove_orphans(root: Path | None = None) -> list[str]:
    """Delete the folders of processes that no longer exist; returns their names."""
    root = root or default_root()
    if not root.is_dir():
        return []
    removed = [entry.name for entry in root.iterdir() if entry.is_dir() and _orphaned(entry.name)]
    for name in removed:
        shutil.rmtree(root / name, ignore_errors=True)
    if removed:
        logger.info("removed %d temporary folders of dead worker processes", len(removed))
    return removed


def use_process_folder(root: Path | None = None) -> Path:
    """Make this process's own folder the default for ``tempfile`` (and its children's TMPDIR)."""
    root = root or default_root()
    root.mkdir(mode=0o700, exist_ok=True)
    folder = root / folder_name(os.getpid())
    folder.mkdir(mode=0o700, exist_ok=True)
    tempfile.tempdir = str(folder)
    os.environ["TMPDIR"] = str(folder)
    return folder
