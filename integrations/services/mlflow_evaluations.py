"""MLflow GenAI evaluations brought in by the MLflow import, as judged evaluations of Attest versions.

``mlflow.genai.evaluate(..., model_id=...)`` (or with an active model) logs a run tagged
``mlflow.runType = genai_evaluate``, its ``<scorer>/mean`` metrics on the logged model it evaluated, and one
trace per row with the scorers' and people's feedback on it. A sync pass reads, for each linked version
whose ``source`` is an MLflow 3 logged model (``models:/m-…``), that model's metrics: the runs that logged
them, other than the version's own, are candidates; a finished evaluation run naming the model among its
inputs is read with its traces and assessments and imported through ``judged_evaluation_import`` (format
``mlflow``: judge = the assessment's source, prompt version = the scorer's digest, people's feedback = the
human labels for Cohen's kappa). Each run is read once per version (``MlflowEvaluationLink``); one that
cannot be read is a problem of the pass, not a failure. Cost per pass: one call per linked version, and
one per candidate run not yet imported.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from audit import record
from integrations.mlflow_rest import Mlflow, MlflowError
from integrations.models import MlflowEvaluationLink, MlflowRegistry, MlflowVersionLink
from monitoring.services import judged
from registry import storage

if TYPE_CHECKING:
    from integrations.services.mlflow_sync import Tally

MAX_TRACES = 100_000
EVALUATION_TAG, EVALUATION_RUN = "mlflow.runType", "genai_evaluate"
MODEL_URI = "models:/"


def logged_model_id(source: str) -> str:
    """``m-…`` from an MLflow 3 version's ``source`` (``models:/m-…``); blank for a run-relative one."""
    rest = source.removeprefix(MODEL_URI) if source.startswith(MODEL_URI) else ""
    return rest if rest.startswith("m-") and "/" not in rest else ""


def import_evaluations(
    *, registry: MlflowRegistry, mlflow: Mlflow, actor, links: list[MlflowVersionLink], tally: Tally
) -> None:
    """Import the evaluation runs of the logged models behind ``links`` that were not imported before."""
    for link in links:
        model_id = logged_model_id(link.source)
        if not model_id:
            continue
        try:
            for run in _evaluation_runs(registry, mlflow, link, model_id):
                _import_run(registry, mlflow, actor, link, run, tally)
        except MlflowError as exc:
            tally.problem(f"{link.mlflow_name} version {link.mlflow_version}: evaluations", str(exc))


def _evaluation_runs(registry: MlflowRegistry, mlflow: Mlflow, link: MlflowVersionLink, model_id: str):
    model = mlflow.logged_model(model_id) or {}
    logged_by = {str(item.get("run_id") or "") for item in model.get("data", {}).get("metrics", [])}
    imported = set(
        MlflowEvaluationLink.objects.filter(registry=registry, version=link.version).values_list(
            "run_id", flat=True
        )
    )
    for run_id in sorted(logged_by - imported - {"", link.run_id}):
        run = mlflow.run(run_id) or {}
        tags = {tag["key"]: tag.get("value") for tag in run.get("data", {}).get("tags", [])}
        evaluated = {item.get("model_id") for item in run.get("inputs", {}).get("model_inputs", [])}
        finished = run.get("info", {}).get("status") == "FINISHED"
        if tags.get(EVALUATION_TAG) == EVALUATION_RUN and finished and model_id in evaluated:
            yield run


def _import_run(
    registry: MlflowRegistry, mlflow: Mlflow, actor, link: MlflowVersionLink, run: dict, tally: Tally
) -> None:
    info = run.get("info", {})
    run_id = str(info.get("run_id") or "")
    where = f"{link.mlflow_name} version {link.mlflow_version}, evaluation run {run_id}"
    try:
        traces = mlflow.run_traces(str(info.get("experiment_id") or ""), run_id, limit=MAX_TRACES)
        document = json.dumps({"run": run, "traces": traces}, sort_keys=True).encode()
        upload = storage.upload_from_file(io.BytesIO(document), f"mlflow-evaluation-{run_id}.json")
        with transaction.atomic():
            evaluation, _ = judged.judged_evaluation_import(
                actor=actor, version=link.version, file_format="mlflow", upload=upload
            )
            created = MlflowEvaluationLink.objects.create(
                registry=registry,
                run_id=run_id,
                version=link.version,
                evaluation=evaluation,
                run_link=mlflow.run_link(run)[:1000],
            )
            record(
                action="mlflow.evaluation_imported",
                actor=actor,
                obj=link.version,
                after={
                    "registry": registry.name,
                    "mlflow_model": link.mlflow_name,
                    "mlflow_version": link.mlflow_version,
                    "run_id": run_id,
                    "judged_evaluation": evaluation.pk,
                    "traces": len(traces),
                    "run_link": created.run_link,
                },
            )
    except MlflowError as exc:
        tally.problem(where, str(exc))
    except ValidationError as exc:
        tally.problem(where, "; ".join(exc.messages))
    except PermissionDenied:
        tally.problem(where, "the person who asked for the sync may not run checks on this model")
    else:
        tally.counts["evaluations_imported"] += 1
