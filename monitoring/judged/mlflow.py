"""MLflow GenAI evaluation results (``mlflow.genai.evaluate``): the judged rows and the people's labels.

The document is what MLflow's tracking server answers over REST, put side by side by the MLflow import
(``integrations.services.mlflow_evaluations``) or by anyone exporting it: ``{"run": <runs/get run>,
"traces": [<trace infos of POST /api/3.0/mlflow/traces/search, with their assessments>]}``. MLflow 3
logs one trace per evaluated row and, on it, one *feedback* assessment per scorer and row, whose
``source`` says who judged (``LLM_JUDGE`` with the judge model as ``source_id``, ``CODE`` for a
deterministic scorer, ``HUMAN`` for a person) and whose metadata carries ``mlflow.assessment.scorerDigest``
(the SHA-256 of the scorer's definition: its prompt version). Expectations (reference answers) are not
verdicts and are skipped, as are assessments marked ``valid: false`` (overridden by a later one).

Scores: a number as it is, ``true``/``false`` and MLflow's ``yes``/``no`` as 1/0 (so the mean equals the
``<scorer>/mean`` metric MLflow logs on the run). People's feedback on the same trace and name is the human
label that Cohen's kappa compares the judge with.
"""

from __future__ import annotations

import math
from typing import Any

JUDGES = {"LLM_JUDGE", "CODE"}
HUMAN = "HUMAN"
SCORER_DIGEST = "mlflow.assessment.scorerDigest"
SCORER_VERSION = "mlflow.assessment.scorerVersion"
YES, NO = {"yes", "true", "pass"}, {"no", "false", "fail"}

# (metric, item, score, passed, judge model, judge prompt version), as monitoring.judged.Verdict
Verdict = tuple[str, str, float | None, bool | None, str, str]


class NotAnEvaluation(ValueError):
    """The document is not an MLflow GenAI evaluation (the message says what is missing)."""


def read(document: Any, threshold: float) -> tuple[list[Verdict], dict[tuple[str, str], bool]]:
    """The judges' verdicts per (scorer, trace) and the people's labels ``{(scorer, trace): passed}``."""
    if not isinstance(document, dict) or not isinstance(document.get("traces"), list):
        raise NotAnEvaluation("Not an MLflow GenAI evaluation: it needs traces, a list of trace infos.")
    verdicts: list[Verdict] = []
    labels: dict[tuple[str, str], bool] = {}
    for index, trace in enumerate(document["traces"]):
        if not isinstance(trace, dict) or not trace.get("trace_id"):
            raise NotAnEvaluation(f"traces[{index}] is not a trace info with a trace_id.")
        for assessment in trace.get("assessments") or []:
            read_assessment(assessment, str(trace["trace_id"]), threshold, verdicts, labels)
    return verdicts, labels


def read_assessment(
    assessment: Any,
    item: str,
    threshold: float,
    verdicts: list[Verdict],
    labels: dict[tuple[str, str], bool],
) -> None:
    if not isinstance(assessment, dict) or "feedback" not in assessment or assessment.get("valid") is False:
        return
    name = str(assessment.get("assessment_name") or "")
    if not name:
        raise NotAnEvaluation(f"Trace {item}: a feedback assessment has no assessment_name.")
    source = assessment.get("source") or {}
    kind, who = str(source.get("source_type") or ""), str(source.get("source_id") or "")
    feedback = assessment.get("feedback") or {}
    score, passed = _score(feedback.get("value"), threshold) if not feedback.get("error") else (None, None)
    if kind == HUMAN:
        if passed is not None:
            labels[(name, item)] = passed
        return
    if kind not in JUDGES:
        return
    metadata = assessment.get("metadata") or {}
    version = str(metadata.get(SCORER_VERSION) or metadata.get(SCORER_DIGEST) or "")
    judge = who if kind == "LLM_JUDGE" else f"code:{who}" if who else "code"
    verdicts.append((name, item, score, passed, judge, version))


def _score(value: Any, threshold: float) -> tuple[float | None, bool | None]:
    if isinstance(value, bool):
        return float(value), value
    if isinstance(value, int | float):
        number = float(value)
        return (number, number >= threshold) if math.isfinite(number) else (None, None)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in YES:
            return 1.0, True
        if word in NO:
            return 0.0, False
    return None, None  # a structured or free-text value: listed, not scored
