"""OpenLineage intake: RunEvents (spec 2-0-2) become runs, raw events and lineage edges.

The job maps to a registered model by ``(lineage_namespace, lineage_job)``; inputs and outputs map to
dataset versions by the dataset's ``(lineage_namespace, lineage_name)``, choosing the version named by
the ``version`` dataset facet (a version number or a SHA-256) or else the newest. When the model has a
version whose MLflow ``run_id`` is the event's ``runId``, edges attach to that version, otherwise to
the model (standing for its pipeline). Whatever does not resolve is kept in the raw event and listed
as unresolved; nothing is created on the client's say-so alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime

from accounts import access
from accounts.models import User
from audit import record
from registry.models import Dataset, DatasetVersion, LineageEdge, LineageEvent, LineageRun, RegisteredModel
from registry.models.lineage import EdgeKind, EdgeOrigin

EVENT_TYPES = frozenset({"START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"})
FINAL_TYPES = frozenset({"COMPLETE", "ABORT", "FAIL"})
MAX_DATASETS = 500


@dataclass
class Resolution:
    model: RegisteredModel | None = None
    version: Any = None
    inputs: list[DatasetVersion] = field(default_factory=list)
    outputs: list[DatasetVersion] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "model": self.model.name if self.model else None,
            "model_version": self.version.version if self.version else None,
            "inputs": [_ref(d) for d in self.inputs],
            "outputs": [_ref(d) for d in self.outputs],
            "unresolved": self.unresolved,
        }


def _ref(version: DatasetVersion) -> str:
    return f"{version.dataset.name}:{version.version}"


def lineage_event_receive(*, actor: User, event: dict[str, Any]) -> tuple[LineageEvent, bool]:
    """Store a RunEvent and the edges it implies; returns (event, created).

    Guarantees: the raw JSON is kept as received; a repeated event (same run, type and time, as an
    HTTP retry sends it) is stored once; edges are added, never removed; the actor needs a role that
    may change models, and only models it may change and datasets it may see are linked.
    """
    access.require(actor, "change")
    parsed = _parse(event)
    resolution = _resolve(actor, parsed)
    with transaction.atomic():
        run = _run_for(parsed, resolution)
        duplicate = run.events.filter(event_type=parsed["eventType"], event_time=parsed["eventTime"]).first()
        if duplicate is not None:
            return duplicate, False
        _advance(run, parsed)
        stored = LineageEvent.objects.create(
            run=run,
            event_type=parsed["eventType"],
            event_time=parsed["eventTime"],
            producer=str(event.get("producer", ""))[:500],
            schema_url=str(event.get("schemaURL", ""))[:500],
            payload=event,
            resolution=resolution.as_json(),
            received_by=actor,
        )
        _add_edges(run, resolution)
        record(
            action="lineage.event_received",
            actor=actor,
            obj=stored,
            after={
                "run_id": run.run_id,
                "event_type": stored.event_type,
                "job": [run.job_namespace, run.job_name],
            }
            | resolution.as_json(),
        )
    return stored, True


def _parse(event: Any) -> dict[str, Any]:
    """The fields the intake relies on, checked; everything else is kept raw."""
    if not isinstance(event, dict):
        raise ValidationError({"non_field_errors": ["A RunEvent is a JSON object."]})
    errors: dict[str, list[str]] = {}
    event_type = event.get("eventType", "OTHER")
    if not isinstance(event_type, str) or event_type not in EVENT_TYPES:
        errors["eventType"] = [f"Expected one of {', '.join(sorted(EVENT_TYPES))}."]
    event_time = parse_datetime(event["eventTime"]) if isinstance(event.get("eventTime"), str) else None
    # before the year 1000 the API's time format (strftime %Y) would answer a three-digit year
    if event_time is None or event_time.tzinfo is None or event_time.year < 1000:
        errors["eventTime"] = ["Expected an ISO 8601 time with a time zone, from the year 1000 on."]
    run, job = event.get("run"), event.get("job")
    if not isinstance(run, dict) or not isinstance(run.get("runId"), str) or not run["runId"].strip():
        errors["run.runId"] = ["Required."]
    if not isinstance(job, dict) or not _text(job.get("namespace")) or not _text(job.get("name")):
        errors["job"] = ["A job needs a namespace and a name."]
    for name in ("producer", "schemaURL"):  # kept as text: an object or a number here is a mistake
        if name in event and not isinstance(event[name], str):
            errors[name] = ["Expected a string (a URI)."]
    # absent or null is none; {} or "" is not a list (it used to read as none)
    datasets = {side: [] if event.get(side) is None else event[side] for side in ("inputs", "outputs")}
    for side, items in datasets.items():
        if not isinstance(items, list) or len(items) > MAX_DATASETS:
            errors[side] = [f"Expected a list of at most {MAX_DATASETS} datasets."]
        elif not all(
            isinstance(d, dict) and _text(d.get("namespace")) and _text(d.get("name")) for d in items
        ):
            errors[side] = ["Every dataset needs a namespace and a name."]
    if errors:
        raise ValidationError(errors)
    return {
        "eventType": event_type,
        "eventTime": event_time.astimezone(dt.UTC),
        "runId": run["runId"].strip()[:100],
        "job": (job["namespace"][:200], job["name"][:500]),
        **datasets,
    }


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _resolve(actor: User, parsed: dict[str, Any]) -> Resolution:
    resolution = Resolution()
    namespace, name = parsed["job"]
    changeable = access.scope(actor, RegisteredModel.objects.all(), "change")
    resolution.model = changeable.filter(lineage_namespace=namespace, lineage_job=name).first()
    if resolution.model is None:
        resolution.unresolved.append(f"job {namespace}/{name}")
    else:
        resolution.version = resolution.model.versions.filter(run_id=parsed["runId"]).first()
    visible = access.scope(actor, Dataset.objects.all())
    writable = access.scope(actor, Dataset.objects.all(), "change")
    for side, datasets, target in (
        ("input", visible, resolution.inputs),
        ("output", writable, resolution.outputs),
    ):
        for item in parsed[f"{side}s"]:
            version = _dataset_version(datasets, item)
            if version is None:
                resolution.unresolved.append(f"{side} {item['namespace']}/{item['name']}")
            else:
                target.append(version)
    return resolution


def _dataset_version(datasets, item: dict[str, Any]) -> DatasetVersion | None:
    dataset = datasets.filter(lineage_namespace=item["namespace"], lineage_name=item["name"]).first()
    if dataset is None:
        return None
    versions = DatasetVersion.objects.filter(dataset=dataset).select_related("dataset")
    wanted = ((item.get("facets") or {}).get("version") or {}).get("datasetVersion")
    if isinstance(wanted, str) and wanted.strip():
        wanted = wanted.strip().removeprefix("sha256:").lower()
        match = (
            versions.filter(version=int(wanted)) if wanted.isdigit() else versions.filter(file_sha256=wanted)
        )
        return match.first()
    return versions.order_by("-version").first()


def _run_for(parsed: dict[str, Any], resolution: Resolution) -> LineageRun:
    namespace, name = parsed["job"]
    defaults = {"job_namespace": namespace, "job_name": name, "state": parsed["eventType"]}
    try:
        with transaction.atomic():
            run, _ = LineageRun.objects.get_or_create(run_id=parsed["runId"], defaults=defaults)
    except IntegrityError:  # created concurrently by the other event of the pair
        run = LineageRun.objects.get(run_id=parsed["runId"])
    run = LineageRun.objects.select_for_update().get(pk=run.pk)
    if run.model_id is None and resolution.model is not None:
        run.model = resolution.model
    if run.model_version_id is None and resolution.version is not None:
        run.model_version = resolution.version
    return run


def _advance(run: LineageRun, parsed: dict[str, Any]) -> None:
    """Keep the latest state; a final state is not undone by a late START or RUNNING."""
    event_type, event_time = parsed["eventType"], parsed["eventTime"]
    if event_type == "START" and (run.started_at is None or event_time < run.started_at):
        run.started_at = event_time
    if event_type in FINAL_TYPES:
        run.ended_at = event_time
    if run.state not in FINAL_TYPES or event_type in FINAL_TYPES:
        run.state = event_type
    run.save()


def _add_edges(run: LineageRun, resolution: Resolution) -> None:
    if resolution.model is None:
        return
    node = {"version": resolution.version} if resolution.version else {"model": resolution.model}
    edges = [
        LineageEdge(
            kind=EdgeKind.CONSUMED, origin=EdgeOrigin.OPENLINEAGE, run=run, src_dataset=d, **_dst(node)
        )
        for d in resolution.inputs
    ]
    edges += [
        LineageEdge(
            kind=EdgeKind.PRODUCED, origin=EdgeOrigin.OPENLINEAGE, run=run, dst_dataset=d, **_src(node)
        )
        for d in resolution.outputs
    ]
    LineageEdge.objects.bulk_create(edges, ignore_conflicts=True)


def _src(node: dict[str, Any]) -> dict[str, Any]:
    return {f"src_{key}": value for key, value in node.items()}


def _dst(node: dict[str, Any]) -> dict[str, Any]:
    return {f"dst_{key}": value for key, value in node.items()}
