"""The dashboard: what needs the user's attention, in a fixed number of queries whatever the data size."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts import access
from accounts.models import Team
from accounts.roles import READ_EVERYTHING
from registry.models import ModelStatus, RiskTier
from workflow import selectors
from workflow.models import Severity

LIST_LENGTH = 10


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    overdue = selectors.overdue_reviews(user=user)
    context = {
        "roles": sorted(access.roles_of(user)),
        "teams": _own_teams(user),
        "statuses": ModelStatus.choices,
        "inventory": _inventory_rows(selectors.inventory_counts(user=user)),
        "awaiting": selectors.approvals_awaiting(user=user)[:LIST_LENGTH],
        "overdue": overdue[:LIST_LENGTH],
        "overdue_count": overdue.count(),
        "findings": _finding_rows(selectors.open_finding_counts(user=user)),
        "alerts": selectors.recent_alerts(user=user)[:LIST_LENGTH],
        "failed_runs": selectors.failed_plan_runs(user=user)[:LIST_LENGTH],
        "activity": selectors.recent_activity(user=user)[:LIST_LENGTH],
        "activity_all": access.has_role(user, *READ_EVERYTHING),
    }
    return render(request, "dashboard.html", context)


def _own_teams(user) -> list[str]:
    """The teams the user belongs to (not every team they may see: a risk officer sees them all)."""
    return list(
        Team.objects.filter(pk__in=access.team_ids(user)).order_by("name").values_list("name", flat=True)
    )


def _inventory_rows(counts: dict[int, dict[str, int]]) -> list[dict]:
    """One row per risk tier with a linked count per lifecycle status."""
    rows = []
    for tier, label in RiskTier.choices:
        by_status = counts.get(tier, {})
        cells = [
            {
                "status": status,
                "label": status_label,
                "count": by_status.get(status, 0),
                "url": "/models/?" + urlencode({"tier": tier, "status": status}),
            }
            for status, status_label in ModelStatus.choices
        ]
        rows.append(
            {
                "tier": tier,
                "label": label,
                "cells": cells,
                "total": sum(by_status.values()),
                "url": "/models/?" + urlencode({"tier": tier}),
            }
        )
    return rows


def _finding_rows(counts: dict[str, int]) -> list[dict]:
    return [
        {
            "severity": severity,
            "label": label,
            "count": counts.get(severity, 0),
            "url": "/findings/?" + urlencode({"status": "open", "severity": severity}),
        }
        for severity, label in reversed(Severity.choices)
    ]
