"""The kinds of check. Each module offers the same five functions:

``normalise(raw, *, version, reference, current)`` validates a requested configuration against the
datasets' schemas (ValidationError naming the field) and returns the resolved one; ``needs_model(config)``
says whether the artifact must run; ``compute(ctx)`` returns the metrics (JSON from monitoring.metrics);
``evaluate(metrics, thresholds)`` judges them; ``charts(metrics)`` extracts the plain data for charts.
"""

from __future__ import annotations

from types import ModuleType

from monitoring.checks import drift, explainability, fairness, performance, quality

KINDS: dict[str, ModuleType] = {
    "drift": drift,
    "fairness": fairness,
    "explainability": explainability,
    "performance": performance,
    "data_quality": quality,
}
