"""Red-team runs: import a garak or promptfoo report for a model version."""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import access
from accounts.models import User
from audit import record
from monitoring import redteam
from monitoring.models import RedTeamRun
from registry import storage
from registry.models import ModelVersion

REPORT_PREFIX = "red-team-reports"


def red_team_run_import(
    *, actor: User, version: ModelVersion, report_format: str, upload: storage.Upload
) -> tuple[RedTeamRun, bool]:
    """Read the report, store it by SHA-256 and record the run with its attack success rates.

    Guarantees: the actor may run checks on the version (PermissionDenied otherwise); a report that is
    not of the declared format is refused with a ValidationError naming ``report`` (or ``format``) and
    nothing is written; the same bytes imported twice for a version return the first run (``False``);
    ``red_team.imported`` is audited in the same transaction as the row.
    """
    access.require(actor, "run_checks", version)
    if report_format not in redteam.FORMATS:
        raise ValidationError({"format": [f"One of {', '.join(redteam.FORMATS)}."]})
    existing = RedTeamRun.objects.filter(model_version=version, report_sha256=upload.sha256).first()
    if existing is not None:
        return existing, False
    upload.file.seek(0)
    try:
        results = redteam.parse(report_format, upload.file.read())
    except redteam.ReportError as exc:
        raise ValidationError({"report": [f"Not a readable {report_format} report: {exc}"]}) from None
    finally:
        upload.file.seek(0)
    key = storage.store(REPORT_PREFIX, upload)
    with transaction.atomic():
        run = RedTeamRun.objects.create(
            model_version=version,
            format=report_format,
            file_name=upload.filename,
            report_key=key,
            report_sha256=upload.sha256,
            report_size=upload.size,
            tool_version=results["tool_version"],
            target=results["target"],
            attempts=results["attempts"],
            failures=results["failures"],
            attack_success_rate=results["asr"],
            results=results,
            result_sha256=hashlib.sha256(rfc8785.dumps(results)).hexdigest(),
            imported_by=actor,
        )
        record(action="red_team.imported", actor=actor, obj=run, after=_facts(run))
    return run, True


def _facts(run: RedTeamRun) -> dict[str, Any]:
    return {
        "model": run.model_version.model.name,
        "version": run.model_version.version,
        "format": run.format,
        "file_name": run.file_name,
        "report_sha256": run.report_sha256,
        "result_sha256": run.result_sha256,
        "attempts": run.attempts,
        "failures": run.failures,
        "asr_by_category": {category["id"]: category["asr"] for category in run.results["categories"]},
    }


def latest_red_team_run(version: ModelVersion) -> RedTeamRun | None:
    """The version's most recent red-team run (what its evidence manifest pins)."""
    return RedTeamRun.objects.filter(model_version=version).order_by("-created_at", "-pk").first()


def run_categories(run: RedTeamRun) -> list[dict[str, Any]]:
    """The run's attack success rates per OWASP category (as ``redteam.parse`` stored them)."""
    return list((run.results or {}).get("categories") or [])


def run_sources(run: RedTeamRun) -> list[dict[str, Any]]:
    """The run's rows per probe/detector or plugin/strategy, as read from the report."""
    return list((run.results or {}).get("sources") or [])
