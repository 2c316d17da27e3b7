"""The sandbox child process: ``python -m monitoring.sandbox.runner job.json``.

Its first act is to cap its own resources; only then does it import a model library and load the
artifact. It always tries to leave ``result.json`` behind (``{"ok": true, "report": ...}`` or
``{"ok": false, "error": {"type", "message"}}``); when it cannot (killed by a limit), the parent
explains the exit status.
"""

from __future__ import annotations

import json
import resource
import sys
import traceback
from typing import Any

MIB = 1024 * 1024


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
    explanation = explain_model(model.native, rows[model.features], background=background, **job["options"])
    with open(job["output"], "w") as handle:
        json.dump(explanation, handle, allow_nan=False)
    return report


def main(argv: list[str]) -> int:
    with open(argv[1]) as handle:
        job = json.load(handle)
    set_limits(job["limits"])
    try:
        outcome = {"ok": True, "report": run(job)}
    except MemoryError:
        message = f"The model exceeded the sandbox memory limit of {job['limits']['memory_mb']} MiB."
        outcome = {"ok": False, "error": {"type": "SandboxMemoryError", "message": message}}
    except Exception as exc:
        error_type = getattr(exc, "error_type", None) or type(exc).__name__
        traceback.print_exc(file=sys.stderr)
        outcome = {"ok": False, "error": {"type": error_type, "message": str(exc) or error_type}}
    with open(job["result"], "w") as handle:
        json.dump(outcome, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
