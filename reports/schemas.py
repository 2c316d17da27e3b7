"""The JSON Schemas of the typed documents other apps and outside readers rely on, as published in
``docs/schemas/``: check results and evaluations (``monitoring.results``), the evidence manifest
approvals sign (``workflow.services.manifests``) and each report kind's inputs (``reports.rendering``).

``manage.py publish_schemas`` writes them; ``--check`` (and tests/reports/test_typed_schemas.py)
fails when a committed file no longer matches the code.
"""

from __future__ import annotations

import inspect
import json
import typing
from pathlib import Path
from typing import Any

from django.conf import settings
from pydantic import TypeAdapter

from monitoring import results
from reports import kinds
from reports.rendering import inputs
from workflow.services import manifests


def schema_dir() -> Path:
    return Path(settings.BASE_DIR) / "docs" / "schemas"


def published() -> dict[str, dict[str, Any]]:
    """``{file name: JSON Schema}`` of every published document."""
    found = {f"{name}.json": schema for name, schema in results.json_schemas().items()}
    found["evidence-manifest.json"] = manifests.json_schema()
    for spec in kinds.declared():
        found[f"report-inputs-{spec.name.replace('_', '-')}.json"] = report_input_schema(spec)
    return found


def report_input_schema(spec: kinds.ReportKindSpec) -> dict[str, Any]:
    """The JSON the report's ``inputs_digest`` is taken over (``reports.rendering.inputs.jsonable``): the
    type its declared builder takes, so a new report kind is published with no edit here."""
    data = next(iter(inspect.signature(spec.build).parameters))
    schema = TypeAdapter(typing.get_type_hints(spec.build)[data]).json_schema(mode="serialization")
    return schema | {"title": f"Attest {spec.name} report inputs", "$comment": f"format {inputs.FORMAT}"}


def as_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def stale(directory: Path) -> list[str]:
    """The published files that are missing or differ from what the code declares."""
    return [
        name
        for name, schema in published().items()
        if not (directory / name).is_file()
        or (directory / name).read_text(encoding="utf-8") != as_text(schema)
    ]
