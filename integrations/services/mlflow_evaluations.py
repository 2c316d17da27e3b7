"""MLflow GenAI evaluations brought in by the MLflow import, as judged evaluations of Attest versions.

``mlflow.genai.evaluate(..., model_id=...)`` (or with an active model) logs a run tagged
``mlflow.runType = genai_evaluate``, its ``<scorer>/mean`` metrics on the logged model it evaluated, and one
trace per row with the scorers' and people's feedback on it. A sync pass searches, in the experiment of each
linked version's run, the linked logged models with their metrics: for a version whose ``source`` is an MLflow 3
logged model (``models:/m-…``), the runs other than its own that logged metrics on that model are
candidates; a finished evaluation run naming the model among its inputs is read with its traces and their
assessments and imported through ``judged_evaluation_import`` (format ``mlflow``: judge = the assessment's
source, prompt version = the scorer's digest, people's feedback = the human labels for Cohen's kappa). Each
run is read once per version (``MlflowEvaluationLink``); one that cannot be read is a problem of the pass,
not a failure. Cost per pass: one search of the linked logged models per experiment (100 ids a search), and
one read per candidate run not yet imported.
"""

from __future__ import annotations

import io
import json
import re
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
MODEL_ID = re.compile(r"m-[A-Za-z0-9]{1,64}")


def logged_model_id(source: str) -> str:
    """``m-…`` from an MLflow 3 version's ``source`` (``models:/m-…``); blank for a run-relative one (and
    for anything but letters and digits after ``m-``: the id goes into a search filter)."""
    rest = source.removeprefix(MODEL_URI) if source.startswith(MODEL_URI) else ""
    return rest if MODEL_ID.fullmatch(rest) else ""


def import_evaluations(
    *, registry: MlflowRegistry, mlflow: Mlflow, actor, links: list[MlflowVersionLink], tally: Tally
) -> None:
    """Import the evaluation runs of the logged models behind ``links`` that were not imported before."""
    by_experiment: dict[str, dict[str, list[MlflowVersionLink]]] = {}
    for link in links:
        if model_id := logged_model_id(link.source):
            try:
                experiment = _experiment(mlflow, link)
            except MlflowError as exc:
                tally.problem(f"{link.mlflow_name} version {link.mlflow_version}: evaluations", str(exc))
                continue
            by_experiment.setdefault(experiment, {}).setdefault(model_id, []).append(link)
    imported = set(MlflowEvaluationLink.objects.filter(registry=registry).values_list("run_id", "version_id"))
    for experiment, by_model in sorted(by_experiment.items()):
        if not experiment:
            continue
        try:
            for link, run in _candidates(mlflow, experiment, by_model, imported):
                if _import_run(registry, mlflow, actor, link, run, tally):
                    imported.add((run["info"]["run_id"], link.version_id))
        except MlflowError as exc:
            tally.problem(f"experiment {experiment}: evaluations", str(exc))


def _experiment(mlflow: Mlflow, link: MlflowVersionLink) -> str:
    """The experiment of the version's run (read once from MLflow for versions linked before it was kept)."""
    if not link.experiment_id and link.run_id:
        run = mlflow.run(link.run_id) or {}
        link.experiment_id = str(run.get("info", {}).get("experiment_id") or "")[:200]
        if link.experiment_id:
            link.save(update_fields=["experiment_id", "updated_at"])
    return link.experiment_id


def _candidates(mlflow: Mlflow, experiment: str, by_model: dict, imported: set):
    """(link, run) for each finished evaluation run of a linked version's logged model not yet imported."""
    for model_id, logged_by in mlflow.logged_models(experiment, sorted(by_model)):
        for link in by_model.get(model_id, []):
            for run_id in sorted(logged_by - {link.run_id}):
                if (run_id, link.version_id) in imported:
                    continue
                run = mlflow.run(run_id) or {}
                if _evaluates(run, model_id):
                    yield link, run


def _evaluates(run: dict, model_id: str) -> bool:
    tags = {tag["key"]: tag.get("value") for tag in run.get("data", {}).get("tags", [])}
    evaluated = {item.get("model_id") for item in run.get("inputs", {}).get("model_inputs", [])}
    finished = run.get("info", {}).get("status") == "FINISHED"
    return tags.get(EVALUATION_TAG) == EVALUATION_RUN and finished and model_id in evaluated


def _import_run(
    registry: MlflowRegistry, mlflow: Mlflow, actor, link: MlflowVersionLink, run: dict, tally: Tally
) -> bool:
    info = run.get("info", {})
    run_id = str(info.get("run_id") or "")
    where = f"{link.mlflow_name} version {link.mlflow_version}, evaluation run {run_id}"
    try:
        traces = mlflow.run_traces(str(info.get("experiment_id") or ""), run_id, limit=MAX_TRACES)
        document = json.dumps({"run": run, "traces": traces}, sort_keys=True).encode()
        upload = storage.upload_from_file(io.BytesIO(document), f"mlflow-evaluation-{run_id}.json")
        with transaction.atomic():
            MlflowRegistry.objects.select_for_update().filter(pk=registry.pk).first()
            if MlflowEvaluationLink.objects.filter(
                registry=registry, run_id=run_id, version=link.version
            ).exists():
                return False  # a concurrent sync of the same registry imported it first
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
        return True
    return False
