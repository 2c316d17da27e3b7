"""Executing uploaded models: only in a child process with resource limits, only from safe formats.

The parent (a Celery worker on the ``sandbox`` queue) writes the rows to score or explain and a job
description into a private temporary folder, then starts ``python -m monitoring.sandbox.runner`` with a
scrubbed environment (no database URL, no secret key) and waits at most the wall-clock limit. The child
caps its own address space (RLIMIT_AS), CPU time, file size and core dumps before it imports any model
library, loads the artifact with a loader that cannot run code from the file (ONNX Runtime on the CPU
provider, skops after its untrusted-type check, XGBoost JSON/UBJSON, LightGBM text) and writes its
answer back as ``.npy`` / JSON. Pickle and joblib are refused here as well as upstream.

The child dies with the worker process that started it (Linux's parent-death signal, set first thing in the
runner), and its folder lies in the pool child's own temporary folder, which the next worker or pool child
to start removes if the worker was killed (workers.scratch).

This package imports no Django, so the child starts quickly and sees nothing of the application.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent.parent
SAFE_FORMATS = frozenset({"onnx", "skops", "xgboost-json", "xgboost-ubj", "lightgbm-txt"})
STDERR_TAIL = 2000
PROGRESS_POLL_SECONDS = 0.5  # how often the parent reads the child's progress file
Progress = Callable[[int, int], None]  # (done, total), e.g. rows explained


class SandboxError(RuntimeError):
    """The sandboxed execution failed; ``error_type`` names what went wrong in the child or around it."""

    def __init__(self, message: str, *, error_type: str = "SandboxError"):
        super().__init__(message)
        self.error_type = error_type


class ModelRefused(SandboxError):
    """The artifact must not be executed (pickle, unknown format, untrusted skops types)."""

    def __init__(self, message: str):
        super().__init__(message, error_type="ModelRefused")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandbox child."""

    memory_mb: int = 4096
    seconds: int = 900
    file_mb: int = 1024

    def as_dict(self) -> dict[str, int]:
        return {"memory_mb": self.memory_mb, "seconds": self.seconds, "file_mb": self.file_mb}


def refuse_unsafe_format(artifact_format: str) -> None:
    """Raise ModelRefused unless the format is one the sandbox can load without running its code."""
    if artifact_format in {"pickle", "joblib"}:
        raise ModelRefused(
            "The artifact is a pickle/joblib file; Attest never loads those because unpickling runs code "
            "from the file. Register the model as ONNX, skops, XGBoost JSON or LightGBM text."
        )
    if artifact_format not in SAFE_FORMATS:
        raise ModelRefused(
            f"The artifact format {artifact_format!r} cannot be executed; executable formats are "
            f"{', '.join(sorted(SAFE_FORMATS))}."
        )


def score(
    *,
    artifact: Path,
    artifact_format: str,
    frame: pd.DataFrame,
    features: list[str],
    allowed_types: Iterable[str],
    limits: Limits,
    positive_label: Any,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Model scores for every row of ``frame``: P(``positive_label``), found through the model's own class
    names (``monitoring.sandbox.classes``), or the model's output as it is when ``positive_label`` is None
    (regression). A classifier whose classes cannot be matched fails with ``ClassMappingError``.

    Returns the scores and what the child reported (features used, output used, library versions).
    """
    with tempfile.TemporaryDirectory(prefix="attest-sandbox-") as folder:
        work = Path(folder)
        frame.to_parquet(work / "rows.parquet", index=False)
        report = _run(
            work,
            {
                "action": "score",
                "format": artifact_format,
                "artifact": str(artifact),
                "rows": str(work / "rows.parquet"),
                "features": features,
                "allowed_types": sorted(allowed_types),
                "positive_label": positive_label,
                "output": str(work / "scores.npy"),
            },
            limits,
        )
        scores = np.load(work / "scores.npy", allow_pickle=False)
    if scores.shape != (len(frame),):
        raise SandboxError(f"The model returned {scores.shape} scores for {len(frame)} rows.")
    return scores, report


def explain(
    *,
    artifact: Path,
    artifact_format: str,
    frame: pd.DataFrame,
    background: pd.DataFrame | None,
    features: list[str],
    allowed_types: Iterable[str],
    options: dict[str, Any],
    limits: Limits,
    on_progress: Progress | None = None,
) -> dict[str, Any]:
    """SHAP summary of the model on ``frame`` (``monitoring.metrics.explain.explain_model``'s result).

    ``on_progress(rows_done, rows_to_explain)`` is called in this process while the child works, each time the
    child reports a finished batch (it writes them to a file the parent polls)."""
    with tempfile.TemporaryDirectory(prefix="attest-sandbox-") as folder:
        work = Path(folder)
        frame.to_parquet(work / "rows.parquet", index=False)
        spec = {
            "action": "explain",
            "format": artifact_format,
            "artifact": str(artifact),
            "rows": str(work / "rows.parquet"),
            "background": None,
            "features": features,
            "allowed_types": sorted(allowed_types),
            "options": options,
            "output": str(work / "explanation.json"),
            "progress": str(work / "progress.json") if on_progress is not None else None,
        }
        if background is not None:
            background.to_parquet(work / "background.parquet", index=False)
            spec["background"] = str(work / "background.parquet")
        report = _run(work, spec, limits, on_progress)
        explanation = json.loads((work / "explanation.json").read_text())
    return explanation | {"sandbox": report}


def _child_environment(work: Path) -> dict[str, str]:
    """Only what Python needs: the worker's secrets and database URL stay behind."""
    single_thread = dict.fromkeys(
        ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"), "1"
    )
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "TMPDIR": str(work),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "NUMBA_CACHE_DIR": str(work / "numba"),
        # glibc reserves 64 MiB of address space per thread arena, which RLIMIT_AS counts
        "MALLOC_ARENA_MAX": "2",
        "ATTEST_SANDBOX_PARENT": str(os.getpid()),  # the runner exits if this process is gone
        **single_thread,
    }


def _run(
    work: Path, spec: dict[str, Any], limits: Limits, on_progress: Progress | None = None
) -> dict[str, Any]:
    spec["limits"] = limits.as_dict()
    spec["result"] = str(work / "result.json")
    (work / "job.json").write_text(json.dumps(spec))
    command = [sys.executable, "-m", "monitoring.sandbox.runner", str(work / "job.json")]
    # stderr goes to a file, not a pipe: the parent polls for progress instead of reading, and a pipe nobody
    # reads would stall a child that writes much
    with open(work / "stderr.txt", "wb") as stderr_file:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=_child_environment(work),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr_file,
            start_new_session=True,  # its own process group, so a time-out kills everything it started
        )
    try:
        _wait(process, limits, spec.get("progress"), on_progress)
    finally:
        # also on the worker's soft time limit (an exception raised while we wait) or a progress callback's
        if process.poll() is None:
            _kill_group(process)
    stderr = (work / "stderr.txt").read_bytes()[-STDERR_TAIL * 4 :]
    return _read_result(work / "result.json", process.returncode, stderr, limits)


def _wait(process: subprocess.Popen, limits: Limits, progress_file: str | None, on_progress: Progress | None):
    """Wait for the child within the wall-clock limit, passing on each progress it reports (the last one
    too, when it came after the last poll)."""
    deadline = time.monotonic() + limits.seconds
    seen = None
    while True:
        left = max(0.0, deadline - time.monotonic())
        finished = True
        try:
            process.wait(timeout=min(left, PROGRESS_POLL_SECONDS) if on_progress else left)
        except subprocess.TimeoutExpired:
            finished = False
        if not finished and time.monotonic() >= deadline:
            _kill_group(process)
            raise SandboxError(
                f"The model did not finish within the sandbox limit of {limits.seconds} s.",
                error_type="SandboxTimeout",
            )
        reported = _read_progress(progress_file) if on_progress is not None else None
        if reported is not None and reported != seen and (not finished or process.returncode == 0):
            seen = reported
            on_progress(*reported)
        if finished:
            return


def _read_progress(path: str | None) -> tuple[int, int] | None:
    """``(done, total)`` from the child's progress file (written atomically), None before the first."""
    if not path:
        return None
    try:
        found = json.loads(Path(path).read_text())
        return int(found["done"]), int(found["total"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _read_result(path: Path, returncode: int, stderr: bytes, limits: Limits) -> dict[str, Any]:
    result = json.loads(path.read_text()) if path.exists() else None
    if result is not None and result.get("ok"):
        return result.get("report", {})
    if result is not None:
        error = result["error"]
        if error["type"] == "ModelRefused":
            raise ModelRefused(error["message"])
        raise SandboxError(error["message"], error_type=error["type"])
    tail = stderr.decode("utf-8", "replace")[-STDERR_TAIL:].strip()
    if returncode < 0:
        name = signal.Signals(-returncode).name
        raise SandboxError(
            f"The sandbox process was killed by {name}; the model may have exceeded the memory limit of "
            f"{limits.memory_mb} MiB or the CPU limit of {limits.seconds} s. {tail}".strip(),
            error_type="SandboxKilled",
        )
    raise SandboxError(
        f"The sandbox process exited with status {returncode} without an answer. {tail}".strip(),
        error_type="SandboxCrashed",
    )
