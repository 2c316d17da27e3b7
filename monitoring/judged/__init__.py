"""Judged evaluation metrics produced elsewhere (an LLM as judge), read into per-metric scores with the
judge's provenance and, where people labelled a sample, the judge's agreement with them (Cohen's kappa).

Pure functions, no Django. ``parse(format, raw, *, labels=None, judge_model="", judge_prompt_version="",
pass_threshold=0.5)`` returns the stored results or raises JudgedFormatError (a message for ``file``);
``read_labels(raw)`` reads the human labels (``labels``). Formats, each as its tool writes it:

* ``otel_genai``: OTLP/JSON logs (``ExportLogsServiceRequest``: resourceLogs → scopeLogs → logRecords), one
  document or one per line, whose records are GenAI evaluation events (``eventName`` or attribute
  ``event.name`` ``gen_ai.evaluation.result``) with ``gen_ai.evaluation.name``,
  ``gen_ai.evaluation.score.value``, ``gen_ai.evaluation.score.label`` and ``gen_ai.response.id`` (the
  item) (OpenTelemetry semantic conventions for generative AI, gen-ai-events); the conventions name no
  judge: give ``judge_model``.
* ``promptfoo``: the JSON of ``promptfoo eval -o results.json`` (promptfoo src/types/index.ts ``OutputFile``);
  each result's ``gradingResult.componentResults`` with model-graded assertions (``llm-rubric``,
  ``factuality``, ``model-graded-closedqa``, ``answer-relevance``, ``context-faithfulness`` …): metric =
  the assertion's ``metric`` or ``type``, verdict ``pass``, ``score``; judge = the assertion's
  ``provider`` or the config's ``defaultTest.options.provider``; prompt version = SHA-256 of the rubric.
  The item is the result's ``testIdx``.
* ``deepeval``: deepeval's test-run JSON (``.deepeval/.latest_test_run.json``: ``testCases[].metricsData[]``
  with ``name``, ``score``, ``threshold``, ``success``, ``evaluationModel``) or a dump of ``evaluate()``'s
  result (``test_results[].metrics_data[]``, snake_case). The item is the test case's ``name``.
* ``ragas``: the CSV of ``EvaluationResult.to_pandas().to_csv()``: sample columns (``user_input``,
  ``retrieved_contexts``, ``response``, ``reference`` …) and one numeric column per metric; a row passes at
  ``pass_threshold``. The item is the row's ``id`` column if present, else its number from 1. ragas does
  not write the judge into the file: give ``judge_model``.
* ``mlflow``: an MLflow GenAI evaluation (``mlflow.genai.evaluate``) as the MLflow import reads it from the
  tracking server: the run and its traces with their assessments (``monitoring.judged.mlflow``). The judge
  is each assessment's source, its prompt version the scorer's digest; people's feedback on the same
  traces are the human labels (a labels CSV adds to them). The item is the trace id.

Human labels: a CSV with columns ``item``, ``metric`` and ``label`` (pass/fail, true/false, 1/0), the
item as above. Kappa compares the judge's pass/fail with the person's on the items both judged.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections import defaultdict
from typing import Any

from monitoring.judged import mlflow

FORMATS = ("otel_genai", "promptfoo", "deepeval", "ragas", "mlflow")
RESULTS_FORMAT = "attest.judged-evaluation.v1"
MAX_ITEMS = 1_000_000
MODEL_GRADED = {
    "llm-rubric",
    "g-eval",
    "factuality",
    "model-graded-closedqa",
    "model-graded-factuality",
    "answer-relevance",
    "context-faithfulness",
    "context-recall",
    "context-relevance",
    "select-best",
    "search-rubric",
    "conversation-relevance",
}
RAGAS_SAMPLE_COLUMNS = {
    "id",
    "user_input",
    "retrieved_contexts",
    "reference_contexts",
    "response",
    "multi_responses",
    "reference",
    "rubrics",
    "question",
    "answer",
    "contexts",
    "ground_truth",
    "ground_truths",
}
PASS_WORDS = {"pass", "passed", "true", "1", "yes", "correct", "good", "relevant"}
FAIL_WORDS = {"fail", "failed", "false", "0", "no", "incorrect", "bad", "not_relevant"}


class JudgedFormatError(ValueError):
    """The file cannot be read as the declared format (the message says where and why)."""

    def __init__(self, message: str, field: str = "file"):
        super().__init__(message)
        self.field = field


# one judged item: (metric, item, score or None, passed or None, judge model, judge prompt version)
Verdict = tuple[str, str, float | None, bool | None, str, str]


def parse(
    fmt: str,
    raw: bytes,
    *,
    labels: dict[tuple[str, str], bool] | None = None,
    judge_model: str = "",
    judge_prompt_version: str = "",
    pass_threshold: float = 0.5,
) -> dict[str, Any]:
    if fmt not in FORMATS:
        raise JudgedFormatError(f"Unknown format {fmt!r}: one of {', '.join(FORMATS)}.", "format")
    text = _text(raw, "file")
    labels = labels or {}
    if fmt == "mlflow":
        try:
            verdicts, people = mlflow.read(_json(text), pass_threshold)
        except mlflow.NotAnEvaluation as exc:
            raise JudgedFormatError(str(exc)) from None
        labels = people | labels  # a labels CSV given with the file has the last word
    else:
        reader = {"otel_genai": _otel, "promptfoo": _promptfoo, "deepeval": _deepeval, "ragas": _ragas}[fmt]
        verdicts = reader(text, pass_threshold)
    if not verdicts:
        raise JudgedFormatError("The file holds no judged results.")
    if len(verdicts) > MAX_ITEMS:
        raise JudgedFormatError(
            f"The file holds {len(verdicts)} judged results; at most {MAX_ITEMS} are read."
        )
    return summarise(fmt, verdicts, labels, judge_model, judge_prompt_version, pass_threshold)


def _text(raw: bytes, field: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JudgedFormatError(f"Not UTF-8 text (byte {exc.start}).", field) from None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise JudgedFormatError(f"Not JSON ({exc}).") from None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _word(value: Any) -> bool | None:
    text = str(value).strip().lower()
    return True if text in PASS_WORDS else False if text in FAIL_WORDS else None


# --- OpenTelemetry GenAI evaluation events -----------------------------------------------------------------


def _otel(text: str, threshold: float) -> list[Verdict]:
    stripped = text.strip()
    documents = (
        [_json(stripped)]
        if stripped.startswith("{") and "\n{" not in stripped
        else [_json(line) for line in stripped.splitlines() if line.strip()]
    )
    verdicts: list[Verdict] = []
    for document in documents:
        if not isinstance(document, dict) or not isinstance(document.get("resourceLogs"), list):
            raise JudgedFormatError("Not OTLP/JSON logs: each document needs resourceLogs.")
        for resource in document["resourceLogs"]:
            for scope in (resource or {}).get("scopeLogs") or []:
                for record in (scope or {}).get("logRecords") or []:
                    verdict = _otel_record(record, threshold)
                    if verdict is not None:
                        verdicts.append(verdict)
    return verdicts


def _otel_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return None
    for key in ("stringValue", "doubleValue", "intValue", "boolValue"):
        if key in value:
            return value[key]
    return None


def _otel_record(record: Any, threshold: float) -> Verdict | None:
    if not isinstance(record, dict):
        return None
    attributes = {
        item.get("key"): _otel_value(item.get("value"))
        for item in record.get("attributes") or []
        if isinstance(item, dict)
    }
    name = record.get("eventName") or attributes.get("event.name")
    if name != "gen_ai.evaluation.result":
        return None
    metric = attributes.get("gen_ai.evaluation.name")
    if not metric:
        raise JudgedFormatError("A gen_ai.evaluation.result event has no gen_ai.evaluation.name.")
    score = _number(attributes.get("gen_ai.evaluation.score.value"))
    label = attributes.get("gen_ai.evaluation.score.label")
    passed = _word(label) if label is not None else None
    if passed is None and score is not None:
        passed = score >= threshold
    item = str(attributes.get("gen_ai.response.id") or record.get("spanId") or "")
    # the conventions carry no judge model (gen_ai.request.model on the event is the evaluated model's)
    return (str(metric), item, score, passed, "", "")


# --- promptfoo ---------------------------------------------------------------------------------------------


def _promptfoo(text: str, threshold: float) -> list[Verdict]:
    document = _json(text)
    summary = document.get("results") if isinstance(document, dict) else None
    results = summary.get("results") if isinstance(summary, dict) else None
    if not isinstance(results, list):
        raise JudgedFormatError("Not a promptfoo output file: it needs results.results, a list of results.")
    default_provider = _provider_name(
        (((document.get("config") or {}).get("defaultTest") or {}).get("options") or {}).get("provider")
    )
    verdicts: list[Verdict] = []
    for index, result in enumerate(results):
        if not isinstance(result, dict):
            raise JudgedFormatError(f"results.results[{index}] is not an object.")
        grading = result.get("gradingResult") or {}
        components = grading.get("componentResults") or []
        for component in components:
            assertion = (component or {}).get("assertion") or {}
            kind = str(assertion.get("type") or "")
            if kind.removeprefix("not-") not in MODEL_GRADED:
                continue
            metric = str(assertion.get("metric") or kind)
            rubric = assertion.get("rubricPrompt") or assertion.get("value") or ""
            version = (
                hashlib.sha256(json.dumps(rubric, sort_keys=True).encode()).hexdigest()[:12] if rubric else ""
            )
            judge = _provider_name(assertion.get("provider")) or default_provider
            item = str(result.get("testIdx", index))
            passed = component.get("pass")
            verdicts.append(
                (
                    metric,
                    item,
                    _number(component.get("score")),
                    passed if isinstance(passed, bool) else None,
                    judge,
                    version,
                )
            )
    return verdicts


def _provider_name(provider: Any) -> str:
    if isinstance(provider, str):
        return provider
    if isinstance(provider, dict):
        return str(provider.get("id") or provider.get("label") or "")
    return ""


# --- deepeval ----------------------------------------------------------------------------------------------


def _deepeval(text: str, threshold: float) -> list[Verdict]:
    document = _json(text)
    cases = None
    if isinstance(document, dict):
        cases = document.get("testCases", document.get("test_results"))
    if not isinstance(cases, list):
        raise JudgedFormatError("Not a deepeval result: it needs testCases (a test run) or test_results.")
    verdicts: list[Verdict] = []
    for index, case in enumerate(cases):
        if not isinstance(case, dict):
            raise JudgedFormatError(f"Test case {index} is not an object.")
        metrics = case.get("metricsData", case.get("metrics_data")) or []
        item = str(case.get("name") or f"test_case_{index}")
        for data in metrics:
            if not isinstance(data, dict) or not data.get("name"):
                raise JudgedFormatError(f"Test case {item!r}: each metric needs a name.")
            if data.get("error"):
                continue
            judge = data.get("evaluationModel", data.get("evaluation_model")) or ""
            success = data.get("success")
            verdicts.append(
                (
                    str(data["name"]),
                    item,
                    _number(data.get("score")),
                    success if isinstance(success, bool) else None,
                    str(judge),
                    "",
                )
            )
    return verdicts


# --- ragas -------------------------------------------------------------------------------------------------


def _ragas(text: str, threshold: float) -> list[Verdict]:
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        raise JudgedFormatError("The CSV has no rows.")
    columns = [name for name in rows[0] if name and name.strip() and name not in RAGAS_SAMPLE_COLUMNS]
    columns = [name for name in columns if name.strip() and not name.startswith("Unnamed")]
    metrics = [name for name in columns if any(_number(row.get(name)) is not None for row in rows)]
    if not metrics:
        raise JudgedFormatError("The CSV has no metric column (a numeric column beside the sample columns).")
    verdicts: list[Verdict] = []
    for number, row in enumerate(rows, start=1):
        item = str(row.get("id") or number)
        for metric in metrics:
            score = _number(row.get(metric))
            if score is None:
                continue
            verdicts.append((metric, item, score, score >= threshold, "", ""))
    return verdicts


# --- human labels, kappa, the results ----------------------------------------------------------------------


def read_labels(raw: bytes) -> dict[tuple[str, str], bool]:
    """``{(metric, item): passed}`` from a CSV with columns item, metric, label."""
    rows = list(csv.DictReader(io.StringIO(_text(raw, "labels"))))
    if not rows or not {"item", "metric", "label"} <= set(rows[0]):
        raise JudgedFormatError("The labels CSV needs the columns item, metric and label.", "labels")
    labels = {}
    for number, row in enumerate(rows, start=2):
        verdict = _word(row["label"])
        if verdict is None:
            raise JudgedFormatError(f"Line {number}: label {row['label']!r} is not pass or fail.", "labels")
        labels[(row["metric"].strip(), row["item"].strip())] = verdict
    return labels


def cohen_kappa(first: list[bool], second: list[bool]) -> float | None:
    """Cohen's kappa of two raters' pass/fail verdicts on the same items; None when chance agreement is
    certain (both raters gave one and the same label to every item), where kappa is undefined."""
    total = len(first)
    if total == 0:
        return None
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / total
    p_first, p_second = sum(first) / total, sum(second) / total
    expected = p_first * p_second + (1 - p_first) * (1 - p_second)
    if expected >= 1:
        return None
    return (observed - expected) / (1 - expected)


def summarise(
    fmt: str,
    verdicts: list[Verdict],
    labels: dict[tuple[str, str], bool],
    judge_model: str,
    judge_prompt_version: str,
    pass_threshold: float,
) -> dict[str, Any]:
    grouped: dict[str, list[Verdict]] = defaultdict(list)
    for verdict in verdicts:
        grouped[verdict[0]].append(verdict)
    metrics = []
    for name in sorted(grouped):
        rows = grouped[name]
        scores = [row[2] for row in rows if row[2] is not None]
        judged = [row for row in rows if row[3] is not None]
        pairs = [(row[3], labels[(name, row[1])]) for row in judged if (name, row[1]) in labels]
        kappa = cohen_kappa([a for a, _ in pairs], [b for _, b in pairs]) if pairs else None
        judges = sorted({row[4] for row in rows if row[4]} | ({judge_model} if judge_model else set()))
        versions = sorted(
            {row[5] for row in rows if row[5]} | ({judge_prompt_version} if judge_prompt_version else set())
        )
        metrics.append(
            {
                "metric": name,
                "items": len(rows),
                "mean_score": sum(scores) / len(scores) if scores else None,
                "pass_rate": sum(1 for row in judged if row[3]) / len(judged) if judged else None,
                "judge_models": judges,
                "judge_prompt_versions": versions,
                "human_labelled": len(pairs),
                "agreement": sum(1 for a, b in pairs if a == b) / len(pairs) if pairs else None,
                "kappa": kappa,
            }
        )
    return {
        "format": RESULTS_FORMAT,
        "tool": fmt,
        "pass_threshold": pass_threshold,
        "items": len({row[1] for row in verdicts}),
        "human_labels": len(labels),
        "metrics": metrics,
    }
