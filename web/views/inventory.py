"""A model's page and a version's page: the registry's record with what the other apps hang off it.

The model page adds its monitoring plans and their newest alerts (monitoring); the version page adds its
check runs (monitoring), its evidence with the form to add more (governance) and, for a version imported
from MLflow, where it came from and what MLflow says of it now (integrations). Every object is fetched
through its app's selectors, so a page shows exactly what the API would show the same user, and an object
outside the user's scope is a 404. The registry's own pages (the list, the forms) are ``registry/views.py``.
"""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from accounts import access
from integrations.models import MlflowVersionLink
from monitoring import plan_views as monitoring_plan_views
from monitoring import selectors as monitoring_selectors
from registry import graph, selectors, ui_lineage
from registry.models import ModelVersion, RegisteredModel
from registry.models.lineage import EdgeKind
from registry.tiering import FACTORS
from workflow import selectors as governance_selectors
from workflow.services import gate as gate_services
from workflow.services import judged as judged_services
from workflow.services import validation_documents
from workflow.views.evidence import EvidenceForm, may_add_evidence
from workflow.views.red_team import MAX_REPORT_BYTES, RedTeamForm, may_import

LINEAGE_DEPTH = 2
VERSIONS_SHOWN = 50
RUNS_SHOWN = 200
PLANS_CHARTED = 3  # plans whose worst trends the model and version pages draw (the plan page draws all)
TRENDS_PER_PLAN = 3


@login_required
@require_GET
def model_detail(request: HttpRequest, name: str) -> HttpResponse:
    user = request.user
    models = selectors.model_list(user=user).annotate(review_overdue=selectors.review_overdue())
    model = get_object_or_404(models, name=name)
    versions = list(selectors.version_list(user=user, model=model)[:VERSIONS_SHOWN])
    plans = list(monitoring_selectors.monitoring_plan_list(user=user).filter(model_version__model=model))
    context = {
        "model": model,
        "tier_answers": [(factor.replace("_", " "), model.tier_answers.get(factor)) for factor in FACTORS],
        "versions": versions,
        "plans": _with_last_alert(user, plans),
        "plan_trends": _plan_trends(plans),
        "lineage": ui_lineage.layout(_model_graph(user, model, versions[0] if versions else None)),
        "can_run_checks": access.can(user, "run_checks", model),
        "can_change": access.can(user, "change", model),
    }
    return render(request, "registry/model_detail.html", context)


def _model_graph(user, model: RegisteredModel, latest: ModelVersion | None) -> dict:
    """The model's graph, plus what its newest version was built from (so the data shows too)."""
    graphs = [graph.lineage_graph(user=user, root=model, depth=LINEAGE_DEPTH)]
    if latest is not None:
        graphs.append(graph.lineage_graph(user=user, root=latest, depth=1))
    return ui_lineage.merge(*graphs)


def _plan_trends(plans: list) -> list[tuple]:
    """(plan, its worst few trend charts) for the first plans: the page links to each plan for the rest."""
    return [
        (plan, monitoring_plan_views.plan_trend_charts(plan, limit=TRENDS_PER_PLAN))
        for plan in plans[:PLANS_CHARTED]
    ]


def _with_last_alert(user, plans: list) -> list:
    """Each plan with ``last_alert``, its newest alert (one query: PostgreSQL DISTINCT ON)."""
    alerts = (
        monitoring_selectors.monitoring_alert_list(user=user)
        .filter(plan__in=[plan.pk for plan in plans])
        .order_by("plan_id", "-created_at", "-id")
        .distinct("plan_id")
    )
    newest = {alert.plan_id: alert for alert in alerts}
    for plan in plans:
        plan.last_alert = newest.get(plan.pk)
    return plans


def _bundle_context(version) -> dict:
    """An LLM application bundle's parts as the page prints them: parameters and guardrails as JSON."""
    if not version.is_bundle:
        return {}
    components = version.bundle.get("components") or {}
    parameters = (components.get("foundation_model") or {}).get("parameters") or {}
    return {
        "bundle_parameters": [(name, json.dumps(parameters[name])) for name in sorted(parameters)],
        "guardrails_json": json.dumps(components.get("guardrails", {}), indent=2, sort_keys=True),
    }


@login_required
@require_GET
def version_detail(request: HttpRequest, name: str, number: int) -> HttpResponse:
    user = request.user
    model = selectors.model_get(user=user, name=name)
    version = get_object_or_404(selectors.version_list(user=user, model=model), version=number)
    runs = (
        monitoring_selectors.check_run_detail(user=user)
        .filter(model_version=version)
        .defer("results", "diagnostics", "evaluations", "config", "library_versions")
        .order_by("kind", "-created_at", "-id")[:RUNS_SHOWN]
    )
    evidence = governance_selectors.evidence_list(user=user).filter(model_version=version)
    plans = list(monitoring_selectors.monitoring_plan_list(user=user).filter(model_version=version))
    context = {
        "gates": _gates(user, version),
        "plans": plans,
        "plan_trends": _plan_trends(plans),
        "can_change": access.can(user, "change", version),
        "model": model,
        "version": version,
        "run_link": _web_link(version.run_link),
        "signature": _signature(version.signature),
        "inputs": _inputs(version),
        "runs": runs,
        "evidence": evidence,
        "red_team_runs": monitoring_selectors.red_team_run_list(user=user, version=version).defer("results")[
            :RUNS_SHOWN
        ],
        "red_team_form": RedTeamForm() if may_import(user, version) else None,
        "red_team_max_bytes": MAX_REPORT_BYTES,
        "judged_metrics": _judged_metrics(user, version),
        "lineage": ui_lineage.layout(graph.lineage_graph(user=user, root=version, depth=LINEAGE_DEPTH)),
        "can_run_checks": access.can(user, "run_checks", version),
        "evidence_form": EvidenceForm() if may_add_evidence(user, model) else None,
        "validation_document": validation_documents.document_of(version),
        "can_author_validation": validation_documents.may_author(user, version),
        "mlflow_links": access.scope(
            user, MlflowVersionLink.objects.filter(version=version).select_related("registry")
        ),
        **_bundle_context(version),
    }
    return render(request, "registry/version_detail.html", context)


def _judged_metrics(user, version: ModelVersion) -> list[dict]:
    """Per judged metric, the newest imported evaluation's row with that evaluation (access: the version's)."""
    if not monitoring_selectors.judged_evaluation_list(user=user, version=version).exists():
        return []
    found = judged_services.latest_metrics(version)
    return [found[name][1] | {"evaluation": found[name][0]} for name in sorted(found)]


def _gates(user, version: ModelVersion) -> list:
    """The gate's answer per environment (``gate_by_environment``: what ``GET /api/v1/gate/`` answers),
    each with the version's active deployment there, the pending request for it, if any, and that
    request's open stage. A deployment stays listed when the gate has closed since: it says what runs."""
    pending = governance_selectors.approval_list(user=user).filter(model_version=version, status="pending")
    waiting = {approval.environment: approval for approval in pending}
    active = governance_selectors.deployment_list(user=user).filter(model_version=version, status="active")
    deployed: dict[str, object] = {}
    for deployment in active:  # newest first: the newest active deployment per environment
        deployed.setdefault(deployment.environment, deployment)
    gates = gate_services.gate_by_environment(version=version)
    for gate in gates:
        gate.deployment = deployed.get(gate.environment)
        gate.pending = waiting.get(gate.environment)
        if gate.pending is not None:
            gate.pending.open_stage = gate.pending.policy.stage(gate.pending.current_stage_key)
    return gates


def _signature(signature: dict) -> list[tuple[str, list[tuple[str, str]]]]:
    """Each part of a signature (inputs, outputs, params) as (name, type) lines: a column is its name and
    type, a tensor (MLflow's ``{"type": "tensor", "tensor-spec": {dtype, shape}}``) its dtype and shape."""
    parts = []
    for part, items in (signature or {}).items():
        lines = []
        for item in items if isinstance(items, list) else [items]:
            if not isinstance(item, dict):
                lines.append(("", str(item)))
                continue
            spec = item.get("tensor-spec") if isinstance(item.get("tensor-spec"), dict) else None
            kind = (
                f"tensor of {spec.get('dtype', '?')}, shape {spec.get('shape', '?')}"
                if spec
                else item.get("type", "")
            )
            lines.append((str(item.get("name", "")), str(kind)))
        parts.append((str(part), lines))
    return parts


def _inputs(version: ModelVersion) -> dict[str, list]:
    """Training and validation datasets and the parent version, from the prefetched lineage edges."""
    found: dict[str, list] = {"training": [], "validation": [], "parent": []}
    for edge in version.input_edges:
        if edge.kind == EdgeKind.TRAINED_ON:
            found["training"].append(edge.src_dataset)
        elif edge.kind == EdgeKind.VALIDATED_ON:
            found["validation"].append(edge.src_dataset)
        elif edge.kind == EdgeKind.PARENT:
            found["parent"].append(edge.src_version)
    return found


def _web_link(url: str) -> str:
    """Only http(s) links become clickable; anything else (``javascript:`` …) is shown as text."""
    return url if url.lower().startswith(("https://", "http://")) else ""
