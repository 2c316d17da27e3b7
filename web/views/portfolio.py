"""The portfolio: the risk officer's view of the whole inventory they may see.

A heatmap of risk tier by lifecycle status (each cell the number of models, coloured by their open findings
weighted by severity, linked to the inventory filtered to that tier and status), totals by tier, status and
open findings by severity, overdue periodic reviews and approvals, and models by status month by month.
Every number comes from ``workflow.portfolio_selectors`` over the same scope as the inventory list, so a
cell's count is the number of rows its link shows.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET

import charts
from registry.models import ModelStatus, RiskTier
from workflow import portfolio_selectors as portfolio
from workflow import selectors
from workflow.models import Severity

LIST_LENGTH = 20
# One colour per lifecycle status (Okabe-Ito, plus greys for the ends of the lifecycle).
STATUS_COLOURS = {
    ModelStatus.DRAFT: "#BBBBBB",
    ModelStatus.IN_DEVELOPMENT: "#56B4E9",
    ModelStatus.IN_VALIDATION: "#F0E442",
    ModelStatus.APPROVED: "#009E73",
    ModelStatus.IN_PRODUCTION: "#0072B2",
    ModelStatus.UNDER_REVIEW: "#D55E00",
    ModelStatus.RETIRED: "#666666",
}


def inventory_url(**filters) -> str:
    return reverse("model-list") + ("?" + urlencode(filters) if filters else "")


@login_required
@require_GET
def portfolio_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    cells = portfolio.heatmap(user=user)
    overdue_reviews = selectors.overdue_reviews(user=user)
    overdue_approvals = portfolio.overdue_approvals(user=user)
    months, history = portfolio.status_history(user=user)
    context = {
        "statuses": ModelStatus.choices,
        "heatmap": _heatmap_rows(cells),
        "status_totals": _status_totals(cells),
        "total": sum(cell.models for cell in cells.values()),
        "weights": portfolio.SEVERITY_WEIGHTS,
        "bands": portfolio.HEAT_BANDS,
        "findings": _finding_tiles(selectors.open_finding_counts(user=user)),
        "overdue_reviews": overdue_reviews[:LIST_LENGTH],
        "overdue_reviews_count": overdue_reviews.count(),
        "overdue_reviews_url": inventory_url(review_overdue="true"),
        "overdue_approvals": overdue_approvals[:LIST_LENGTH],
        "overdue_approvals_count": overdue_approvals.count(),
        "history": _history_table(months, history),
        "history_chart": _history_chart(months, history),
    }
    return render(request, "portfolio.html", context)


def _heatmap_rows(cells: dict) -> list[dict]:
    rows = []
    for tier, tier_label in RiskTier.choices:
        row_cells = []
        for status, status_label in ModelStatus.choices:
            cell = cells.get((tier, status)) or portfolio.Cell(
                tier=tier, status=status, models=0, findings={}
            )
            breakdown = ", ".join(
                f"{cell.findings[severity]} {label.lower()}"
                for severity, label in reversed(Severity.choices)
                if cell.findings.get(severity)
            )
            row_cells.append(
                {
                    "status": status,
                    "label": status_label,
                    "models": cell.models,
                    "open_findings": cell.open_findings,
                    "breakdown": breakdown,
                    "heat": cell.heat,
                    "url": inventory_url(tier=tier, status=status),
                }
            )
        rows.append(
            {
                "tier": tier,
                "label": tier_label,
                "cells": row_cells,
                "total": sum(c["models"] for c in row_cells),
                "open_findings": sum(c["open_findings"] for c in row_cells),
                "url": inventory_url(tier=tier),
            }
        )
    return rows


def _status_totals(cells: dict) -> list[dict]:
    return [
        {
            "label": label,
            "models": sum(cell.models for (_tier, s), cell in cells.items() if s == status),
            "url": inventory_url(status=status),
        }
        for status, label in ModelStatus.choices
    ]


def _finding_tiles(counts: dict[str, int]) -> list[dict]:
    return [
        {
            "severity": severity,
            "label": label,
            "count": counts.get(severity, 0),
            "url": reverse("finding-list") + "?" + urlencode({"status": "open", "severity": severity}),
        }
        for severity, label in reversed(Severity.choices)
    ]


def _history_table(months: list[str], history: dict[str, list[int]]) -> dict:
    def cells(counts):
        return [{"month": month, "n": n} for month, n in zip(months, counts, strict=True)]

    rows = [
        {"label": label, "cells": cells(history[status]), "url": inventory_url(status=status)}
        for status, label in ModelStatus.choices
    ]
    totals = [sum(column) for column in zip(*(history[status] for status in ModelStatus.values), strict=True)]
    return {"months": months, "rows": rows, "totals": cells(totals)}


def _history_chart(months: list[str], history: dict[str, list[int]]) -> SafeString:
    title = "Models by lifecycle status at the end of each month"
    series = [
        charts.StackedSeries(label=label, values=history[status], colour=STATUS_COLOURS[status])
        for status, label in ModelStatus.choices
    ]
    svg = charts.stacked_bars_chart(months, series, ylabel="models").decode("utf-8")
    svg = svg[svg.index("<svg") :]
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(title)}" ', 1)
    return mark_safe(svg)  # noqa: S308 (matplotlib's SVG of our own counts and labels)
