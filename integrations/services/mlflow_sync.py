"""Import an MLflow registry into Attest and keep it in sync (a durable job per run).

One pass over a registry (or one of its models) is idempotent: every MLflow model version already linked
is only compared (its tags, the aliases pointing at it), so a re-import changes nothing and a poll costs
one listing; a version not yet linked is read in full (its run, its ``MLmodel``, its model file, the
datasets its run logged as inputs) and submitted as an Attest version; then the GenAI evaluation runs of the
linked versions' logged models not read before become judged evaluations (``mlflow_evaluations``). Problems with one version (an
artifact stored where the tracking server does not serve it, an ONNX file Attest refuses) are reported in
the job's result and do not stop the others.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import access
from accounts.models import User
from audit import record
from integrations import mlflow_flavours
from integrations.mlflow_rest import Mlflow, MlflowError
from integrations.models import (
    MlflowDatasetLink,
    MlflowModelLink,
    MlflowRegistry,
    MlflowSync,
    MlflowVersionLink,
)
from integrations.services import mlflow_evaluations, writeback
from jobs import leases
from jobs.kinds import JobKind, register
from registry import storage, tiering
from registry.models import Dataset, DatasetVersion, ModelAlias, RegisteredModel
from registry.models.datasets import DatasetRole
from registry.services import datasets, inventory, versions

logger = logging.getLogger(__name__)
Status = MlflowSync.Status

ATTEST_TAG_PREFIX = "attest."  # tags Attest writes back; never mirrored, never a reason to sync
NAME_CHARS = re.compile(r"[^a-z0-9_-]+")
MAX_PROBLEMS = 200
VALIDATION_CONTEXTS = {"validation", "eval", "evaluation", "test", "testing"}


def _on_claim(job: MlflowSync, now) -> list[str]:
    job.started_at = now
    return ["started_at"]


def _set_error(job: MlflowSync, error_type: str, message: str) -> list[str]:
    job.error = (f"{error_type}: {message}" if message else error_type)[:2000]
    return ["error"]


SYNC = register(
    JobKind(
        name="mlflow_sync",
        model_label="integrations.MlflowSync",
        task="integrations.tasks.mlflow_sync",
        set_error=_set_error,
        on_claim=_on_claim,
    )
)


# --- requests ---------------------------------------------------------------------------------------------


def sync_request(
    *,
    actor: User,
    registry: MlflowRegistry,
    model_name: str = "",
    trigger: str = MlflowSync.Trigger.IMPORT,
    queue: bool = True,
) -> tuple[MlflowSync, bool]:
    """Queue a sync of ``registry`` (or of one MLflow model); returns (job, created).

    A sync of the same scope already waiting is returned instead of a second one (a burst of webhook
    deliveries makes one job). Queued after commit, so the worker finds the row; ``queue=False`` leaves
    it to the caller to run (``manage.py mlflow_import`` runs it in its own process).
    """
    access.require(actor, "change", registry)
    if model_name and registry.model_names and model_name not in registry.model_names:
        raise ValidationError(
            {"model": [f"The registry {registry.name} imports only: {', '.join(registry.model_names)}."]}
        )
    with transaction.atomic():
        MlflowRegistry.objects.select_for_update().filter(pk=registry.pk).first()
        waiting = MlflowSync.objects.filter(
            registry=registry, status=Status.QUEUED, model_name__in={model_name, ""}
        ).first()
        if waiting is not None:
            return waiting, False
        job = MlflowSync.objects.create(
            registry=registry, model_name=model_name, trigger=trigger, requested_by=actor
        )
        record(
            action="mlflow_sync.requested",
            actor=actor,
            obj=job,
            after={"registry": registry.name, "model": model_name or None, "trigger": trigger},
        )
        if queue:
            transaction.on_commit(lambda: leases.send(SYNC, job.pk))
    return job, True


# --- the job ----------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What one sync did, for its result."""

    counts: Counter = field(default_factory=Counter)
    problems: list[dict[str, Any]] = field(default_factory=list)

    def problem(self, where: str, message: str) -> None:
        self.counts["problems"] += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"where": where, "message": message[:500]})

    def as_dict(self) -> dict[str, Any]:
        return {"counts": dict(sorted(self.counts.items())), "problems": self.problems}


def sync_run(*, sync_id: int) -> MlflowSync | None:
    """Work one queued sync (claimed with a lease kept alive while it runs)."""
    try:
        claimed = leases.claim(SYNC, sync_id)
    except leases.Busy:
        return None
    if claimed is None:
        return None
    job, token = claimed
    with leases.Heartbeat(SYNC, job.pk, token):
        leases.test_delay()
        try:
            tally = Sync(job, progress=lambda done, total: _progress(job.pk, token, done, total)).run()
        except MlflowError as exc:
            leases.fail(SYNC, job.pk, token, "MlflowError", str(exc))
            return MlflowSync.objects.get(pk=job.pk)
        except Exception as exc:
            logger.exception("MLflow sync %s failed", job.pk)
            leases.fail(SYNC, job.pk, token, type(exc).__name__, str(exc) or repr(exc))
            return MlflowSync.objects.get(pk=job.pk)
    return _done(job, token, tally)


def _progress(job_id: int, token: str, done: int, total: int) -> None:
    leases.update(SYNC, job_id, token, progress_current=done, progress_total=total)


def _done(job: MlflowSync, token: str, tally: Tally) -> MlflowSync:
    with leases.holding(SYNC, job.pk, token) as current:
        if current is None:
            return MlflowSync.objects.get(pk=job.pk)
        current.result = tally.as_dict()
        leases.succeed_locked(SYNC, current)
        current.save()
        MlflowRegistry.objects.filter(pk=current.registry_id).update(last_synced_at=timezone.now())
        record(action="mlflow_sync.finished", actor=current.requested_by, obj=current, after=current.result)
    return current


class Sync:
    """One pass over a registry: models, their versions, aliases and tags; then the write-back."""

    def __init__(self, job: MlflowSync, progress=None):
        self.job = job
        self.registry = job.registry
        self.actor = job.requested_by
        self.mlflow = Mlflow(self.registry.tracking_uri)
        self.tally = Tally()
        self.written_in_mlflow: dict[tuple[str, int], dict[str, str]] = {}
        self.progress = progress or (lambda done, total: None)

    def run(self) -> Tally:
        models = self._models()
        listed = [(model, list(self.mlflow.model_versions(model["name"]))) for model in models]
        total, done = sum(len(found) for _, found in listed), 0
        self.progress(0, total)
        for model, found in listed:
            link = self._model_link(model)
            for entry in sorted(found, key=lambda entry: int(entry["version"])):
                self.written_in_mlflow[(model["name"], int(entry["version"]))] = attest_tags(entry)
                if link is not None:
                    self._version(link, entry)
                done += 1
                if done % 10 == 0 or done == total:
                    self.progress(done, total)
            if link is not None:
                self._aliases(link, model)
        self.tally.counts["models"] = len(models)
        mlflow_evaluations.import_evaluations(
            registry=self.registry,
            mlflow=self.mlflow,
            actor=self.actor,
            links=list(linked_versions(self.registry, [m["name"] for m in models])),
            tally=self.tally,
        )
        if self.registry.write_back:
            self.tally.counts["tags_written"] = writeback.write_back(
                self.registry,
                self.mlflow,
                links=linked_versions(self.registry, [m["name"] for m in models]),
                in_mlflow=self.written_in_mlflow,
                tally=self.tally,
            )
        return self.tally

    # --- registered models ----------------------------------------------------------------------------

    def _models(self) -> list[dict]:
        wanted = self.registry.model_names
        if self.job.model_name:
            if wanted and self.job.model_name not in wanted:
                return []
            try:
                return [self.mlflow.registered_model(self.job.model_name)]
            except MlflowError as exc:
                if exc.status == 404:  # deleted in MLflow since the event: nothing to import
                    return []
                raise
        return [model for model in self.mlflow.registered_models() if not wanted or model["name"] in wanted]

    def _model_link(self, model: dict) -> MlflowModelLink | None:
        name = model["name"]
        link = MlflowModelLink.objects.filter(registry=self.registry, mlflow_name=name).first()
        if link is not None:
            return link
        slug = attest_name(name)
        existing = RegisteredModel.objects.filter(name=slug).first()
        try:
            with transaction.atomic():
                if existing is None:
                    answers, assumed = tier_answers(model)
                    target = inventory.model_create(
                        actor=self.actor,
                        team=self.registry.team,
                        name=slug,
                        title=name[:200],
                        description=(model.get("description") or "")[:5000],
                        tier_answers=answers,
                    )
                    self.tally.counts["models_created"] += 1
                    if assumed:
                        self.tally.counts["models_tier_assumed_high"] += 1
                elif existing.team_id != self.registry.team_id:
                    self.tally.problem(
                        name, f"the Attest model {slug!r} belongs to another team; not imported"
                    )
                    return None
                else:
                    target = existing
                    access.require(self.actor, "change", target)
                    self.tally.counts["models_linked"] += 1
                link = MlflowModelLink.objects.create(registry=self.registry, mlflow_name=name, model=target)
                record(
                    action="mlflow.model_linked",
                    actor=self.actor,
                    obj=target,
                    after={"registry": self.registry.name, "mlflow_model": name, "model": target.name},
                )
        except ValidationError as exc:
            self.tally.problem(name, _message(exc))
            return None
        return link

    def _aliases(self, link: MlflowModelLink, model: dict) -> None:
        """Mirror MLflow's aliases (those naming a linked version); an alias made in Attest is left alone."""
        now = {entry["alias"]: int(entry["version"]) for entry in model.get("aliases", [])}
        if now == link.aliases:
            return
        targets = {
            entry.mlflow_version: entry.version
            for entry in MlflowVersionLink.objects.filter(
                registry=self.registry, mlflow_name=link.mlflow_name, mlflow_version__in=set(now.values())
            ).select_related("version")
        }
        for alias, number in now.items():
            version = targets.get(number)
            if version is None or not re.fullmatch(r"[-a-zA-Z0-9_]{1,64}", alias):
                continue
            current = ModelAlias.objects.filter(model=link.model, name=alias).first()
            if current is None or current.version_id != version.pk:
                versions.model_alias_set(actor=self.actor, model=link.model, alias=alias, version=version)
                self.tally.counts["aliases_moved"] += 1
        for alias in set(link.aliases) - set(now):
            current = ModelAlias.objects.filter(model=link.model, name=alias).first()
            if current is not None:
                versions.model_alias_remove(actor=self.actor, alias=current)
                self.tally.counts["aliases_removed"] += 1
        link.aliases = now
        link.save(update_fields=["aliases"])

    # --- model versions -------------------------------------------------------------------------------

    def _version(self, link: MlflowModelLink, entry: dict) -> None:
        number = int(entry["version"])
        known = MlflowVersionLink.objects.filter(
            registry=self.registry, mlflow_name=link.mlflow_name, mlflow_version=number
        ).first()
        if known is not None:
            self._tags(known, entry)
            return
        if entry.get("status", "READY") != "READY":
            self.tally.counts["versions_not_ready"] += 1
            return
        where = f"{link.mlflow_name} version {number}"
        try:
            self._import_version(link, entry, number)
        except (MlflowError, mlflow_flavours.NotAnMlflowModel) as exc:
            self.tally.problem(where, str(exc))
        except ValidationError as exc:
            self.tally.problem(where, _message(exc))

    def _tags(self, known: MlflowVersionLink, entry: dict) -> None:
        tags = mirrored_tags(entry)
        if tags == known.tags:
            self.tally.counts["versions_unchanged"] += 1
            return
        with transaction.atomic():
            before, known.tags = known.tags, tags
            known.save(update_fields=["tags", "updated_at"])
            record(
                action="mlflow.version_tags_changed",
                actor=self.actor,
                obj=known.version,
                before={
                    "mlflow_model": known.mlflow_name,
                    "mlflow_version": known.mlflow_version,
                    "tags": before,
                },
                after={
                    "mlflow_model": known.mlflow_name,
                    "mlflow_version": known.mlflow_version,
                    "tags": tags,
                },
            )
        self.tally.counts["versions_tags_changed"] += 1

    def _import_version(self, link: MlflowModelLink, entry: dict, number: int) -> None:
        run = self.mlflow.run(entry.get("run_id") or "")
        folder = self.mlflow.artifact_path(self.mlflow.download_uri(link.mlflow_name, number))
        files = self.mlflow.list_files(folder)
        described = self._describe(folder, files)
        inputs, unresolved = self._datasets(run)
        metadata = self._metadata(entry, run, described, inputs)
        with tempfile.TemporaryFile() as spool:
            filename = self._artifact(folder, files, described, spool)
            upload = storage.upload_from_file(spool, filename)
            with transaction.atomic():
                MlflowRegistry.objects.select_for_update().filter(pk=self.registry.pk).first()
                if MlflowVersionLink.objects.filter(
                    registry=self.registry, mlflow_name=link.mlflow_name, mlflow_version=number
                ).exists():  # a concurrent sync imported it first
                    return
                version, created = versions.model_version_submit(
                    actor=self.actor, model=link.model, upload=upload, metadata=metadata
                )
                MlflowVersionLink.objects.create(
                    registry=self.registry,
                    mlflow_name=link.mlflow_name,
                    mlflow_version=number,
                    version=version,
                    run_id=entry.get("run_id") or "",
                    experiment_id=str((run or {}).get("info", {}).get("experiment_id") or "")[:200],
                    source=(entry.get("source") or "")[:1000],
                    flavours=described.flavours,
                    artifact_path=(described.artifact_file or "")[:500],
                    tags=mirrored_tags(entry),
                    unresolved_datasets=unresolved,
                )
                record(
                    action="mlflow.version_imported",
                    actor=self.actor,
                    obj=version,
                    after={
                        "registry": self.registry.name,
                        "mlflow_model": link.mlflow_name,
                        "mlflow_version": number,
                        "run_id": entry.get("run_id") or "",
                        "version": version.version,
                        "same_artifact_as_existing": not created,
                        "unresolved_datasets": [item["name"] for item in unresolved],
                    },
                )
        self.tally.counts["versions_imported" if created else "versions_same_artifact"] += 1

    def _describe(self, folder: str, files: list[dict]) -> mlflow_flavours.MlflowModel:
        names = [entry["path"] for entry in files]
        if "MLmodel" not in names:
            return mlflow_flavours.MlflowModel(
                flavours=[], artifact_file=None, framework="", framework_version=""
            )
        text = self.mlflow.read_file(f"{folder}/MLmodel", max_bytes=mlflow_flavours.MLMODEL_MAX_BYTES)
        return mlflow_flavours.read_mlmodel(text, names)

    def _artifact(self, folder: str, files: list[dict], described, spool) -> str:
        """Write the artifact into ``spool``; returns its file name."""
        limit = settings.ATTEST_MAX_ARTIFACT_BYTES
        if described.artifact_file:
            self.mlflow.download(f"{folder}/{described.artifact_file}", spool, max_bytes=limit)
            return described.artifact_file.rsplit("/", 1)[-1]
        # no flavour Attest reads: the folder as a zip, with fixed dates so the same folder is the same bytes
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for entry in files:
                with tempfile.TemporaryFile() as part:
                    self.mlflow.download(f"{folder}/{entry['path']}", part, max_bytes=limit)
                    part.seek(0)
                    info = zipfile.ZipInfo(entry["path"], date_time=(1980, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    with archive.open(info, "w") as member:
                        while chunk := part.read(1024 * 1024):
                            member.write(chunk)
        return "mlflow-model.zip"

    def _metadata(self, entry: dict, run: dict | None, described, inputs) -> versions.VersionMetadata:
        data = (run or {}).get("data", {})
        run_tags = {tag["key"]: tag.get("value", "") for tag in _entries(data, "tags")}
        return versions.VersionMetadata(
            description=(entry.get("description") or "")[:10_000],
            source=(entry.get("source") or "")[:1000],
            run_id=(entry.get("run_id") or "")[:200],
            run_link=self.mlflow.run_link(run)[:1000] if run else "",
            tags=mirrored_tags(entry),
            signature=described.signature,
            framework=described.framework[:100],
            framework_version=described.framework_version,
            source_repository=run_tags.get("mlflow.source.git.repoURL", "")[:500],
            source_commit=run_tags.get("mlflow.source.git.commit", "")[:64],
            parameters={param["key"]: param.get("value", "") for param in _entries(data, "params")},
            metrics=_latest_metrics(_entries(data, "metrics")),
            training_datasets=[version for version, role in inputs if role == DatasetRole.TRAINING],
            validation_datasets=[version for version, role in inputs if role == DatasetRole.VALIDATION],
        )

    # --- datasets -------------------------------------------------------------------------------------

    def _datasets(self, run: dict | None) -> tuple[list[tuple[DatasetVersion, str]], list[dict]]:
        """The run's dataset inputs as Attest dataset versions (with their role), and those that could not
        be read (their source is not a file the tracking server or an http(s) URL serves)."""
        found, unresolved = [], []
        for item in (run or {}).get("inputs", {}).get("dataset_inputs", []):
            dataset = item.get("dataset", {})
            context = next(
                (
                    tag.get("value", "")
                    for tag in item.get("tags", [])
                    if tag.get("key") == "mlflow.data.context"
                ),
                "",
            )
            role = _role(context)
            try:
                found.append((self._dataset_version(dataset, role), role))
            except (MlflowError, ValidationError) as exc:
                reason = _message(exc) if isinstance(exc, ValidationError) else str(exc)
                unresolved.append(
                    {
                        "name": str(dataset.get("name", ""))[:500],
                        "digest": str(dataset.get("digest", ""))[:64],
                        "context": context,
                        "source_type": str(dataset.get("source_type", ""))[:50],
                        "source": str(dataset.get("source", ""))[:1000],
                        "reason": reason[:500],
                    }
                )
        return found, unresolved

    def _dataset_version(self, dataset: dict, role: str) -> DatasetVersion:
        name, digest = str(dataset.get("name", "")), str(dataset.get("digest", ""))
        known = MlflowDatasetLink.objects.filter(
            registry=self.registry, mlflow_name=name, mlflow_digest=digest
        ).first()
        if known is not None:
            return known.dataset_version
        location = _dataset_location(self.mlflow, dataset)
        with tempfile.TemporaryFile() as spool:
            self.mlflow.download(location, spool, max_bytes=settings.ATTEST_MAX_DATASET_BYTES)
            upload = storage.upload_from_file(spool, location.rsplit("/", 1)[-1] or "dataset")
            with transaction.atomic():
                target = self._dataset(name)
                version, _ = datasets.dataset_version_upload(
                    actor=self.actor,
                    dataset=target,
                    upload=upload,
                    role=role,
                    description=f"From MLflow dataset {name} (digest {digest}).",
                )
                MlflowDatasetLink.objects.create(
                    registry=self.registry,
                    mlflow_name=name[:500],
                    mlflow_digest=digest[:64],
                    source=str(dataset.get("source", ""))[:5000],
                    dataset_version=version,
                )
        self.tally.counts["dataset_versions_imported"] += 1
        return version

    def _dataset(self, mlflow_name: str) -> Dataset:
        slug = attest_name(mlflow_name)
        existing = Dataset.objects.filter(name=slug).first()
        if existing is not None:
            if existing.team_id != self.registry.team_id:
                raise ValidationError({"dataset": [f"the Attest dataset {slug!r} belongs to another team"]})
            return existing
        return datasets.dataset_create(
            actor=self.actor, team=self.registry.team, name=slug, title=mlflow_name[:200]
        )


# --- helpers ------------------------------------------------------------------------------------------------


def attest_name(mlflow_name: str) -> str:
    """An MLflow name as an Attest slug: ``PD Retail/v2`` → ``pd-retail-v2`` (the link keeps the original)."""
    slug = NAME_CHARS.sub("-", mlflow_name.strip().lower()).strip("-_")
    return slug[:100] or "mlflow-model"


def tier_answers(model: dict) -> tuple[dict[str, str], bool]:
    """The tiering answers a registered model carries as tags (``attest.materiality=medium``, …); a factor
    not answered is taken as ``high`` (true when any was), so a model nobody assessed yet is governed as
    the riskiest until its owner answers in Attest."""
    tags = {tag["key"]: str(tag.get("value", "")).strip().lower() for tag in model.get("tags", [])}
    answers, assumed = {}, False
    for factor in tiering.FACTORS:
        given = tags.get(f"{ATTEST_TAG_PREFIX}{factor}", "")
        assumed |= given not in tiering.LEVELS
        answers[factor] = given if given in tiering.LEVELS else "high"
    return answers, assumed


def mirrored_tags(entry: dict) -> dict[str, str]:
    """A version's MLflow tags, without the ones Attest writes back."""
    tags = entry.get("tags", [])
    pairs = tags.items() if isinstance(tags, dict) else ((tag["key"], tag.get("value", "")) for tag in tags)
    return {key: str(value) for key, value in sorted(pairs) if not key.startswith(ATTEST_TAG_PREFIX)}


def attest_tags(entry: dict) -> dict[str, str]:
    """The tags Attest wrote on a version, as MLflow has them now (a user may have changed them)."""
    tags = entry.get("tags", [])
    pairs = tags.items() if isinstance(tags, dict) else ((tag["key"], tag.get("value", "")) for tag in tags)
    return {key: str(value) for key, value in pairs if key.startswith(ATTEST_TAG_PREFIX)}


def _entries(run_data: dict, key: str) -> list[dict]:
    """A list of ``{"key", "value", …}`` entries from an MLflow run's ``data`` (params, metrics, tags)."""
    found = run_data.get(key)
    return found if isinstance(found, list) else []


def _latest_metrics(metrics: list[dict]) -> dict[str, float]:
    """MLflow's runs/get lists each metric's latest value (highest step, then newest)."""
    latest: dict[str, tuple] = {}
    for metric in metrics:
        key = metric["key"]
        order = (int(metric.get("step", 0)), int(metric.get("timestamp", 0)))
        if key not in latest or order >= latest[key][0]:
            latest[key] = (order, metric.get("value"))
    return {key: value for key, (_, value) in sorted(latest.items())}


def _role(context: str) -> str:
    if context.lower() in {"training", "train"}:
        return DatasetRole.TRAINING
    if context.lower() in VALIDATION_CONTEXTS:
        return DatasetRole.VALIDATION
    return DatasetRole.OTHER


def _dataset_location(client: Mlflow, dataset: dict) -> str:
    """Where a logged dataset's file can be read: an http(s) URL (``HTTPDatasetSource``) or a file the
    tracking server serves (a source URI ``mlflow-artifacts:/…``). Anything else (a local path on the
    trainer's machine, a table, s3 without the proxy) is unreachable from here."""
    try:
        source = json.loads(dataset.get("source") or "{}")
    except ValueError:
        source = {}
    location = (source.get("url") or source.get("uri") or "") if isinstance(source, dict) else ""
    if location.startswith(("http://", "https://")):
        return location
    if location.startswith("mlflow-artifacts:"):
        return client.artifact_path(location)
    raise MlflowError(
        f"its source ({dataset.get('source_type') or 'unknown'}: {str(location or dataset.get('source'))[:200]}) "
        "is not a file the tracking server or an http(s) URL serves"
    )


def _message(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{key}: {' '.join(map(str, messages))}" for key, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)


def linked_versions(registry: MlflowRegistry, mlflow_names: list[str] | None = None):
    links = MlflowVersionLink.objects.filter(registry=registry).select_related("version__model")
    return links.filter(mlflow_name__in=mlflow_names) if mlflow_names is not None else links


__all__ = ["SYNC", "Sync", "attest_name", "linked_versions", "mirrored_tags", "sync_request", "sync_run"]
