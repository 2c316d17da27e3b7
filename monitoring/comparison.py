"""Two versions of a model side by side: what the comparison page and ``GET /api/v1/models/{name}/compare/``
both show (one builder, one structure; the page renders exactly the JSON the API returns).

A version is named by its number or by one of the model's aliases (``champion``, ``challenger``). ``a`` is the
baseline and ``b`` the candidate: every change is ``b - a`` and its ``verdict`` says whether b is ``better``,
``worse`` or the ``same`` as a, read from the metric's declared direction (``monitoring.metrics.catalogue``);
a metric without a declared direction is ``neutral``, never coloured, so a worse value is never shown as good.

Evidence comes from the versions' newest succeeded check runs:

* drift is compared only between runs that used the **same reference dataset version** (the newest such pair,
  preferring one that also shares the current dataset); without one the section says so and compares nothing;
* performance, fairness and explainability prefer runs on the same current dataset; when the versions were
  only checked on different data, both are shown with ``comparable: false`` and the datasets named;
* the version's own reported ``metrics`` (training time) are compared beside the performance runs.

Artifacts and datasets (training and validation, by dataset name: version, SHA-256, rows, schema columns added,
removed or retyped) come from the registry records.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from config.api.errors import ServiceError
from monitoring import results, selectors
from monitoring.metrics import catalogue
from monitoring.models import CheckKind, CheckRun, RunStatus
from registry import selectors as registry_selectors
from registry.models import DatasetVersion, ModelVersion, RegisteredModel
from registry.models.lineage import EdgeKind

SELECTOR_PATTERN = r"^(?:[1-9][0-9]{0,8}|[A-Za-z0-9_-]{1,64})$"
SELECTOR_HELP = "A version of the model: its number (3) or one of its aliases (champion, challenger)."
_SELECTOR_RE = re.compile(SELECTOR_PATTERN)
COMPARED_KINDS = (CheckKind.PERFORMANCE, CheckKind.DRIFT, CheckKind.FAIRNESS, CheckKind.EXPLAINABILITY)
DRIFT_COLUMNS_SHOWN = 50
BETTER, WORSE, SAME, NEUTRAL = "better", "worse", "same", "neutral"


class ComparisonError(ServiceError):
    status_code = 400
    code = "invalid"


@dataclass(frozen=True)
class Sides:
    a: ModelVersion
    b: ModelVersion


# ------------------------------------------------------------------------------------------- selection


def resolve(*, user, model: RegisteredModel, selector: str | None, field: str) -> ModelVersion:
    """The version ``selector`` names (a number or an alias), within the user's scope; 400 naming ``field``."""
    text = (selector or "").strip()
    if not text:
        raise ComparisonError(
            f"Choose version {field.upper()}.", fields={field: ["This parameter is required."]}
        )
    if not _SELECTOR_RE.fullmatch(text):
        raise ComparisonError(
            f"{text[:70]!r} is not a version number or an alias.", fields={field: [SELECTOR_HELP]}
        )
    versions = registry_selectors.version_list(user=user, model=model)
    if text.isdigit():  # a version column is a 32-bit integer: a larger number names no version
        found = versions.filter(version=int(text)).first() if int(text) < 2**31 else None
    else:
        found = versions.filter(aliases__name=text).first()
    if found is None:
        what = f"version {text}" if text.isdigit() else f"alias {text!r}"
        message = f"{model.name} has no {what}."
        raise ComparisonError(message, fields={field: [message]})
    return found


def default_selectors(*, user, model: RegisteredModel, b: str | None = None) -> tuple[str, str] | None:
    """What the page compares when nothing (or only b) is chosen: champion against challenger when both exist,
    else the two newest versions (older as a); with b chosen, the champion against it, else the version before
    it. None when there is no second version to compare with."""
    aliases = {alias.name: alias.version for alias in registry_selectors.alias_list(user=user, model=model)}
    numbers = list(registry_selectors.version_list(user=user, model=model).values_list("version", flat=True))
    if b is None:
        if "champion" in aliases and "challenger" in aliases and aliases["champion"] != aliases["challenger"]:
            return "champion", "challenger"
        return (str(numbers[1]), str(numbers[0])) if len(numbers) >= 2 else None
    target = aliases[b].version if b in aliases else int(b) if b.isdigit() else None
    if "champion" in aliases and aliases["champion"].version != target:
        return "champion", b
    earlier = [n for n in numbers if target is not None and n < target]
    others = [n for n in numbers if n != target]
    pick = earlier[0] if earlier else others[0] if others else None
    return (str(pick), b) if pick is not None else None


# --------------------------------------------------------------------------------------------- compare


def compare(*, user, model: RegisteredModel, a: str | None, b: str | None) -> dict[str, Any]:
    """The whole comparison of versions ``a`` and ``b`` of ``model`` as JSON-safe data."""
    sides = Sides(
        resolve(user=user, model=model, selector=a, field="a"),
        resolve(user=user, model=model, selector=b, field="b"),
    )
    runs = _newest_runs(user, sides)
    return {
        "model": model.name,
        "a": _version_summary(sides.a, a),
        "b": _version_summary(sides.b, b),
        "same_version": sides.a.pk == sides.b.pk,
        "performance": _performance(sides, runs),
        "drift": _drift(sides, runs),
        "fairness": _fairness(sides, runs),
        "explainability": _explainability(sides, runs),
        "artifact": _artifact(sides),
        "datasets": _datasets(sides),
    }


def change(metric_name: str, a: Any, b: Any) -> dict[str, Any]:
    """``b - a`` for two numbers with its verdict by the metric's declared direction (see module doc)."""
    declared = catalogue.lookup(metric_name)
    both = _number(a) and _number(b)
    delta = (b - a) if both else None
    verdict = NEUTRAL
    if both and math.isfinite(delta):
        if delta == 0:
            verdict = SAME
        elif declared.direction == catalogue.LOWER_IS_WORSE:
            verdict = BETTER if delta > 0 else WORSE
        elif declared.direction == catalogue.HIGHER_IS_WORSE:
            verdict = WORSE if delta > 0 else BETTER
    return {
        "metric": metric_name,
        "label": declared.label or metric_name,
        "direction": declared.direction,
        "a": a,
        "b": b,
        "delta": delta,
        "verdict": verdict,
        "shown_a": _shown(declared, a),
        "shown_b": _shown(declared, b),
        "shown_delta": _shown_delta(declared, delta),
    }


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _shown(declared: catalogue.Metric, value: Any) -> str:
    if value is None:
        return "—"
    return declared.format(value) if _number(value) else str(value)


def _shown_delta(declared: catalogue.Metric, delta: float | None) -> str:
    if delta is None:
        return "—"
    return ("+" if delta > 0 else "") + declared.format(delta)


# ------------------------------------------------------------------------------------------------ runs


def _newest_runs(user, sides: Sides) -> dict[tuple[int, str], list[CheckRun]]:
    """Succeeded runs of the compared kinds per (version, kind), newest first, without their large columns."""
    queryset = (
        selectors.check_run_detail(user=user)
        .filter(
            model_version__in=[sides.a.pk, sides.b.pk], kind__in=COMPARED_KINDS, status=RunStatus.SUCCEEDED
        )
        .defer("results", "diagnostics", "evaluations", "config", "library_versions", "thresholds")
        .order_by("-created_at", "-id")
    )
    found: dict[tuple[int, str], list[CheckRun]] = {}
    for run in queryset:
        found.setdefault((run.model_version_id, run.kind), []).append(run)
    return found


def _pair(
    sides: Sides, runs: dict, kind: str, *, key: str, prefer: str | None = None
) -> tuple[CheckRun | None, CheckRun | None, bool]:
    """The newest pair of runs of ``kind`` (one per version) that agree on ``key`` (a dataset id), and True
    (among those, one that also agrees on ``prefer`` when there is one); else each version's newest run and
    False. The pair's results are loaded (two rows)."""
    of_a, of_b = runs.get((sides.a.pk, kind), []), runs.get((sides.b.pk, kind), [])

    def agree(run_a: CheckRun, run_b: CheckRun, field: str) -> bool:
        return getattr(run_a, field) is not None and getattr(run_a, field) == getattr(run_b, field)

    chosen = (of_a[0] if of_a else None, of_b[0] if of_b else None, False)
    if sides.a.pk == sides.b.pk:
        chosen = (of_a[0], of_a[0], True) if of_a else chosen
    else:
        for fields in ((key, prefer), (key,)) if prefer else ((key,),):
            found = next(
                (
                    (run_a, run_b, True)
                    for run_a in of_a
                    for run_b in of_b
                    if all(agree(run_a, run_b, field) for field in fields)
                ),
                None,
            )
            if found is not None:
                chosen = found
                break
    loaded = {
        run.pk: run
        for run in CheckRun.objects.filter(pk__in=[r.pk for r in chosen[:2] if r is not None]).select_related(
            "reference_dataset__dataset", "current_dataset__dataset"
        )
    }
    run_a = loaded.get(chosen[0].pk) if chosen[0] else None
    run_b = loaded.get(chosen[1].pk) if chosen[1] else None
    return run_a, run_b, chosen[2]


def _run_ref(run: CheckRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "id": run.pk,
        "outcome": run.outcome,
        "created_at": run.created_at.isoformat(),
        "reference_dataset": _dataset_ref(run.reference_dataset),
        "current_dataset": _dataset_ref(run.current_dataset),
    }


def _dataset_ref(version: DatasetVersion | None) -> dict[str, Any] | None:
    if version is None:
        return None
    return {"dataset": version.dataset.name, "version": version.version, "sha256": version.file_sha256}


def _name(ref: dict | None) -> str:
    return f"{ref['dataset']}:{ref['version']}" if ref else "no dataset"


def _section(
    sides: Sides, run_a: CheckRun | None, run_b: CheckRun | None, comparable: bool, kind: str
) -> dict:
    """What every run-based section starts with: the runs and, when they are missing or not comparable, why."""
    section: dict[str, Any] = {"run_a": _run_ref(run_a), "run_b": _run_ref(run_b), "comparable": comparable}
    missing = [f"v{side.version}" for side, run in ((sides.a, run_a), (sides.b, run_b)) if run is None]
    if missing:
        section["comparable"] = False
        section["note"] = f"No succeeded {kind} check of {' and '.join(missing)}."
    elif not comparable:
        section["note"] = (
            f"The {kind} checks ran on different datasets (A: {_name(section['run_a']['current_dataset'])}, "
            f"B: {_name(section['run_b']['current_dataset'])}); differences may come from the data, not the model."
        )
    return section


# ----------------------------------------------------------------------------------------- performance


def _performance(sides: Sides, runs: dict) -> dict[str, Any]:
    run_a, run_b, comparable = _pair(sides, runs, CheckKind.PERFORMANCE, key="current_dataset_id")
    section = _section(sides, run_a, run_b, comparable, "performance")
    report_a = results.of(run_a).metrics.performance if run_a else None
    report_b = results.of(run_b).metrics.performance if run_b else None
    section["rows"] = [
        change(
            name, report_a.headline(name) if report_a else None, report_b.headline(name) if report_b else None
        )
        for name in results.HEADLINE_METRICS
        if (report_a and report_a.headline(name) is not None)
        or (report_b and report_b.headline(name) is not None)
    ]
    reported_a, reported_b = sides.a.metrics or {}, sides.b.metrics or {}
    section["version_metrics"] = [
        change(name, reported_a.get(name), reported_b.get(name))
        for name in sorted(set(reported_a) | set(reported_b))
    ]
    return section


# ----------------------------------------------------------------------------------------------- drift


def _drift(sides: Sides, runs: dict) -> dict[str, Any]:
    """Drift of each version's inputs against one shared reference dataset version, or nothing and why."""
    run_a, run_b, same_reference = _pair(
        sides, runs, CheckKind.DRIFT, key="reference_dataset_id", prefer="current_dataset_id"
    )
    section: dict[str, Any] = {
        "run_a": _run_ref(run_a),
        "run_b": _run_ref(run_b),
        "comparable": same_reference and run_a is not None,
        "reference": _dataset_ref(run_a.reference_dataset) if same_reference and run_a else None,
        "summary": [],
        "columns": [],
    }
    if not section["comparable"]:
        missing = [f"v{side.version}" for side, run in ((sides.a, run_a), (sides.b, run_b)) if run is None]
        section["note"] = (
            f"No succeeded drift check of {' and '.join(missing)}; nothing to compare."
            if missing
            else "No drift checks of the two versions used the same reference dataset version "
            f"(newest: A against {_name(section['run_a']['reference_dataset'])}, B against "
            f"{_name(section['run_b']['reference_dataset'])}). Run a drift check of each against the same "
            "reference to compare them."
        )
        return section
    drift_a = results.of(run_a).metrics.data_drift
    drift_b = results.of(run_b).metrics.data_drift
    section["summary"] = [
        change(
            "share_of_drifted_columns",
            drift_a.summary.share_of_drifted_columns,
            drift_b.summary.share_of_drifted_columns,
        ),
    ]
    section["drifted_columns"] = {
        "a": drift_a.summary.number_of_drifted_columns,
        "b": drift_b.summary.number_of_drifted_columns,
        "tested_a": drift_a.summary.tested_columns,
        "tested_b": drift_b.summary.tested_columns,
    }
    psi_a = {column.column: column for column in drift_a.columns}
    psi_b = {column.column: column for column in drift_b.columns}
    names = list(dict.fromkeys([*psi_a, *psi_b]))
    rows = []
    for name in names:
        row = change("psi", _psi(psi_a.get(name)), _psi(psi_b.get(name)))
        row |= {
            "column": name,
            "drifted_a": psi_a[name].drift_detected if name in psi_a else None,
            "drifted_b": psi_b[name].drift_detected if name in psi_b else None,
        }
        rows.append(row)
    rows.sort(key=lambda row: -max(_psi_or_zero(row["a"]), _psi_or_zero(row["b"])))
    section["columns"] = rows[:DRIFT_COLUMNS_SHOWN]
    section["columns_total"] = len(rows)
    if section["run_a"]["current_dataset"] != section["run_b"]["current_dataset"]:
        section["note"] = (
            "Same reference; the current data differ (A: "
            f"{_name(section['run_a']['current_dataset'])}, B: {_name(section['run_b']['current_dataset'])})."
        )
    return section


def _psi_or_zero(value: Any) -> float:
    return value if _number(value) else 0.0


def _psi(column) -> float | None:
    if column is None or column.statistics.psi is None:
        return None
    return column.statistics.psi.value


# -------------------------------------------------------------------------------------------- fairness


GROUP_RATES = ("selection_rate", "true_positive_rate", "false_positive_rate", "disparate_impact")


def _fairness(sides: Sides, runs: dict) -> dict[str, Any]:
    run_a, run_b, comparable = _pair(sides, runs, CheckKind.FAIRNESS, key="current_dataset_id")
    section = _section(sides, run_a, run_b, comparable, "fairness")
    parsed_a = results.of(run_a) if run_a else None
    parsed_b = results.of(run_b) if run_b else None
    groupings_a = {tuple(g.features): g for g in (parsed_a.metrics.fairness.groupings if parsed_a else [])}
    groupings_b = {tuple(g.features): g for g in (parsed_b.metrics.fairness.groupings if parsed_b else [])}
    bars_a = {tuple(g.features): g for g in (parsed_a.charts.group_bars if parsed_a else [])}
    bars_b = {tuple(g.features): g for g in (parsed_b.charts.group_bars if parsed_b else [])}
    section["groupings"] = []
    for features in dict.fromkeys([*groupings_a, *groupings_b]):
        aggregates_a = groupings_a[features].aggregates if features in groupings_a else None
        aggregates_b = groupings_b[features].aggregates if features in groupings_b else None
        metrics = []
        for name in results.Aggregates.model_fields:
            if name == "judged_groups":
                continue
            value_a = _aggregate(aggregates_a, name)
            value_b = _aggregate(aggregates_b, name)
            if value_a is not None or value_b is not None:
                metrics.append(change(name, value_a, value_b))
        section["groupings"].append(
            {
                "features": list(features),
                "metrics": metrics,
                "groups": _groups(bars_a.get(features), bars_b.get(features)),
            }
        )
    return section


def _aggregate(aggregates, name: str) -> float | None:
    found = getattr(aggregates, name, None) if aggregates is not None else None
    return found.value if found is not None else None


def _groups(bars_a, bars_b) -> list[dict[str, Any]]:
    """Per group, its rates in a and b (group rates have no better side: their changes are neutral)."""
    by_a = {_label(g.label): g for g in (bars_a.groups if bars_a else [])}
    by_b = {_label(g.label): g for g in (bars_b.groups if bars_b else [])}
    rows = []
    for label in dict.fromkeys([*by_a, *by_b]):
        row: dict[str, Any] = {
            "group": label,
            "count_a": by_a[label].count if label in by_a else None,
            "count_b": by_b[label].count if label in by_b else None,
        }
        for rate in GROUP_RATES:
            value_a = getattr(by_a[label], rate) if label in by_a else None
            value_b = getattr(by_b[label], rate) if label in by_b else None
            row[rate] = change(f"group:{rate}", value_a, value_b) | {"label": rate.replace("_", " ")}
        rows.append(row)
    return rows


def _label(label: Any) -> str:
    return "(missing)" if label is None else str(label)


# -------------------------------------------------------------------------------------- explainability


def _explainability(sides: Sides, runs: dict) -> dict[str, Any]:
    run_a, run_b, comparable = _pair(sides, runs, CheckKind.EXPLAINABILITY, key="current_dataset_id")
    section = _section(sides, run_a, run_b, comparable, "explainability")
    ranks_a = _ranks(run_a)
    ranks_b = _ranks(run_b)
    rows = []
    for feature in dict.fromkeys([*ranks_a, *ranks_b]):
        rank_a, value_a = ranks_a.get(feature, (None, None))
        rank_b, value_b = ranks_b.get(feature, (None, None))
        moved = rank_a - rank_b if rank_a is not None and rank_b is not None else None
        rows.append(
            {
                "feature": feature,
                "rank_a": rank_a,
                "rank_b": rank_b,
                "mean_abs_shap_a": value_a,
                "mean_abs_shap_b": value_b,
                # positive: the feature moved up (more important in b); rank changes have no better side
                "moved": moved,
                "movement": _movement(rank_a, rank_b, moved),
            }
        )
    rows.sort(key=lambda row: (row["rank_b"] is None, row["rank_b"] or 0, row["rank_a"] or 0))
    section["features"] = rows
    return section


def _ranks(run: CheckRun | None) -> dict[str, tuple[int, float | None]]:
    """Feature → (rank by mean |SHAP|, 1 = most important; ties share the order the run stored, value)."""
    if run is None:
        return {}
    importance = results.of(run).metrics.explanation.global_importance
    ordered = sorted(importance, key=lambda item: -(item.mean_abs_shap or 0.0))
    return {item.feature: (rank, item.mean_abs_shap) for rank, item in enumerate(ordered, start=1)}


def _movement(rank_a: int | None, rank_b: int | None, moved: int | None) -> str:
    if rank_a is None:
        return "new in B"
    if rank_b is None:
        return "not in B"
    if moved == 0:
        return "same rank"
    return f"up {moved}" if moved > 0 else f"down {-moved}"


# -------------------------------------------------------------------------------------------- artifact


ARTIFACT_FIELDS = (
    ("artifact_format", "format"),
    ("artifact_size", "size (bytes)"),
    ("artifact_sha256", "SHA-256"),
    ("artifact_filename", "file name"),
    ("artifact_executable", "loadable"),
    ("framework", "framework"),
    ("framework_version", "framework version"),
    ("source_repository", "source repository"),
    ("source_commit", "source commit"),
    ("run_id", "training run"),
)


def _artifact(sides: Sides) -> dict[str, Any]:
    fields = [
        {
            "field": field,
            "label": label,
            "a": getattr(sides.a, field),
            "b": getattr(sides.b, field),
            "same": getattr(sides.a, field) == getattr(sides.b, field),
            "shown_a": _plain(getattr(sides.a, field)),
            "shown_b": _plain(getattr(sides.b, field)),
        }
        for field, label in ARTIFACT_FIELDS
    ]
    return {"fields": fields, "parameters": _dict_diff(sides.a.parameters or {}, sides.b.parameters or {})}


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "—" if value in (None, "") else str(value)


def _dict_diff(a: dict, b: dict) -> list[dict[str, Any]]:
    rows = []
    for name in sorted(set(a) | set(b), key=str):
        if name not in a:
            status = "added"
        elif name not in b:
            status = "removed"
        else:
            status = "same" if a[name] == b[name] else "changed"
        rows.append({"name": str(name), "a": a.get(name), "b": b.get(name), "status": status})
    return rows


# -------------------------------------------------------------------------------------------- datasets


def _datasets(sides: Sides) -> dict[str, list[dict[str, Any]]]:
    """Training and validation datasets of each version, paired by dataset name."""
    found = {}
    for role, kind in (("training", EdgeKind.TRAINED_ON), ("validation", EdgeKind.VALIDATED_ON)):
        of_a = _inputs(sides.a, kind)
        of_b = _inputs(sides.b, kind)
        found[role] = [
            _dataset_pair(name, of_a.get(name), of_b.get(name)) for name in dict.fromkeys([*of_a, *of_b])
        ]
    return found


def _inputs(version: ModelVersion, kind: str) -> dict[str, DatasetVersion]:
    edges = getattr(version, "input_edges", None)
    if edges is None:  # not fetched through registry_selectors.version_list
        edges = version.edges_in.filter(kind=kind).select_related("src_dataset__dataset")
    return {edge.src_dataset.dataset.name: edge.src_dataset for edge in edges if edge.kind == kind}


def _dataset_pair(name: str, a: DatasetVersion | None, b: DatasetVersion | None) -> dict[str, Any]:
    columns_a = {column.get("name"): column.get("type") for column in (a.schema if a else []) or []}
    columns_b = {column.get("name"): column.get("type") for column in (b.schema if b else []) or []}
    both = a is not None and b is not None
    return {
        "dataset": name,
        "a": _dataset_facts(a),
        "b": _dataset_facts(b),
        "same_file": both and a.file_sha256 == b.file_sha256,
        "columns_added": [c for c in columns_b if c not in columns_a] if both else [],
        "columns_removed": [c for c in columns_a if c not in columns_b] if both else [],
        "columns_retyped": (
            [
                {"column": c, "a": columns_a[c], "b": columns_b[c]}
                for c in columns_a
                if c in columns_b and columns_a[c] != columns_b[c]
            ]
            if both
            else []
        ),
    }


def _dataset_facts(version: DatasetVersion | None) -> dict[str, Any] | None:
    if version is None:
        return None
    return {
        "version": version.version,
        "sha256": version.file_sha256,
        "rows": version.row_count,
        "columns": len(version.schema or []),
        "role": version.role,
    }


def _version_summary(version: ModelVersion, selector: str | None) -> dict[str, Any]:
    return {
        "version": version.version,
        "selector": (selector or "").strip(),
        "aliases": [alias.name for alias in version.aliases.all()],
        "created_at": version.created_at.isoformat(),
        "created_by": version.created_by.username,
        "description": version.description,
    }
