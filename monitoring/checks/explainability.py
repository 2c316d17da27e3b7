"""Explainability check: SHAP values of the model on the current dataset, judged on what the model relies on.

``monitoring.metrics.explain.explain_model`` runs inside the sandbox child (it has to load the model).
By default rows are a seeded sample of at most 1000 and there is no time budget, so a rerun explains the
same rows and gives the same numbers; the measured timing goes to the run's diagnostics, not its results.

Judged (``monitoring.metrics.catalogue``; numbers from ``monitoring.metrics.attribution``):

* ``sensitive_shap_share`` — share of the total mean |SHAP| carried by the sensitive features: the
  current dataset's declared sensitive columns that the model takes as inputs, or
  ``config.sensitive_features``. Not judged when none is declared.
* ``prohibited_shap_share`` — the same for the model's declared ``prohibited_features`` (or
  ``config.prohibited_features``); judged only when some are declared; by default any reliance fails.
* ``top_feature_rank_stability`` — Kendall's τ-b of the importance ranking against a baseline over the
  union of both top-k features: an earlier succeeded explainability run of the same model
  (``config.options.baseline_run``), else the model explained on a seeded sample of the reference
  dataset (a second sandbox call), else not judged, and the results say why.

A metric that is not judged adds no evaluation, unless a binding (policy) threshold bounds it: then it
warns, so a policy bound is never met by a run that could not measure it.

SHAP additivity (base + Σ SHAP = output) is a diagnostic, reported in the results: it holds by
construction for exact explainers, so holding never makes the check pass; when it is broken the SHAP
values are unreliable and the check warns.
"""

from __future__ import annotations

from typing import Any

from monitoring import results
from monitoring.checks import inputs
from monitoring.checks.base import PASS, WARN, CheckContext, evaluation, threshold_value
from monitoring.metrics import attribution, catalogue
from monitoring.models import CheckRun, RunStatus

KIND = "explainability"
EXPLAINERS = ("auto", "tree", "linear", "permutation")
Option = inputs.Option
# The options explain_model takes; the others are this check's own. None is accepted only where it means
# something (no budget, automatic class, no baseline run).
EXPLAIN_OPTIONS = {
    "max_rows": Option(int, 1, 100_000, meaning="rows of the current dataset explained (1,000)"),
    "background_size": Option(int, 1, 10_000, meaning="rows of the SHAP background"),
    "local_rows": Option(int, 1, 100, meaning="rows explained one by one in the report"),
    "beeswarm_points": Option(int, 1, 5_000, meaning="points per feature in the beeswarm chart"),
    "class_index": Option(int, 0, 999, nullable=True, meaning="class explained (null: the positive one)"),
    "additivity_rows": Option(int, 1, 100_000, meaning="rows whose SHAP values are checked to add up"),
    "seed": Option(int, 0, 2**32 - 1, meaning="seed of the samples (0)"),
    "explainer": Option(str, choices=EXPLAINERS, meaning="SHAP explainer (auto)"),
    "time_budget_s": Option(
        (int, float), 0.1, 86_400, nullable=True, meaning="seconds before SHAP stops (null: no budget)"
    ),
}
OPTIONS = EXPLAIN_OPTIONS | {
    "top_k": Option(int, attribution.MIN_RANKED, 50, meaning="features compared for stability (5)"),
    "reference_rows": Option(
        int, 1, 100_000, meaning="rows of the reference explained for stability (max_rows)"
    ),
    "baseline_run": Option(int, 1, 2**63 - 1, nullable=True, meaning="check run whose ranking is compared"),
}
DEFAULTS = {"max_rows": 1000, "time_budget_s": None, "seed": 0, "top_k": 5}
# Configuration keys only this kind reads (inputs.check_keys knows the common ones).
OWN_KEYS = ("sensitive_features", "prohibited_features")
# The reference is explained only for its ranking: keep the parts nobody reads small.
REFERENCE_EXTRAS = {"local_rows": 1, "beeswarm_points": 1, "additivity_rows": 1}
PROXY_NOTE = "reliance through proxies of these features is not measured"


# ------------------------------------------------------------------------------------------- normalise


def normalise(raw: dict[str, Any], *, version, reference, current) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise inputs.fail("config", "Expected a JSON object.")
    own = {key: raw[key] for key in OWN_KEYS if key in raw}
    options = inputs.check_keys({k: v for k, v in raw.items() if k not in OWN_KEYS}, OPTIONS)
    if "sensitive_columns" in raw:
        raise inputs.fail(
            "config.sensitive_columns", "An explainability check reads config.sensitive_features instead."
        )
    current = inputs.require_dataset(current, "current_dataset", KIND)
    inputs.require_executable(version, "An explainability check runs the model")
    excluded = {name for name in (current.target_column, current.prediction_column) if name}
    features = inputs.features(raw, version, current, excluded)
    if reference is not None:
        inputs.require_in("config.features", features, reference, "reference (background)")
    options = DEFAULTS | options
    if options.get("baseline_run") is None and reference is not None:
        options.setdefault("reference_rows", options["max_rows"])
    return {
        "features": features,
        "sensitive": _sensitive(own, current, features),
        "prohibited": _prohibited(own, version, current, features),
        "baseline": _baseline(options, version, reference),
        "thresholds": inputs.requested_thresholds(raw, KIND),
        "options": options,
    }


def _names(raw: Any, field: str) -> list[str]:
    """A list of feature names; unlike inputs.column_list, an empty list is allowed (it declares none)."""
    if not isinstance(raw, list) or not all(isinstance(item, str) and item for item in raw):
        raise inputs.fail(field, 'Expected a list of feature names, e.g. ["age", "sex"] (or [] for none).')
    if len(raw) > inputs.MAX_COLUMNS:
        raise inputs.fail(field, f"At most {inputs.MAX_COLUMNS} names.")
    return list(dict.fromkeys(raw))


def _require_known(field: str, names: list[str], features: list[str], current) -> None:
    """A name given in the request must be a model feature or a column of the current dataset (typos)."""
    known = set(features) | set(inputs.columns_of(current))
    unknown = [name for name in names if name not in known]
    if unknown:
        raise inputs.fail(
            field,
            f"{unknown[0]!r} is neither a model feature nor a column of the current dataset {current}; "
            f"the features are: {inputs.listing(features)}.",
        )


def _sensitive(own: dict[str, Any], current, features: list[str]) -> dict[str, Any]:
    if "sensitive_features" in own:
        names = _names(own["sensitive_features"], "config.sensitive_features")
        _require_known("config.sensitive_features", names, features, current)
        return {"declared": names, "source": "config.sensitive_features"}
    declared = list(current.sensitive_columns or [])
    return {"declared": declared, "source": f"dataset {current}'s sensitive_columns"}


def _prohibited(own: dict[str, Any], version, current, features: list[str]) -> dict[str, Any]:
    if "prohibited_features" in own:
        names = _names(own["prohibited_features"], "config.prohibited_features")
        _require_known("config.prohibited_features", names, features, current)
        return {"declared": names, "source": "config.prohibited_features"}
    # RegisteredModel.prohibited_features may not exist yet on every deployment of this code
    declared = list(getattr(version.model, "prohibited_features", None) or [])
    return {"declared": declared, "source": f"model {version.model.name}'s prohibited_features"}


def _baseline(options: dict[str, Any], version, reference) -> dict[str, Any]:
    """What the ranking is compared with, resolved now so the run records it (and a run's snapshot)."""
    if options.get("baseline_run") is not None:
        return _baseline_run(options["baseline_run"], version)
    if reference is not None:
        return {"source": "reference_dataset", "dataset": str(reference), "rows": options["reference_rows"]}
    return {
        "source": None,
        "reason": "no baseline: the check has no reference dataset and no config.options.baseline_run",
    }


def _baseline_run(run_id: int, version) -> dict[str, Any]:
    """A succeeded explainability run of the same model, as a snapshot (the service that queues the run
    checks the requester may see it: ``monitoring.services.runs.check_run_create``).

    The snapshot (its global importance, result digest, version and dataset) is stored in the run's
    configuration, so the judgement does not depend on reading another run later.
    """
    field = "config.options.baseline_run"
    candidates = CheckRun.objects.filter(model_version__model_id=version.model_id)
    run = (
        candidates.select_related("model_version__model", "current_dataset__dataset")
        .filter(pk=run_id)
        .first()
    )
    if run is None:
        raise inputs.fail(field, f"No check run #{run_id} of model {version.model.name} is visible to you.")
    if run.kind != KIND:
        raise inputs.fail(field, f"Check run #{run_id} is a {run.kind} check; use an explainability run.")
    if run.status != RunStatus.SUCCEEDED:
        raise inputs.fail(field, f"Check run #{run_id} is {run.status}; use a run that succeeded.")
    explanation = results.of(run).metrics.explanation
    if not explanation.global_importance:
        raise inputs.fail(field, f"Check run #{run_id} stored no SHAP importance to compare with.")
    return {
        "source": "run",
        "run": run.pk,
        "model_version": str(run.model_version),
        "dataset": str(run.current_dataset) if run.current_dataset_id else None,
        "result_sha256": run.result_sha256,
        "rows_explained": explanation.rows_explained,
        "explainer": explanation.explainer,
        "importance": [item.to_stored() for item in explanation.global_importance],
    }


def needs_model(config: dict[str, Any]) -> bool:
    return True


# --------------------------------------------------------------------------------------------- compute


def compute(ctx: CheckContext) -> dict[str, Any]:
    if ctx.explain is None:
        raise ValueError("An explainability check needs the sandbox.")
    options = {name: value for name, value in ctx.options.items() if name in EXPLAIN_OPTIONS}
    explanation = ctx.explain(ctx.current, ctx.reference, options, step="explaining the current rows")
    # Machine-dependent parts go to diagnostics so that the hashed results are reproducible.
    ctx.diagnostics["shap_timing"] = explanation.pop("timing", None)
    ctx.diagnostics["sandbox"] = explanation.pop("sandbox", None)
    importance = attribution.importance_map(explanation["global_importance"])
    return {
        "explanation": explanation,
        "reliance": {
            "sensitive": _reliance(importance, ctx.config.get("sensitive") or {}),
            "prohibited": _reliance(importance, ctx.config.get("prohibited") or {}),
        },
        "stability": _stability(ctx, importance, options),
    }


def _reliance(importance: dict[str, float], declared: dict[str, Any]) -> dict[str, Any]:
    """The share of the declared features that are model inputs; not judged when none is declared."""
    names = declared.get("declared") or []
    about = {"declared": names, "source": declared.get("source")}
    if not names:
        reason = f"no feature is declared in {declared.get('source') or 'the configuration'}"
        return about | {"judged": False, "reason": reason}
    share = attribution.attribution_share(importance, names)
    return about | {"judged": True, "note": PROXY_NOTE, **share}


def _stability(ctx: CheckContext, importance: dict[str, float], options: dict[str, Any]) -> dict[str, Any]:
    baseline = dict(ctx.config.get("baseline") or {})
    if baseline.get("source") == "reference_dataset" and ctx.reference is not None:
        baseline |= _explain_reference(ctx, options)
    if not baseline.get("source"):
        return {"judged": False, "reason": baseline.get("reason", "no baseline"), "baseline": baseline}
    compared = attribution.rank_stability(
        importance,
        attribution.importance_map(baseline["importance"]),
        top_k=ctx.options.get("top_k", DEFAULTS["top_k"]),
    )
    judged = compared["value"] is not None
    return {"judged": judged, "baseline": baseline, **compared}


def _explain_reference(ctx: CheckContext, options: dict[str, Any]) -> dict[str, Any]:
    """The model explained on a seeded sample of the reference, with the current run's explainer options."""
    rows = ctx.options.get("reference_rows") or options["max_rows"]
    explanation = ctx.explain(
        ctx.reference,
        ctx.reference,
        options | REFERENCE_EXTRAS | {"max_rows": rows},
        step="explaining the reference rows (baseline ranking)",
    )
    ctx.diagnostics["shap_timing_reference"] = explanation.pop("timing", None)
    explanation.pop("sandbox", None)
    return {
        "rows_available": explanation["rows_available"],
        "rows_explained": explanation["rows_explained"],
        "explainer": explanation["explainer"],
        "importance": explanation["global_importance"],
    }


# -------------------------------------------------------------------------------------------- evaluate


def evaluate(metrics: dict[str, Any], thresholds: dict[str, Any]) -> list[dict[str, Any]]:
    reliance = metrics.get("reliance") or {}
    found = [
        _share("sensitive_shap_share", "sensitive", reliance.get("sensitive") or {}, thresholds),
        _share("prohibited_shap_share", "prohibited", reliance.get("prohibited") or {}, thresholds),
        _rank(metrics.get("stability") or {}, thresholds),
        _additivity(metrics["explanation"]["additivity"]),
    ]
    return [item for item in found if item is not None]


def _judged(
    *, metric: str, band: str, scope: str, value: float | None, thresholds: dict, why: str
) -> dict[str, Any] | None:
    """Judge ``value`` against threshold ``band`` in the metric's declared direction; None when unset."""
    limit, source = threshold_value(thresholds, band)
    if limit is None:
        return None
    declared = catalogue.metric(metric)
    common = {"metric": metric, "scope": scope, "threshold": limit, "threshold_name": band}
    common |= {"threshold_source": source, "rule": f"{metric} {declared.comparison} {band}"}
    if value is None:
        return evaluation(value=None, status=WARN, explanation=f"{why}, so not judged", **common)
    breached = declared.breaches(value, limit)
    status = catalogue.band(KIND, band).status if breached else PASS
    side = ("is below" if declared.lower_is_worse else "exceeds") if breached else "meets"
    text = f"{why}; {side} {declared.comparison} {limit:g} ({source})"
    return evaluation(value=value, status=status, explanation=text, **common)


def _share(metric: str, which: str, reliance: dict[str, Any], thresholds: dict) -> dict[str, Any] | None:
    if not reliance.get("judged"):
        # a policy that bounds the sensitive share expects sensitive features declared; a prohibited list
        # may rightly be empty, and then its bound has nothing to apply to
        if which == "sensitive":
            return _unjudged(
                metric, f"{metric}_max", "sensitive features", reliance.get("reason"), thresholds
            )
        return None
    explained = reliance.get("explained") or []
    absent = reliance.get("not_explained") or []
    scope = f"{which} features {', '.join(reliance['declared'])}"
    share = reliance.get("share")
    if share is None:
        why = f"the share of the {which} features is undefined ({reliance.get('reason')})"
    elif not explained:
        why = (
            f"none of the {which} features ({', '.join(absent)}) is a model input, so the model cannot "
            f"rely on them directly ({PROXY_NOTE})"
        )
    else:
        parts = ", ".join(f"{name} {_percent(value)}" for name, value in reliance["by_feature"].items())
        why = f"{which} features carry {_percent(share)} of the total mean |SHAP| ({parts})"
        if absent:
            why += f"; not model inputs: {', '.join(absent)}"
    return _judged(
        metric=metric, band=f"{metric}_max", scope=scope, value=share, thresholds=thresholds, why=why
    )


def _rank(stability: dict[str, Any], thresholds: dict) -> dict[str, Any] | None:
    baseline = stability.get("baseline") or {}
    name = "top_feature_rank_stability"
    if not baseline.get("source") or stability.get("value") is None:
        # no baseline, or too few ranked features for a rank correlation: the results' reason says which
        return _unjudged(name, f"{name}_min", "top features", stability.get("reason"), thresholds)
    scope = f"top {stability['top_k']} features against {_baseline_text(baseline)}"
    tau = stability["value"]
    why = (
        f"Kendall τ-b = {tau:.3f} ({(1 + tau) / 2:.0%} of top-feature pairs in the baseline's order; "
        f"top {stability['top_k']} now {', '.join(stability['current_top'])}, "
        f"baseline {', '.join(stability['baseline_top'])})"
    )
    return _judged(
        metric=name,
        band=f"{name}_min",
        scope=scope,
        value=stability.get("value"),
        thresholds=thresholds,
        why=why,
    )


def _unjudged(
    metric: str, band: str, scope: str, reason: str | None, thresholds: dict
) -> dict[str, Any] | None:
    """A metric that could not be judged: nothing, unless a binding (policy) threshold asks for it."""
    entry = thresholds.get(band) or {}
    if not entry.get("binding") or entry.get("value") is None:
        return None
    return evaluation(
        metric=metric,
        scope=scope,
        value=None,
        threshold=entry["value"],
        threshold_name=band,
        threshold_source=entry.get("source"),
        rule=f"{metric} {catalogue.metric(metric).comparison} {band}",
        status=WARN,
        explanation=f"{entry.get('source')} bounds {metric}, but it was not judged: {reason}",
    )


def _baseline_text(baseline: dict[str, Any]) -> str:
    if baseline["source"] == "run":
        return f"run #{baseline['run']} ({baseline['model_version']})"
    return f"the reference dataset {baseline.get('dataset')}"


def _additivity(additivity: dict[str, Any]) -> dict[str, Any] | None:
    """A diagnostic: only a broken additivity is an evaluation (it warns: the SHAP values may mislead)."""
    if additivity["holds"]:
        return None
    deviation = additivity["max_abs_deviation"]
    return evaluation(
        metric="shap_additivity",
        scope=f"{additivity['rows_checked']} explained rows",
        value=deviation,
        threshold=additivity["tolerance"],
        threshold_name="additivity tolerance",
        threshold_source="monitoring.metrics.explain.ADDITIVITY_TOLERANCE",
        rule="max |base + sum(SHAP) - output| <= tolerance",
        status=WARN,
        explanation=f"SHAP values miss the model output by up to {deviation}, so they may mislead",
    )


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


# ------------------------------------------------------------------------------------------- documents


def describe(metrics: dict[str, Any]) -> list[str]:
    """Sentences for documents: what each judgement compared, what was not judged and why, and the
    additivity diagnostic. Empty for results stored before the judged metrics existed."""
    reliance = metrics.get("reliance") or {}
    lines = [
        _reliance_text(which, reliance[which]) for which in ("sensitive", "prohibited") if which in reliance
    ]
    if metrics.get("stability"):
        lines.append(_stability_text(metrics["stability"]))
    additivity = (metrics.get("explanation") or {}).get("additivity")
    if additivity and reliance:
        verb = "holds" if additivity["holds"] else "is broken (the check warns: the SHAP values may mislead)"
        lines.append(
            f"Additivity, a diagnostic that is not judged: base + Σ SHAP = model output {verb} on "
            f"{additivity['rows_checked']} rows (largest deviation {additivity['max_abs_deviation']:.2g}, "
            f"tolerance {additivity['tolerance']:.2g})."
        )
    return lines


def _reliance_text(which: str, item: dict[str, Any]) -> str:
    if not item.get("judged"):
        return f"{which.capitalize()} features: not judged, {item.get('reason')}."
    parts = ", ".join(f"{name} {_percent(value)}" for name, value in (item.get("by_feature") or {}).items())
    absent = item.get("not_explained") or []
    outside = f"; not model inputs: {', '.join(absent)}" if absent else ""
    return (
        f"{which.capitalize()} features {', '.join(item['declared'])} ({item.get('source')}): "
        f"{_percent(item.get('share'))} of the total mean |SHAP| ({parts or 'none is a model input'}{outside}); "
        f"{PROXY_NOTE}."
    )


def _stability_text(stability: dict[str, Any]) -> str:
    baseline = stability.get("baseline") or {}
    if not baseline.get("source"):
        return f"Rank stability: not judged, {stability.get('reason')}."
    rows = f", {baseline['rows_explained']} rows explained" if baseline.get("rows_explained") else ""
    against = f"Rank stability against {_baseline_text(baseline)}{rows}"
    if stability.get("value") is None:
        return f"{against}: not judged, {stability.get('reason')}."
    return (
        f"{against}: Kendall τ-b {stability['value']:.3f} over the top {stability['top_k']} features "
        f"(now {', '.join(stability['current_top'])}; baseline {', '.join(stability['baseline_top'])})."
    )


def charts(metrics: dict[str, Any]) -> dict[str, Any]:
    """SHAP bar chart (mean |SHAP| per feature) and beeswarm points ([feature value, SHAP] per feature)."""
    explanation = metrics["explanation"]
    return {
        "shap_bar": explanation["global_importance"],
        "beeswarm": [
            {"feature": feature["feature"], "points": feature["sample"]}
            for feature in explanation["features"]
        ],
    }
