"""Judged evaluations: import an LLM judge's results for a model version."""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import access
from accounts.models import User
from audit import record
from monitoring import judged
from monitoring.models import JudgedEvaluation
from registry import storage
from registry.models import ModelVersion

FILE_PREFIX = "judged-evaluations"


def judged_evaluation_import(
    *,
    actor: User,
    version: ModelVersion,
    file_format: str,
    upload: storage.Upload,
    labels: storage.Upload | None = None,
    judge_model: str = "",
    judge_prompt_version: str = "",
    pass_threshold: float = 0.5,
) -> tuple[JudgedEvaluation, bool]:
    """Read the file (and the human labels), store both by SHA-256 and record the per-metric results.

    Guarantees: the actor may run checks on the version (PermissionDenied otherwise); a file or labels
    that cannot be read are refused with a ValidationError naming ``file``, ``labels`` or ``format`` and
    nothing is written; the same inputs imported twice return the first record (``False``);
    ``judged_evaluation.imported`` is audited in the same transaction as the row.
    """
    access.require(actor, "run_checks", version)
    if not 0 <= pass_threshold <= 1:
        raise ValidationError({"pass_threshold": ["A score from 0 to 1."]})
    try:
        label_map = judged.read_labels(_bytes(labels)) if labels is not None else {}
        results = judged.parse(
            file_format,
            _bytes(upload),
            labels=label_map,
            judge_model=judge_model,
            judge_prompt_version=judge_prompt_version,
            pass_threshold=pass_threshold,
        )
    except judged.JudgedFormatError as exc:
        raise ValidationError({exc.field: [str(exc)]}) from None
    digest = hashlib.sha256(rfc8785.dumps(results)).hexdigest()
    existing = JudgedEvaluation.objects.filter(
        model_version=version,
        file_sha256=upload.sha256,
        labels_sha256=labels.sha256 if labels else "",
        result_sha256=digest,
    ).first()
    if existing is not None:
        return existing, False
    file_key = storage.store(FILE_PREFIX, upload)
    labels_key = storage.store(FILE_PREFIX, labels) if labels is not None else ""
    with transaction.atomic():
        evaluation = JudgedEvaluation.objects.create(
            model_version=version,
            format=file_format,
            file_name=upload.filename,
            file_key=file_key,
            file_sha256=upload.sha256,
            file_size=upload.size,
            labels_key=labels_key,
            labels_sha256=labels.sha256 if labels else "",
            judge_model=judge_model,
            judge_prompt_version=judge_prompt_version,
            pass_threshold=pass_threshold,
            results=results,
            result_sha256=digest,
            imported_by=actor,
        )
        record(action="judged_evaluation.imported", actor=actor, obj=evaluation, after=_facts(evaluation))
    return evaluation, True


def _bytes(upload: storage.Upload) -> bytes:
    upload.file.seek(0)
    try:
        return upload.file.read()
    finally:
        upload.file.seek(0)


def _facts(evaluation: JudgedEvaluation) -> dict[str, Any]:
    return {
        "model": evaluation.model_version.model.name,
        "version": evaluation.model_version.version,
        "format": evaluation.format,
        "file_sha256": evaluation.file_sha256,
        "labels_sha256": evaluation.labels_sha256,
        "result_sha256": evaluation.result_sha256,
        "metrics": {
            metric["metric"]: {"mean_score": metric["mean_score"], "kappa": metric["kappa"]}
            for metric in evaluation.results["metrics"]
        },
    }


def judged_evaluations_of(version: ModelVersion) -> list[JudgedEvaluation]:
    """The version's judged evaluations, newest first (what its evidence manifest pins)."""
    return list(JudgedEvaluation.objects.filter(model_version=version).order_by("-created_at", "-pk"))


def evaluation_metrics(evaluation: JudgedEvaluation) -> list[dict[str, Any]]:
    """The imported evaluation's rows per metric (mean score, judge, agreement with people)."""
    return list((evaluation.results or {}).get("metrics") or [])
