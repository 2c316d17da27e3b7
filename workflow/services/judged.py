"""Judged evaluation metrics in the workflow: the policy's minimum mean score per metric, and the judge's
least agreement with people (Cohen's kappa on a human-labelled sample), checked before an approval.

For a model of kind ``llm_application`` (the LLM track) every metric the policy names is required; a
model of another kind under the same tier policy (e.g. an MLflow-imported model with a GenAI evaluation)
is held to the minimums for the metrics it has, and not asked for the others.
"""

from __future__ import annotations

from typing import Any

from monitoring.models import JudgedEvaluation
from monitoring.services.judged import evaluation_metrics, judged_evaluations_of
from registry.models import ModelVersion
from registry.models.inventory import ModelKind
from workflow.models import Policy


def latest_metrics(version: ModelVersion) -> dict[str, tuple[JudgedEvaluation, dict[str, Any]]]:
    """Per metric name, the newest imported evaluation of the version that has it, and its row."""
    found: dict[str, tuple[JudgedEvaluation, dict[str, Any]]] = {}
    for evaluation in judged_evaluations_of(version):
        for metric in evaluation_metrics(evaluation):
            found.setdefault(metric["metric"], (evaluation, metric))
    return found


def approval_missing(version: ModelVersion, policy: Policy) -> list[str]:
    minimums = policy.judged_metric_minimums or {}
    if not minimums:
        return []
    found = latest_metrics(version)
    required = version.model.kind == ModelKind.LLM_APPLICATION
    missing = []
    for name, minimum in sorted(minimums.items()):
        if name not in found:
            if required:
                missing.append(f"judged metric '{name}': no imported evaluation of this version has it")
            continue
        evaluation, metric = found[name]
        where = f"judged metric '{name}' (evaluation {evaluation.pk})"
        mean = metric["mean_score"]
        if mean is None or mean < minimum:
            shown = "undefined" if mean is None else f"{mean:.4f}"
            missing.append(f"{where}: mean score {shown} is below the policy's {minimum:g}")
        kappa_minimum = policy.judge_kappa_minimum
        if kappa_minimum is None:
            continue
        if not metric["human_labelled"]:
            missing.append(f"{where}: no human-labelled sample to measure the judge's agreement")
        elif metric["kappa"] is None or metric["kappa"] < kappa_minimum:
            shown = "undefined" if metric["kappa"] is None else f"{metric['kappa']:.4f}"
            missing.append(
                f"{where}: the judge's Cohen's kappa against {metric['human_labelled']} human labels is "
                f"{shown}, below the policy's {kappa_minimum:g}"
            )
    return missing
