"""Dataset writes: registering datasets, uploading versions (checked at upload), profiling them."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts import access
from accounts.models import Team, User
from audit import record
from jobs import leases
from jobs.kinds import QUEUED, JobKind, register
from registry import dispatch, profiling, storage, tabular
from registry.models import Dataset, DatasetVersion
from registry.models.datasets import DatasetRole, FileFormat, ProfileStatus
from registry.services import declarations, names

DATASET_PREFIX = "datasets"
MAX_PROFILE_ERROR = 2000
# Unique across every team; a clash with a dataset the actor cannot see says only "not available".
DATASET_UNIQUE_FIELDS = (("name",), ("lineage_namespace", "lineage_name"))


def dataset_create(
    *,
    actor: User,
    team: Team,
    name: str,
    title: str = "",
    description: str = "",
    owner: User | None = None,
    lineage_namespace: str = "",
    lineage_name: str = "",
) -> Dataset:
    """Register a dataset owned by ``team``. Its OpenLineage identity defaults to ``("attest", name)``."""
    access.require(actor, "change", team)
    with transaction.atomic():
        dataset = Dataset(
            team=team,
            name=name,
            title=title,
            description=description,
            owner=owner or actor,
            lineage_namespace=lineage_namespace or "attest",
            lineage_name=lineage_name or name,
        )
        names.full_clean(actor, dataset, DATASET_UNIQUE_FIELDS, exclude=["team", "owner"])
        with names.taken_concurrently_is_not_available("name"):
            dataset.save()
        record(action="dataset.created", actor=actor, obj=dataset, after=_dataset_facts(dataset))
    return dataset


def _dataset_facts(dataset: Dataset) -> dict[str, Any]:
    return {
        "name": dataset.name,
        "title": dataset.title,
        "team": dataset.team.name,
        "owner": dataset.owner.username,
        "lineage": [dataset.lineage_namespace, dataset.lineage_name],
    }


def dataset_version_upload(
    *,
    actor: User,
    dataset: Dataset,
    upload: storage.Upload,
    declared_sha256: str = "",
    role: str = DatasetRole.OTHER,
    target_column: str = "",
    prediction_column: str = "",
    sensitive_columns: list[str] = (),
    favourable_label: Any = None,
    description: str = "",
) -> tuple[DatasetVersion, bool]:
    """Add a CSV or Parquet file as the dataset's next version and queue its profile; returns (version, created).

    Guarantees: the file is refused (400, naming the row or column) when it is empty, has no header,
    duplicate or empty column names, invalid UTF-8 or ragged rows, or is a Parquet file pyarrow cannot
    read; declared columns exist in the file; a declared ``favourable_label`` is one of the target
    column's values as checks will read them (400 naming ``favourable_label`` otherwise); the same bytes
    return the existing version; the profile job is queued only once the version has committed.
    """
    access.require(actor, "change", dataset)
    if upload.size == 0:
        raise ValidationError({"file": ["The file is empty."]})
    declared = declared_sha256.strip().lower()
    if declared and declared != upload.sha256:
        raise ValidationError(
            {"sha256": [f"The file's SHA-256 is {upload.sha256}, not the declared {declared}."]}
        )
    existing = DatasetVersion.objects.filter(dataset=dataset, file_sha256=upload.sha256).first()
    if existing is not None:
        return existing, False
    file_format, info = _inspect(upload)
    sensitive = list(dict.fromkeys(sensitive_columns))
    _check_declared_columns(info, target_column, prediction_column, sensitive)
    _check_favourable_label(upload, file_format, target_column, favourable_label)
    key = storage.store(DATASET_PREFIX, upload)
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        existing = DatasetVersion.objects.filter(dataset=dataset, file_sha256=upload.sha256).first()
        if existing is not None:
            return existing, False
        number = (
            DatasetVersion.objects.filter(dataset=dataset).aggregate(top=Max("version"))["top"] or 0
        ) + 1
        version = DatasetVersion(
            dataset=dataset,
            version=number,
            role=role,
            file_sha256=upload.sha256,
            file_size=upload.size,
            file_key=key,
            file_name=upload.filename,
            file_format=file_format,
            schema=info.columns,
            row_count=info.row_count,
            target_column=target_column,
            prediction_column=prediction_column,
            sensitive_columns=sensitive,
            favourable_label=favourable_label,
            description=description,
            created_by=actor,
        )
        version.full_clean(exclude=["dataset", "created_by"])
        version.save()
        record(action="dataset_version.uploaded", actor=actor, obj=version, after=_version_facts(version))
        transaction.on_commit(lambda: _queue_profile(version.pk))
    return version, True


def _inspect(upload: storage.Upload) -> tuple[str, tabular.TableInfo]:
    upload.file.seek(0)
    head = upload.file.read(8)
    file_format = tabular.guess_format(head, upload.filename)
    try:
        return file_format, tabular.inspect_file(upload.file, file_format)
    except tabular.BadDataFile as exc:
        raise ValidationError({"file": [exc.message]}) from None


def _check_declared_columns(
    info: tabular.TableInfo, target: str, prediction: str, sensitive: list[str]
) -> None:
    names = [column["name"] for column in info.columns]
    listing = ", ".join(names[:50]) + (" …" if len(names) > 50 else "")
    errors: dict[str, list[str]] = {}
    for field, column in (("target_column", target), ("prediction_column", prediction)):
        if column and column not in names:
            errors[field] = [f"The file has no column {column!r}; its columns are: {listing}."]
    missing = [column for column in sensitive if column not in names]
    if missing:
        errors["sensitive_columns"] = [f"The file has no column {missing[0]!r}; its columns are: {listing}."]
    if errors:
        raise ValidationError(errors)


def _check_favourable_label(upload: storage.Upload, file_format: str, target: str, label: Any) -> None:
    declarations.favourable_label(label)
    if label is None:
        return
    if not target:
        raise ValidationError(
            {"favourable_label": ["Declare target_column too: the favourable label is one of its values."]}
        )
    values = _column_values(upload, file_format, target)
    if values is not None:
        declarations.label_among(label, values, column=target, where="this file")


def _column_values(upload: storage.Upload, file_format: str, column: str) -> list[Any] | None:
    """The distinct values of one column, typed as checks read them (pyarrow's inference over all rows);
    None when pyarrow cannot read the column that way (the profile job will then report why)."""
    upload.file.seek(0)
    try:
        if file_format == FileFormat.PARQUET:
            table = pq.read_table(upload.file, columns=[column])
        else:
            table = pa_csv.read_csv(
                upload.file,
                parse_options=pa_csv.ParseOptions(newlines_in_values=True),
                convert_options=pa_csv.ConvertOptions(include_columns=[column]),
            )
    except (pa.ArrowException, OSError, ValueError):
        return None
    finally:
        upload.file.seek(0)
    values = pc.unique(table.column(column).drop_null()).to_pylist()
    try:
        return sorted(values)
    except TypeError:  # values a person reads in order; some types have none
        return values


def _version_facts(version: DatasetVersion) -> dict[str, Any]:
    return {
        "dataset": version.dataset.name,
        "version": version.version,
        "role": version.role,
        "file_sha256": version.file_sha256,
        "file_size": version.file_size,
        "file_format": version.file_format,
        "file_name": version.file_name,
        "columns": len(version.schema),
        "target_column": version.target_column,
        "prediction_column": version.prediction_column,
        "sensitive_columns": version.sensitive_columns,
        "favourable_label": version.favourable_label,
    }


def _queue_profile(version_id: int) -> None:
    dispatch.profile_dataset_version(version_id)


def _set_profile_error(version: DatasetVersion, error_type: str, message: str) -> list[str]:
    version.profile_error = f"{error_type}: {message}"[:MAX_PROFILE_ERROR]
    return ["profile_error"]


PROFILE = register(
    JobKind(
        name="dataset_profile",
        model_label="registry.DatasetVersion",
        task="registry.tasks.profile_dataset_version",
        status_field="profile_status",
        state_values={QUEUED: ProfileStatus.PENDING},
        set_error=_set_profile_error,
    )
)


def dataset_version_profile(*, version_id: int) -> DatasetVersion:
    """Compute and store the profile of a dataset version (run by the profiling task).

    A durable job (``jobs``): claimed with a lease renewed while it works; the work happens outside any
    transaction; the result and its audit event commit together, under the claim. A file that cannot be
    profiled, or a profile that cannot be stored, fails the job with the reason
    (``dataset_profile.failed``): it never stays ``running``.
    """
    try:
        claimed = leases.claim(PROFILE, version_id)
    except leases.Busy:
        claimed = None
    if claimed is None:
        return DatasetVersion.objects.select_related("dataset").get(pk=version_id)
    version, token = claimed
    try:
        with leases.Heartbeat(PROFILE, version.pk, token):
            leases.test_delay()
            with storage.open_blob(version.file_key) as blob:
                profile = profiling.profile_file(blob, version.file_format)
            _store_profile(version.pk, token, profile)
    except Exception as exc:
        leases.fail(PROFILE, version.pk, token, type(exc).__name__, str(exc) or repr(exc))
    return DatasetVersion.objects.select_related("dataset").get(pk=version_id)


def _store_profile(version_id: int, token: str, profile: dict[str, Any]) -> None:
    with leases.holding(PROFILE, version_id, token) as version:
        if version is None:
            return
        version.profile = profile
        version.row_count = profile["rows"]
        version.profile_error = ""
        version.profiled_at = timezone.now()
        leases.succeed_locked(PROFILE, version)
        version.save()
        record(
            action="dataset_version.profiled",
            actor=None,
            obj=version,
            after={
                "status": version.profile_status,
                "rows": version.row_count,
                "columns": len(profile["columns"]),
            },
        )


def dataset_version_download(*, actor: User, version: DatasetVersion):
    """Open the dataset file for reading, after recording who downloaded it."""
    access.require(actor, "view", version)
    with transaction.atomic():
        record(
            action="dataset_version.downloaded",
            actor=actor,
            obj=version,
            after={"file_sha256": version.file_sha256, "file_size": version.file_size},
        )
    return storage.open_blob(version.file_key)
