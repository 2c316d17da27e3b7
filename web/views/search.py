"""Global search: models, versions, datasets, findings and approvals whose names or texts contain the query.

Each type is searched in its own app's permission-scoped selector (the lists' and the API's), so a result
is something the user may open, and another team's records never appear, not even as a count. At most
``PER_TYPE`` results per type are shown, with the number of matches of that type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from registry import selectors as registry_selectors
from workflow import selectors as workflow_selectors

PER_TYPE = 10
MIN_LENGTH = 2
MAX_LENGTH = 200


@dataclass
class Group:
    key: str
    label: str
    total: int
    results: list[dict] = field(default_factory=list)


def _models(user, q: str):
    found = (
        registry_selectors.model_list(user=user)
        .filter(Q(name__icontains=q) | Q(title__icontains=q) | Q(description__icontains=q))
        .order_by("name")
    )

    def row(model):
        return {
            "url": reverse("model-detail", args=[model.name]),
            "title": model.name,
            "detail": f"{model.title} · {model.get_risk_tier_display()} · {model.get_status_display()} · {model.team.name}",
        }

    return found, row


def _versions(user, q: str):
    text = Q(description__icontains=q) | Q(artifact_filename__icontains=q) | Q(run_id__icontains=q)
    digests = Q(artifact_sha256__istartswith=q) | Q(source_commit__istartswith=q)
    found = (
        registry_selectors.version_list(user=user).filter(text | digests).order_by("model__name", "-version")
    )

    def row(version):
        return {
            "url": reverse("model-version-detail", args=[version.model.name, version.version]),
            "title": f"{version.model.name} v{version.version}",
            "detail": " · ".join(
                part for part in (version.artifact_filename, (version.description or "")[:120]) if part
            ),
        }

    return found, row


def _datasets(user, q: str):
    found = (
        registry_selectors.dataset_list(user=user)
        .filter(Q(name__icontains=q) | Q(title__icontains=q) | Q(description__icontains=q))
        .order_by("name")
    )

    def row(dataset):
        return {
            "url": reverse("dataset-detail", args=[dataset.name]),
            "title": dataset.name,
            "detail": " · ".join(part for part in (dataset.title, dataset.team.name) if part),
        }

    return found, row


def _findings(user, q: str):
    found = workflow_selectors.finding_list(user=user).filter(
        Q(title__icontains=q) | Q(description__icontains=q) | Q(model__name__icontains=q)
    )

    def row(finding):
        return {
            "url": reverse("finding-detail", args=[finding.pk]),
            "title": f"#{finding.pk} {finding.title}",
            "detail": f"{finding.get_severity_display()} · {finding.get_status_display()} · {finding.model.name}",
        }

    return found, row


def _approvals(user, q: str):
    found = workflow_selectors.approval_list(user=user).filter(
        Q(model_version__model__name__icontains=q) | Q(justification__icontains=q)
    )

    def row(approval):
        version = approval.model_version
        return {
            "url": reverse("approval-detail", args=[approval.pk]),
            "title": f"#{approval.pk} {version.model.name} v{version.version} → {approval.environment}",
            "detail": f"{approval.get_status_display()} · requested {approval.requested_at:%Y-%m-%d}",
        }

    return found, row


SEARCHES = (
    ("models", "Models", _models),
    ("versions", "Versions", _versions),
    ("datasets", "Datasets", _datasets),
    ("findings", "Findings", _findings),
    ("approvals", "Approvals", _approvals),
)


def search_groups(user, q: str) -> list[Group]:
    """One group per type with matches (types without a match are left out)."""
    groups = []
    for key, label, search in SEARCHES:
        found, row = search(user, q)
        total = found.count()
        if total:
            groups.append(Group(key, label, total, [row(item) for item in found[:PER_TYPE]]))
    return groups


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    q = " ".join(request.GET.get("q", "").split())
    problem = ""
    groups: list[Group] = []
    if q and len(q) < MIN_LENGTH:
        problem = f"Type at least {MIN_LENGTH} characters."
    elif len(q) > MAX_LENGTH:
        problem = f"At most {MAX_LENGTH} characters."
    elif q:
        groups = search_groups(request.user, q)
    context = {"q": q, "search_query": q, "problem": problem, "groups": groups, "per_type": PER_TYPE}
    return render(request, "search.html", context, status=400 if problem else 200)
