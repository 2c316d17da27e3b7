"""The kinds of check. Each module offers the same five functions:

``normalise(raw, *, version, reference, current)`` validates a requested configuration against the
datasets' schemas (ValidationError naming the field) and returns the resolved one; ``needs_model(config)``
says whether the artifact must run; ``compute(ctx)`` returns the metrics (JSON from monitoring.metrics);
``evaluate(metrics, thresholds)`` judges them; ``charts(metrics)`` extracts the plain data for charts.
Each also declares ``OPTIONS``: its ``config.options``, each an ``inputs.Option`` with its type and range.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from monitoring.checks import drift, explainability, fairness, inputs, llm_evaluation, performance, quality

KINDS: dict[str, ModuleType] = {
    "drift": drift,
    "fairness": fairness,
    "explainability": explainability,
    "performance": performance,
    "data_quality": quality,
    "llm_evaluation": llm_evaluation,
}


def check_options(kind: str, raw: Any) -> None:
    """What can be checked of a requested configuration without its datasets: known keys, and each option's
    type and range as its kind declares it (``OPTIONS``). ValidationError naming the field.

    The API calls this while validating the request; ``normalise`` applies the same declarations again in
    the service, so a caller that skips the API (a monitoring plan, the UI) meets the same bounds.
    """
    module = KINDS[kind]
    own = getattr(module, "OWN_KEYS", ())
    trimmed = {key: value for key, value in raw.items() if key not in own} if isinstance(raw, dict) else raw
    inputs.check_keys(trimmed, module.OPTIONS)
