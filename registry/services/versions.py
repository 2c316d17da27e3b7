"""Model version writes: submitting a version with its artifact, moving aliases, audited downloads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Max

from accounts import access
from accounts.models import User
from audit import record
from registry import bundles, formats, storage
from registry.models import ArtifactFormat, DatasetVersion, ModelAlias, ModelVersion, RegisteredModel
from registry.models.inventory import ModelKind
from registry.models.lineage import EdgeKind, LineageEdge

ARTIFACT_PREFIX = "artifacts"


@dataclass
class VersionMetadata:
    """What a client declares about a version besides its artifact (MLflow's ModelVersion fields and more)."""

    description: str = ""
    source: str = ""
    run_id: str = ""
    run_link: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    signature: dict[str, Any] = field(default_factory=dict)
    framework: str = ""
    framework_version: str = ""
    source_repository: str = ""
    source_commit: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    training_datasets: list[DatasetVersion] = field(default_factory=list)
    validation_datasets: list[DatasetVersion] = field(default_factory=list)
    parent: ModelVersion | None = None


def model_version_submit(
    *,
    actor: User,
    model: RegisteredModel,
    upload: storage.Upload,
    declared_sha256: str = "",
    metadata: VersionMetadata | None = None,
) -> tuple[ModelVersion, bool]:
    """Submit an artifact as the model's next version; returns (version, created).

    Guarantees: a declared SHA-256 must match the bytes received; the same bytes for the same model
    return the existing version (``created`` false) instead of a new one; version numbers are
    consecutive even under concurrent submissions (the model row is locked while numbering); the
    artifact is stored under its digest before the row referencing it commits.
    """
    access.require(actor, "change", model)
    if model.kind == ModelKind.LLM_APPLICATION:
        raise ValidationError(
            {
                "artifact": [
                    f"{model.name} is an LLM application: register a version as a bundle of components "
                    f"(POST /api/v1/models/{model.name}/bundles/), not as an artifact."
                ]
            }
        )
    metadata = metadata or VersionMetadata()
    _check_upload(upload, declared_sha256)
    existing = ModelVersion.objects.filter(model=model, artifact_sha256=upload.sha256).first()
    if existing is not None:
        return existing, False
    detected = _detect(upload)
    key = storage.store(ARTIFACT_PREFIX, upload)
    with transaction.atomic():
        RegisteredModel.objects.select_for_update().filter(pk=model.pk).first()
        existing = ModelVersion.objects.filter(model=model, artifact_sha256=upload.sha256).first()
        if existing is not None:  # the same bytes arrived concurrently and won the lock
            return existing, False
        number = (ModelVersion.objects.filter(model=model).aggregate(top=Max("version"))["top"] or 0) + 1
        version = ModelVersion(
            model=model,
            version=number,
            artifact_sha256=upload.sha256,
            artifact_size=upload.size,
            artifact_key=key,
            artifact_filename=upload.filename,
            artifact_format=detected.format,
            artifact_executable=detected.executable,
            artifact_details=detected.details,
            created_by=actor,
            **_scalar_metadata(metadata),
        )
        version.full_clean(exclude=["model", "created_by"])
        version.save()
        _link(version, metadata)
        record(
            action="model_version.submitted", actor=actor, obj=version, after=version_facts(version, metadata)
        )
    return version, True


def model_version_bundle_submit(
    *,
    actor: User,
    model: RegisteredModel,
    components: dict[str, Any],
    corpus_datasets: list[DatasetVersion] = (),
    metadata: VersionMetadata | None = None,
) -> tuple[ModelVersion, bool]:
    """Register a bundle (``registry.bundles``) as the next version of an LLM application; returns
    (version, created).

    ``components`` are the validated components, with the corpus's dataset versions given as
    ``corpus_datasets`` (recorded by name, number and SHA-256). Guarantees: the same bundle digest for the
    same model returns the existing version (``created`` false, nothing written); any change in any
    component is another digest, hence a new version; numbering as for artifacts.
    """
    access.require(actor, "change", model)
    if model.kind != ModelKind.LLM_APPLICATION:
        raise ValidationError(
            {"bundle": [f"{model.name} is not an LLM application (kind {model.kind}); upload an artifact."]}
        )
    metadata = metadata or VersionMetadata()
    components = dict(components)
    if corpus_datasets or "retrieval_corpus" in components:
        # the corpus's datasets are always the resolved versions, pinned by digest (never names as sent)
        corpus = dict(components.get("retrieval_corpus") or {})
        corpus["datasets"] = sorted(
            (
                {"dataset": d.dataset.name, "version": d.version, "sha256": d.file_sha256}
                for d in dict.fromkeys(corpus_datasets)
            ),
            key=lambda row: (row["dataset"], row["version"]),
        )
        components["retrieval_corpus"] = corpus
    bundles.check_components(components)
    sealed = bundles.seal(components)
    digest = sealed["digest"]
    existing = ModelVersion.objects.filter(model=model, artifact_sha256=digest).first()
    if existing is not None:
        return existing, False
    with transaction.atomic():
        RegisteredModel.objects.select_for_update().filter(pk=model.pk).first()
        existing = ModelVersion.objects.filter(model=model, artifact_sha256=digest).first()
        if existing is not None:
            return existing, False
        number = (ModelVersion.objects.filter(model=model).aggregate(top=Max("version"))["top"] or 0) + 1
        version = ModelVersion(
            model=model,
            version=number,
            artifact_sha256=digest,
            artifact_size=0,
            artifact_key="",
            artifact_filename="",
            artifact_format=ArtifactFormat.LLM_BUNDLE,
            artifact_executable=False,
            bundle=sealed,
            created_by=actor,
            **_scalar_metadata(metadata),
        )
        version.full_clean(exclude=["model", "created_by", "artifact_key", "artifact_filename"])
        version.save()
        _link(version, metadata)
        facts = version_facts(version, metadata)
        facts["bundle_digest"] = digest
        facts["component_digests"] = sealed["component_digests"]
        record(action="model_version.submitted", actor=actor, obj=version, after=facts)
    return version, True


def _check_upload(upload: storage.Upload, declared_sha256: str) -> None:
    if upload.size == 0:
        raise ValidationError({"artifact": ["The artifact is empty."]})
    declared = declared_sha256.strip().lower()
    if declared and declared != upload.sha256:
        raise ValidationError(
            {"sha256": [f"The artifact's SHA-256 is {upload.sha256}, not the declared {declared}."]}
        )


def _detect(upload: storage.Upload) -> formats.Detected:
    try:
        return formats.detect(upload.file, path=upload.temporary_path())
    except formats.ArtifactRejected as exc:
        raise ValidationError({"artifact": [str(exc)]}) from None


def _scalar_metadata(metadata: VersionMetadata) -> dict[str, Any]:
    names = [
        "description",
        "source",
        "run_id",
        "run_link",
        "tags",
        "signature",
        "framework",
        "framework_version",
        "source_repository",
        "source_commit",
        "parameters",
        "metrics",
    ]
    return {name: getattr(metadata, name) for name in names}


def _link(version: ModelVersion, metadata: VersionMetadata) -> None:
    edges = [LineageEdge(kind=EdgeKind.VERSION_OF, src_model=version.model, dst_version=version)]
    edges += [
        LineageEdge(kind=EdgeKind.TRAINED_ON, src_dataset=d, dst_version=version)
        for d in metadata.training_datasets
    ]
    edges += [
        LineageEdge(kind=EdgeKind.VALIDATED_ON, src_dataset=d, dst_version=version)
        for d in metadata.validation_datasets
    ]
    if metadata.parent is not None:
        edges.append(LineageEdge(kind=EdgeKind.PARENT, src_version=metadata.parent, dst_version=version))
    LineageEdge.objects.bulk_create(edges, ignore_conflicts=True)


def version_facts(version: ModelVersion, metadata: VersionMetadata | None = None) -> dict[str, Any]:
    """What the audit trail records about a submitted version."""
    facts = {
        "model": version.model.name,
        "version": version.version,
        "artifact_sha256": version.artifact_sha256,
        "artifact_size": version.artifact_size,
        "artifact_format": version.artifact_format,
        "artifact_executable": version.artifact_executable,
        "artifact_filename": version.artifact_filename,
        "run_id": version.run_id,
        "source": version.source,
        "source_commit": version.source_commit,
    }
    if metadata is not None:
        facts["training_datasets"] = [_dataset_ref(d) for d in metadata.training_datasets]
        facts["validation_datasets"] = [_dataset_ref(d) for d in metadata.validation_datasets]
        facts["parent"] = str(metadata.parent) if metadata.parent else None
    return facts


def _dataset_ref(version: DatasetVersion) -> str:
    return f"{version.dataset.name}:{version.version}@sha256:{version.file_sha256}"


def model_alias_set(*, actor: User, model: RegisteredModel, alias: str, version: ModelVersion) -> ModelAlias:
    """Point ``alias`` at ``version`` (of the same model); the audit event has the version before and after."""
    access.require(actor, "change", model)
    if version.model_id != model.pk:
        raise ValidationError({"version": ["The version belongs to another model."]})
    with transaction.atomic():
        current = (
            ModelAlias.objects.select_for_update()
            .filter(model=model, name=alias)
            .select_related("version")
            .first()
        )
        before = current.version.version if current else None
        if current is None:
            current = ModelAlias(model=model, name=alias)
        current.version = version
        current.updated_by = actor
        current.full_clean(exclude=["model", "version", "updated_by"])
        current.save()
        record(
            action="model_version.alias_moved",
            actor=actor,
            obj=version,
            before={"model": model.name, "alias": alias, "version": before},
            after={"model": model.name, "alias": alias, "version": version.version},
        )
    return current


def model_alias_remove(*, actor: User, alias: ModelAlias) -> None:
    """Remove an alias; audited as a move to no version."""
    access.require(actor, "change", alias.model)
    with transaction.atomic():
        record(
            action="model_version.alias_moved",
            actor=actor,
            obj=alias.version,
            before={"model": alias.model.name, "alias": alias.name, "version": alias.version.version},
            after={"model": alias.model.name, "alias": alias.name, "version": None},
        )
        alias.delete()


def model_version_download(*, actor: User, version: ModelVersion) -> File:
    """Open the artifact for reading, after recording who downloaded it."""
    access.require(actor, "view", version)
    if version.is_bundle:
        raise ValidationError(
            {
                "version": [
                    f"{version} is an LLM application bundle: it has no artifact to download; its "
                    "components are in the version's bundle."
                ]
            }
        )
    with transaction.atomic():
        record(
            action="model_version.downloaded",
            actor=actor,
            obj=version,
            after={"artifact_sha256": version.artifact_sha256, "artifact_size": version.artifact_size},
        )
    return storage.open_blob(version.artifact_key)
