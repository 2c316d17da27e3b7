"""The sandbox child process: ``python -m monitoring.sandbox.runner job.json``.

Its first act is to arrange to die with the worker that started it; then it imports its own libraries
(numpy, pandas, pyarrow) and caps its resources; only then does it import a model library and load the
artifact. It always tries to leave ``result.json`` behind (``{"ok": true, "report": ...}`` or
``{"ok": false, "error": {"type", "message"}}``); when it cannot (killed by a limit), the parent
explains the exit status.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
import traceback
from typing import Any

MIB = 1024 * 1024
PR_SET_PDEATHSIG = 1
PARENT_PID_VARIABLE = "ATTEST_SANDBOX_PARENT"


def die_with_parent() -> None:
    """Be killed when the worker process that started us dies (Linux's parent-death signal), so a killed
    worker leaves no model running. A parent that died before this call is noticed by its pid."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    expected = os.environ.get(PARENT_PID_VARIABLE)
    if expected and os.getppid() != int(expected):
        sys.exit(1)  # orphaned already


def set_limits(limits: dict[str, int]) -> None:
    """Address space, CPU seconds, size of files written, no core dumps."""
    memory = limits["memory_mb"] * MIB
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (limits["seconds"], limits["seconds"] + 5))
    size = limits["file_mb"] * MIB
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run(job: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    from monitoring.sandbox import loaders

    rows = pd.read_parquet(job["rows"])
    positive = job.get("positive_label")
    model = loaders.load(job["format"], job["artifact"], job["features"], job["allowed_types"], positive)
    if job["action"] == "score":
        np.save(job["output"], model.scores(rows), allow_pickle=False)
        # after scoring: the output used is known only then for some models (ONNX)
        return {
            "features": model.features,
            "output": model.output,
            "positive_label": positive,
            "library_versions": model.library,
        }
    report = {"features": model.features, "output": model.output, "library_versions": model.library}
    from monitoring.metrics.explain import explain_model

    background = pd.read_parquet(job["background"])[model.features] if job["background"] else None
    progress = _progress_writer(job["progress"]) if job.get("progress") else None
    explanation = explain_model(
        model.native, rows[model.features], background=background, progress=progress, **job["options"]
    )
    with open(job["output"], "w") as handle:
        json.dump(explanation, handle, allow_nan=False)
    return report


def _progress_writer(path: str):
    """Report ``(done, total)`` to the parent: a small JSON file replaced atomically after each batch."""

    def report(done: int, total: int) -> None:
        partial = f"{path}.partial"
        with open(partial, "w") as handle:
            json.dump({"done": int(done), "total": int(total)}, handle)
        os.replace(partial, path)

    return report


def address_space_mib() -> int | None:
    """This process's virtual size (what RLIMIT_AS counts), on Linux."""
    try:
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("VmSize:"))
    except (OSError, StopIteration):
        return None
    return int(line.split()[1]) // 1024


def main(argv: list[str]) -> int:
    die_with_parent()
    with open(argv[1]) as handle:
        job = json.load(handle)
    # The runner's own libraries load before the limit, which is the model's: a limit hit while importing
    # would surface as an ImportError or worse instead of as the limit (issue 13, finding 9).
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    memory_mb = job["limits"]["memory_mb"]
    used = address_space_mib()
    if used is not None and used >= memory_mb:
        message = (
            f"The sandbox memory limit of {memory_mb} MiB is below the {used} MiB the sandbox needs before it "
            "loads the model; raise ATTEST_SANDBOX_MEMORY_MB."
        )
        return _write(job, {"ok": False, "error": {"type": "SandboxMemoryError", "message": message}})
    set_limits(job["limits"])
    try:
        outcome = {"ok": True, "report": run(job)}
    except MemoryError:
        message = f"The model exceeded the sandbox memory limit of {memory_mb} MiB."
        outcome = {"ok": False, "error": {"type": "SandboxMemoryError", "message": message}}
    except Exception as exc:
        error_type = getattr(exc, "error_type", None) or type(exc).__name__
        traceback.print_exc(file=sys.stderr)
        outcome = {"ok": False, "error": {"type": error_type, "message": str(exc) or error_type}}
    return _write(job, outcome)


def _write(job: dict[str, Any], outcome: dict[str, Any]) -> int:
    with open(job["result"], "w") as handle:
        json.dump(outcome, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
